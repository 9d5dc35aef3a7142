/** Plans hold at request time: a downgrade below Business stops the organisation's SCIM tokens (403 naming the plan) and gates rotation; an upgrade brings them back. Rotation keeps a token's lifetime. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { expectStatus, organisation } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

describe('the plan at request time', () => {
  it('a downgrade to pro stops SCIM tokens (SCIM 403 naming the plan) and rotation; the upgrade restores both', async () => {
    const org = await organisation(s, 'Downgraded school', 'business');
    const list = await s.admin('POST', '/lists', { name: 'Staff' }, org.token);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'userName' }, org.token), 201);
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {}, org.token);
    const users = `${tok.body.scimBaseUrl}/Users?filter=${encodeURIComponent('userName eq "grace"')}`;
    expectStatus(await s.scim(tok.body.token, 'GET', users), 200);

    expectStatus(await s.admin('PATCH', `/organisations/${org.id}`, { plan: 'pro' }), 200);
    const refused = await s.scim(tok.body.token, 'GET', users);
    expectStatus(refused, 403);
    expect(refused.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403', detail: expect.stringMatching(/needs the business plan or above; this organisation is on pro/) });
    expectStatus(await s.scim(tok.body.token, 'POST', `${tok.body.scimBaseUrl}/Users`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'grace' }), 403);
    const rotate = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens/${tok.body.id}/rotate`, {}, org.token);
    expectStatus(rotate, 403);
    expect(rotate.body.error.code).toBe('plan_required');

    expectStatus(await s.admin('PATCH', `/organisations/${org.id}`, { plan: 'business' }), 200);
    expectStatus(await s.scim(tok.body.token, 'GET', users), 200);
  });

  it('a rotated token keeps the lifetime and the label of the one it replaces', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Rotations' });
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'userName' }), 201);
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, { expiresInDays: 30, label: 'Okta production' });
    expect(tok.body.label).toBe('Okta production');
    const rotated = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens/${tok.body.id}/rotate`, { overlapHours: 1 });
    expectStatus(rotated, 201);
    // the label goes with the rotation, and the listing shows it
    const listed = (await s.admin('GET', `/lists/${list.body.id}/sync/scim/tokens`)).body.items;
    expect(listed.map((t: { id: string; label: string | null }) => [t.id, t.label])).toEqual([[tok.body.id, 'Okta production'], [rotated.body.id, 'Okta production']]);
    expect(rotated.body.expiresAt).not.toBeNull();
    expect(Math.abs(Date.parse(rotated.body.expiresAt) - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
    const forever = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
    expect((await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens/${forever.body.id}/rotate`, {})).body.expiresAt).toBeNull();
  });
});
