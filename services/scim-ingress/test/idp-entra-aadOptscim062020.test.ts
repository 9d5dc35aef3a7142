/**
 * Microsoft Entra ID with the ?aadOptscim062020 tenant-URL flag (RFC-conformant shapes),
 * replayed in order (shared/reference/idp-request-shapes.md, Entra items 1–10).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP, PATCH_OP, USER, scimStack, type ScimClient } from './support.ts';

const UA = { 'user-agent': 'Microsoft Entra ID SCIM Client (aadOptscim062020)' };
const ADSCIM = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

describe('Entra with aadOptscim062020 request sequence', () => {
  let c: ScimClient;
  const s: { id?: string; id2?: string; groupId?: string } = {};
  beforeAll(async () => { c = await scimStack({}, { uniqueIdentifier: 'email' }); });
  afterAll(async () => { await c?.stack.stop(); });
  // the flag is part of the tenant URL Entra is given; query strings it appends are ignored by routing
  const patch = (id: string, ops: unknown[], type = 'Users') => c.req('PATCH', `/${type}/${id}?aadOptscim062020`, { schemas: [PATCH_OP], Operations: ops }, UA);

  it('1–2. zero-result probe, then POST with core + enterprise schemas, meta and roles:[]', async () => {
    const probe = await c.req('GET', `/Users?aadOptscim062020&filter=${encodeURIComponent('userName eq "b3f2b0de-0000-4c4c-9e5b-123456789abc"')}`, undefined, UA);
    expect(probe.body.totalResults).toBe(0);
    const r = await c.req('POST', '/Users', {
      schemas: [USER, ENTERPRISE], externalId: 'e-ada', userName: 'ada@contoso.com', active: true,
      emails: [{ primary: true, type: 'work', value: 'ada@contoso.com' }], meta: { resourceType: 'User' }, roles: [],
      name: { givenName: 'Ada', familyName: 'King' }, [ENTERPRISE]: { employeeNumber: 'A1' },
    }, UA);
    expect(r.status).toBe(201);
    s.id = r.body.id;
    s.id2 = (await c.req('POST', '/Users', { schemas: [USER], externalId: 'e-bob', userName: 'bob@contoso.com', active: true, emails: [{ primary: true, type: 'work', value: 'bob@contoso.com' }] }, UA)).body.id;
    const byEmail = await c.req('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "ada@contoso.com"')}`, undefined, UA);
    expect(byEmail.body.Resources.map((x: any) => x.id)).toEqual([s.id]);
  });

  it('4. disable with a real boolean and lower-case op', async () => {
    const r = await patch(s.id!, [{ op: 'replace', path: 'active', value: false }]);
    expect(r.status).toBe(200);
    expect(r.body.active).toBe(false);
    expect((await patch(s.id!, [{ op: 'replace', path: 'active', value: true }])).body.active).toBe(true);
  });

  it('5. a path-less replace with dotted and URN-prefixed keys applies every key', async () => {
    const r = await patch(s.id!, [{ op: 'replace', value: {
      displayName: 'Ada K.', 'name.givenName': 'Augusta', 'name.familyName': 'Lovelace', [`${ENTERPRISE}:employeeNumber`]: 'A2', [`${ENTERPRISE}:department`]: 'Maths',
    } }]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ displayName: 'Ada K.', name: { givenName: 'Augusta', familyName: 'Lovelace' }, [ENTERPRISE]: { employeeNumber: 'A2', department: 'Maths' } });
  });

  it('6–7. filtered paths on missing items create them; manager bare id', async () => {
    const r = await patch(s.id!, [
      { op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+44 20 7946 0000' },
      { op: 'replace', path: 'emails[type eq "home"].value', value: 'ada@home.example' },
      { op: 'add', path: `${ENTERPRISE}:manager`, value: s.id2 },
    ]);
    expect(r.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+44 20 7946 0000' }]);
    expect(r.body.emails).toEqual(expect.arrayContaining([{ type: 'home', value: 'ada@home.example' }]));
    expect(r.body[ENTERPRISE].manager).toEqual({ value: s.id2 });
  });

  it('8–9. groups with the ADSCIM URI; members added, then removed with the flag form members[value eq "…"]; PATCH answers 204', async () => {
    const g = await c.req('POST', '/Groups', { schemas: [GROUP, ADSCIM], externalId: 'g-ext', displayName: 'Analysts', meta: { resourceType: 'Group' } }, UA);
    expect(g.status).toBe(201);
    s.groupId = g.body.id;
    expect((await patch(s.groupId!, [{ op: 'add', path: 'members', value: [{ value: s.id }, { value: s.id2 }] }], 'Groups')).status).toBe(204);
    expect((await patch(s.groupId!, [{ op: 'remove', path: `members[value eq "${s.id2}"]` }], 'Groups')).status).toBe(204);
    const got = await c.req('GET', `/Groups/${s.groupId}`, undefined, UA);
    expect(got.body.members.map((m: any) => m.value)).toEqual([s.id]);
    const user = await c.req('GET', `/Users/${s.id}`, undefined, UA);
    expect(user.body.groups).toEqual([expect.objectContaining({ value: s.groupId, display: 'Analysts' })]);
  });

  it('10. hard delete → 204; the user is gone from SCIM but stays on the roster, inactive', async () => {
    expect((await c.req('DELETE', `/Users/${s.id2}`, undefined, UA)).status).toBe(204);
    expect((await c.req('GET', `/Users/${s.id2}`, undefined, UA)).status).toBe(404);
  });

  it('at the end: the roster and provisioning log', async () => {
    const roster = await c.stack.admin('GET', `/lists/${c.listId}/people?status=all`);
    expect(roster.body.total).toBe(2);
    expect(roster.body.items.find((p: any) => p.id === s.id)).toMatchObject({ status: 'active', fields: { firstName: 'Augusta', lastName: 'Lovelace', employeeNumber: 'A2' } });
    expect(roster.body.items.find((p: any) => p.id === s.id2).status).toBe('inactive');
    const log = await c.log();
    expect(log.every((e: any) => e.idp === 'Microsoft Entra ID')).toBe(true);
    expect(log.map((e: any) => e.eventType)).toEqual(expect.arrayContaining(['PersonProvisioned', 'Deactivated', 'Reactivated', 'AttributesChanged', 'GroupCreated', 'GroupMembersChanged', 'PersonUnlinked']));
    // everything succeeded but the GET of the deleted user (404), which is logged as a failed read
    expect(log.filter((e: any) => e.status !== 'SUCCESS').map((e: any) => [e.status, e.operation, e.resourceType, e.error?.status])).toEqual([['FAILED', 'READ', 'Other', '404']]);
  });
});
