/**
 * An organisation's auditor sees its own part of the audit trail: /audit/head and /audit/verify
 * cover the organisation's streams only, so the install's positions and event counts do not leak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { createUser, expectStatus, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

async function organisationWithAuditor(name: string) {
  const org = await s.admin('POST', '/organisations', { name, plan: 'business' });
  expectStatus(org, 201);
  const owner = await s.admin('POST', `/organisations/${org.body.id}/admin-tokens`, { role: 'owner' });
  const auditor = await s.admin('POST', `/organisations/${org.body.id}/admin-tokens`, { role: 'auditor' });
  expectStatus(auditor, 201);
  return { id: org.body.id as string, owner: owner.body.token as string, auditor: auditor.body.token as string };
}

describe('organisation-scoped audit figures', () => {
  it('head and verify cover only the organisation\'s streams; the install-wide token sees everything', async () => {
    const a = await organisationWithAuditor('Ashgrove');
    const b = await organisationWithAuditor('Birchwood');
    const la = await scimList(s, { name: 'A roster', token: a.owner });
    await createUser(s, la, 'a1');
    const lb = await scimList(s, { name: 'B roster', token: b.owner });
    await createUser(s, lb, 'b1');
    await createUser(s, lb, 'b2'); // B's events come last: the install's head is B's

    const exported = await s.admin('GET', '/audit/events', undefined, a.auditor);
    expectStatus(exported, 200);
    const own = exported.text.trim().split('\n').map((l) => JSON.parse(l) as { position: number; data: { listId?: string; orgId?: string } });
    expect(exported.headers.get('x-muster-head-position')).toBeNull();
    expect(own.every((e) => e.data.listId === la.id || e.data.orgId === a.id)).toBe(true);

    const head = await s.admin('GET', '/audit/head', undefined, a.auditor);
    expectStatus(head, 200);
    expect(head.body).toMatchObject({ position: own[own.length - 1].position, scope: 'organisation' });
    const installHead = await s.admin('GET', '/audit/head');
    expect(installHead.body.position).toBeGreaterThan(head.body.position);
    expect(head.body.digest).not.toBe(installHead.body.digest);
    // the same digest again (deterministic), and at an earlier position it is a prefix of it
    expect((await s.admin('GET', '/audit/head', undefined, a.auditor)).body.digest).toBe(head.body.digest);

    const verify = await s.admin('GET', '/audit/verify', undefined, a.auditor);
    expectStatus(verify, 200);
    expect(verify.body).toEqual({ ok: true, eventsChecked: own.length, scope: 'organisation' });
    const all = await s.admin('GET', '/audit/verify');
    expect(all.body.ok).toBe(true);
    expect(all.body.eventsChecked).toBeGreaterThan(own.length);
    expect(all.body.scope).toBeUndefined();

    // an organisation's owner may audit too; a viewer may not
    expectStatus(await s.admin('GET', '/audit/verify', undefined, b.owner), 200);
    const viewer = await s.admin('POST', `/organisations/${b.id}/admin-tokens`, { role: 'viewer' });
    expectStatus(await s.admin('GET', '/audit/head', undefined, viewer.body.token), 403);
  });
});
