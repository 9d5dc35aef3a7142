/**
 * A subject access request (GDPR Art. 15): GET /lists/{id}/people/{personId}/export gives
 * everything held about one person, from the event log and the read models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { GROUP_SCHEMA, createUser, expectStatus, organisation, patchOps, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

describe('subject access export', () => {
  it('holds the fields, the SCIM resource, the groups and who changed what from which IdP, and nothing of anyone else', async () => {
    const l = await scimList(s, { name: 'Export' });
    const okta = { 'user-agent': 'Okta SCIM Client 1.0.0' };
    const ada = await createUser(s, l, 'ada', { name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@example.org', primary: true }] }, okta);
    const bob = await createUser(s, l, 'bob', { name: { givenName: 'Bob', familyName: 'Other' } }, okta);
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ada}`, patchOps({ op: 'replace', path: 'title', value: 'Analyst' }), okta), 200);
    expectStatus(await s.scim(l.token, 'POST', `${l.base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: 'Year 7', members: [{ value: ada }, { value: bob }] }, okta), 201);

    const res = await s.admin('GET', `/lists/${l.id}/people/${ada}/export`);
    expectStatus(res, 200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="person-${ada}.json"`);
    const x = res.body;
    expect(x.list).toEqual({ id: l.id, name: 'Export' });
    expect(x.person).toMatchObject({ id: ada, status: 'active', linked: true, fields: { firstName: 'Ada', lastName: 'Lovelace', primaryEmail: 'ada@example.org', jobTitle: 'Analyst' } });
    expect(x.scimResource).toMatchObject({ userName: 'ada@example.org', title: 'Analyst' });
    expect(x.groups).toEqual([{ id: expect.any(String), displayName: 'Year 7' }]);
    expect(x.history.map((h: { type: string }) => h.type)).toEqual(['PersonProvisioned', 'AttributesChanged']);
    expect(x.history[1]).toMatchObject({ source: { kind: 'scim', idp: 'Okta', method: 'PATCH' }, data: { fieldChanges: [{ field: 'jobTitle', old: null, new: 'Analyst' }] } });
    expect(x.groupHistory).toEqual([expect.objectContaining({ type: 'GroupCreated', displayName: 'Year 7', source: expect.objectContaining({ idp: 'Okta' }) })]);
    expect(JSON.stringify(x)).not.toContain('Bob'); // another person's data stays out
    expect(x.upToPosition).toBeGreaterThan(0);
  });

  it('is for owners and admins of the list\'s organisation; an unknown person is 404', async () => {
    const l = await scimList(s, { name: 'Guarded' });
    const ada = await createUser(s, l, 'ada2');
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/nobody/export`), 404);
    const other = await organisation(s, 'Elsewhere', 'business', 'owner');
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/${ada}/export`, undefined, other.token), 404);
    const viewer = await s.admin('POST', '/admin-tokens', { role: 'viewer' });
    expectStatus(viewer, 201);
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/${ada}/export`, undefined, viewer.body.token), 403);
  });
});
