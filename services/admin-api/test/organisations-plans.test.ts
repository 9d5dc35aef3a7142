import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { expectStatus, organisation, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

describe('organisations', () => {
  it('the install-wide admin creates organisations and admin tokens for them', async () => {
    const org = await s.admin('POST', '/organisations', { name: 'Northfield Academy', plan: 'business', id: 'northfield' });
    expectStatus(org, 201);
    expect(org.body).toMatchObject({ id: 'northfield', name: 'Northfield Academy', plan: 'business' });
    expectStatus(await s.admin('POST', '/organisations', { name: 'Again', id: 'northfield' }), 409);
    const tok = await s.admin('POST', '/organisations/northfield/admin-tokens', { role: 'owner', label: 'IT office' });
    expectStatus(tok, 201);
    expect(tok.body).toMatchObject({ orgId: 'northfield', role: 'owner', prefix: tok.body.token.slice(0, 8) });
    const who = await s.admin('GET', '/whoami', undefined, tok.body.token);
    expect(who.body).toMatchObject({ orgId: 'northfield', role: 'owner' });
    expectStatus(await s.admin('POST', '/organisations/nowhere/admin-tokens', { role: 'owner' }), 404);

    // an organisation's token cannot create organisations or change plans
    const denied = await s.admin('POST', '/organisations', { name: 'Mine now' }, tok.body.token);
    expectStatus(denied, 403);
    expectStatus(await s.admin('PATCH', '/organisations/northfield', { plan: 'enterprise' }, tok.body.token), 403);
    // but its owner can issue more tokens for its own organisation, not for others
    expectStatus(await s.admin('POST', '/organisations/northfield/admin-tokens', { role: 'viewer' }, tok.body.token), 201);
    expectStatus(await s.admin('POST', '/organisations/default/admin-tokens', { role: 'owner' }, tok.body.token), 404);

    const seen = await s.admin('GET', '/organisations', undefined, tok.body.token);
    expect(seen.body.items.map((o: { id: string }) => o.id)).toEqual(['northfield']);
    const all = await s.admin('GET', '/organisations');
    expect(all.body.items.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining(['default', 'northfield']));
  });

  it("an admin token of org A cannot see or touch org B's lists (404)", async () => {
    const a = await organisation(s, 'Org A', 'enterprise');
    const b = await organisation(s, 'Org B', 'enterprise');
    const listB = await scimList(s, { name: 'B staff', token: b.token });
    const listA = await s.admin('POST', '/lists', { name: 'A staff' }, a.token);
    expectStatus(listA, 201);
    expect(listA.body.orgId).toBe(a.id);

    const mine = await s.admin('GET', '/lists', undefined, a.token);
    expect(mine.body.items.map((l: { id: string }) => l.id)).toEqual([listA.body.id]);
    const id = listB.id;
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/lists/${id}`], ['PATCH', `/lists/${id}`, { name: 'mine' }],
      ['GET', `/lists/${id}/fields`], ['POST', `/lists/${id}/fields`, { key: 'x', label: 'X', type: 'text' }],
      ['GET', `/lists/${id}/people`], ['POST', `/lists/${id}/people`, { fields: {} }],
      ['GET', `/lists/${id}/sync/scim`], ['POST', `/lists/${id}/sync/scim`, { uniqueIdentifier: 'email' }], ['DELETE', `/lists/${id}/sync/scim`],
      ['GET', `/lists/${id}/sync/scim/tokens`], ['POST', `/lists/${id}/sync/scim/tokens`, {}],
      ['DELETE', `/lists/${id}/sync/scim/tokens/${listB.tokenId}`], ['POST', `/lists/${id}/sync/scim/tokens/${listB.tokenId}/rotate`, {}],
      ['GET', `/lists/${id}/mappings`], ['PUT', `/lists/${id}/mappings`, { mappings: [] }],
      ['GET', `/lists/${id}/groups`], ['GET', `/lists/${id}/provisioning-log`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await s.admin(method, path, body, a.token);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    // a list cannot be created in another organisation either
    expectStatus(await s.admin('POST', '/lists', { name: 'sneaky', orgId: b.id }, a.token), 403);
    // B's list is untouched: its token still works, nothing was revoked or renamed
    expectStatus(await s.scim(listB.token, 'GET', `${listB.base}/Users`), 200);
    expect((await s.admin('GET', `/lists/${id}`, undefined, b.token)).body).toMatchObject({ name: 'B staff', sync: { provider: 'scim' } });
    // the install-wide admin creates lists in any existing organisation
    const forB = await s.admin('POST', '/lists', { name: 'Made for B', orgId: b.id });
    expectStatus(forB, 201);
    expect(forB.body.orgId).toBe(b.id);
    expectStatus(await s.admin('POST', '/lists', { name: 'Nowhere', orgId: 'no-such-org' }), 404);
    // the install-wide admin sees every organisation's lists
    const everything = await s.admin('GET', '/lists');
    expect(everything.body.items.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining([listA.body.id, id]));
  });

  it('viewer tokens read but cannot change anything (403)', async () => {
    const org = await organisation(s, 'Read only', 'enterprise');
    const list = await s.admin('POST', '/lists', { name: 'Visible' }, org.token);
    const viewer = await s.admin('POST', `/organisations/${org.id}/admin-tokens`, { role: 'viewer' }, org.token);
    expectStatus(await s.admin('GET', `/lists/${list.body.id}`, undefined, viewer.body.token), 200);
    const denied = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' }, viewer.body.token);
    expectStatus(denied, 403);
    expect(denied.body.error.message).toContain('read-only');
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/fields`, { key: 'x', label: 'X', type: 'text' }, viewer.body.token), 403);
  });
});

describe('plans', () => {
  it('SCIM on a pro organisation is 403 naming the plan it needs; upgrading unlocks it', async () => {
    const pro = await organisation(s, 'Small school', 'pro');
    const list = await s.admin('POST', '/lists', { name: 'Staff' }, pro.token);
    const refused = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' }, pro.token);
    expectStatus(refused, 403);
    expect(refused.body.error).toMatchObject({ code: 'plan_required', details: { requiredPlan: 'business', plan: 'pro' } });
    expect(refused.body.error.message).toMatch(/needs the business plan/);
    expect((await s.admin('GET', `/lists/${list.body.id}`, undefined, pro.token)).body.sync).toBeNull();

    const orgView = await s.admin('GET', `/organisations/${pro.id}`, undefined, pro.token);
    expect(orgView.body).toMatchObject({ plan: 'pro', features: { scim: { allowed: false, requiredPlan: 'business' }, entra: { allowed: true, requiredPlan: 'pro' } } });

    expectStatus(await s.admin('PATCH', `/organisations/${pro.id}`, { plan: 'business' }), 200);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' }, pro.token), 201);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {}, pro.token), 201);

    // downgraded again: no new SCIM credentials
    expectStatus(await s.admin('PATCH', `/organisations/${pro.id}`, { plan: 'pro' }), 200);
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {}, pro.token);
    expectStatus(tok, 403);
    expect(tok.body.error.details.requiredPlan).toBe('business');
  });

  it('the default organisation of a self-hosted install is enterprise', async () => {
    const org = await s.admin('GET', '/organisations/default');
    expect(org.body).toMatchObject({ id: 'default', plan: 'enterprise', features: { scim: { allowed: true }, entra: { allowed: true } } });
    await scimList(s, { name: 'Default org list' });
    for (const plan of ['business', 'enterprise'] as const) {
      const o = await organisation(s, `On ${plan}`, plan);
      await scimList(s, { name: `${plan} list`, token: o.token });
    }
  });
});
