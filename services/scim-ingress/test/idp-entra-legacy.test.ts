/**
 * Microsoft Entra ID, legacy shapes (no ?aadOptscim062020 flag), replayed in order
 * (shared/reference/idp-request-shapes.md, Entra items 1–10) with Entra's user agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP, LIST_RESPONSE, PATCH_OP, USER, scimStack, type ScimClient } from './support.ts';

const UA = { 'user-agent': 'Azure Active Directory SCIM Client' };
const ADSCIM = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

describe('Entra legacy request sequence (items 1–10)', () => {
  let c: ScimClient;
  const s: { id?: string; managerId?: string; groupId?: string; other?: string } = {};
  beforeAll(async () => { c = await scimStack({}, { uniqueIdentifier: 'employeeNumber' }); });
  afterAll(async () => { await c?.stack.stop(); });
  const patch = (id: string, ops: unknown[], type = 'Users') => c.req('PATCH', `/${type}/${id}`, { schemas: [PATCH_OP], Operations: ops }, UA);

  it('1. Test Connection: a random userName → 200 totalResults 0; match by externalId unquoted, by emails[type eq "work"].value', async () => {
    const r = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "2d3e0f6a-6a1b-4e44-a8de-0e4f1f0f1d1c"')}`, undefined, UA);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ schemas: [LIST_RESPONSE], totalResults: 0, Resources: [] });
    const g = await c.req('GET', `/Groups?filter=${encodeURIComponent('displayName eq "7f1e6a0c-random"')}`, undefined, UA);
    expect(g.body.totalResults).toBe(0);
    expect((await c.req('GET', `/Users?filter=${encodeURIComponent('externalId eq jyoung')}`, undefined, UA)).body.totalResults).toBe(0);
  });

  it('2. POST /Users with core + enterprise schemas, client meta and roles:[] → 201', async () => {
    const mgr = await c.req('POST', '/Users', { schemas: [USER, ENTERPRISE], externalId: 'mboss', userName: 'mboss@contoso.com', active: true, [ENTERPRISE]: { employeeNumber: 'M1' }, meta: { resourceType: 'User' }, roles: [] }, UA);
    expect(mgr.status).toBe(201);
    s.managerId = mgr.body.id;
    const r = await c.req('POST', '/Users', {
      schemas: [USER, ENTERPRISE], externalId: 'jyoung', userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com', active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
      meta: { resourceType: 'User' }, name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' }, roles: [],
      [ENTERPRISE]: { employeeNumber: 'E100', department: 'Sales' },
    }, UA);
    expect(r.status).toBe(201);
    expect(r.body.id).toEqual(expect.any(String));
    s.id = r.body.id;
    expect((await c.req('GET', `/Users?filter=${encodeURIComponent('externalId eq jyoung')}`, undefined, UA)).body.Resources[0].id).toBe(s.id);
    const byEmail = await c.req('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"')}`, undefined, UA);
    expect(byEmail.body.Resources.map((x: any) => x.id)).toEqual([s.id]);
    const both = await c.req('GET', `/Users?filter=${encodeURIComponent(`externalId eq "jyoung" and userName eq "${r.body.userName}"`)}`, undefined, UA);
    expect(both.body.totalResults).toBe(1);
  });

  it('3. PATCH with PascalCase ops and every listed path form → 200 with the resource', async () => {
    const r = await patch(s.id!, [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updated@contoso.com' },
      { op: 'Replace', path: 'name.familyName', value: 'Young' },
      { op: 'Replace', path: 'name.givenName', value: 'Jane' },
      { op: 'Replace', path: 'externalId', value: 'jyoung2' },
      { op: 'Replace', path: 'userName', value: 'jane.young@contoso.com' },
      { op: 'Add', path: 'displayName', value: 'Jane Young' },
      { op: 'Add', path: 'nickName', value: 'JY' },
      { op: 'Replace', path: 'title', value: 'Director' },
      { op: 'Add', path: `${ENTERPRISE}:employeeNumber`, value: 'E101' },
      { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Marketing' },
      { op: 'Remove', path: 'nickName' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      userName: 'jane.young@contoso.com', externalId: 'jyoung2', displayName: 'Jane Young', title: 'Director', name: { givenName: 'Jane', familyName: 'Young' },
      emails: [expect.objectContaining({ type: 'work', value: 'updated@contoso.com' })], [ENTERPRISE]: { employeeNumber: 'E101', department: 'Marketing' },
    });
    expect(r.body).not.toHaveProperty('nickName');
  });

  it('4. disable with a string boolean "False" (any case), enable with "True"', async () => {
    let r = await patch(s.id!, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(r.body.active).toBe(false);
    expect((await c.stack.admin('GET', `/lists/${c.listId}/people/${s.id}`)).body.status).toBe('inactive');
    r = await patch(s.id!, [{ op: 'Replace', path: 'active', value: 'TRUE' }]);
    expect(r.body.active).toBe(true);
  });

  it('6. a filtered path on a missing multi-valued item creates it', async () => {
    const r = await patch(s.id!, [
      { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
      { op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '98052' },
      { op: 'Add', path: 'roles[primary eq "True"].value', value: 'Admin' },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1 555 0100' }]);
    expect(r.body.addresses).toEqual([{ type: 'work', postalCode: '98052' }]);
    expect(r.body.roles).toEqual([expect.objectContaining({ value: 'Admin' })]);
  });

  it('7. manager as a bare id string becomes manager.value; Remove clears it', async () => {
    let r = await patch(s.id!, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: s.managerId }]);
    expect(r.body[ENTERPRISE].manager).toEqual({ value: s.managerId });
    r = await patch(s.id!, [{ op: 'Replace', path: `${ENTERPRISE}:manager`, value: s.managerId }]);
    expect(r.body[ENTERPRISE].manager).toEqual({ value: s.managerId });
    r = await patch(s.id!, [{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
    expect(r.body[ENTERPRISE]).not.toHaveProperty('manager');
  });

  it('8–9. groups: POST with the ADSCIM schema URI and meta; lookups without members; PATCH → 204; legacy Add/Remove members with $ref:null removes only those', async () => {
    s.other = (await c.req('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'other@contoso.com', externalId: 'other', [ENTERPRISE]: { employeeNumber: 'E200' } }, UA)).body.id;
    const g = await c.req('POST', '/Groups', { schemas: [GROUP, ADSCIM], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'Group1DisplayName', meta: { resourceType: 'Group' } }, UA);
    expect(g.status).toBe(201);
    s.groupId = g.body.id;
    expect(g.body.schemas).toEqual([GROUP]);
    const one = await c.req('GET', `/Groups/${s.groupId}?excludedAttributes=members`, undefined, UA);
    expect(one.body).not.toHaveProperty('members');
    const byName = await c.req('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Group1DisplayName"')}`, undefined, UA);
    expect(byName.body.Resources.map((x: any) => x.id)).toEqual([s.groupId]);
    expect((await c.req('POST', '/Groups', { schemas: [GROUP, ADSCIM], displayName: 'Group1DisplayName' }, UA)).status).toBe(409);
    let r = await patch(s.groupId!, [{ op: 'Add', path: 'members', value: [{ $ref: null, value: s.id }, { $ref: null, value: s.other }] }], 'Groups');
    expect(r.status).toBe(204);
    r = await patch(s.groupId!, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: s.id }] }], 'Groups');
    expect(r.status).toBe(204);
    expect((await c.req('GET', `/Groups/${s.groupId}`, undefined, UA)).body.members.map((m: any) => m.value)).toEqual([s.other]);
    r = await patch(s.groupId!, [{ op: 'Replace', path: 'displayName', value: 'Group1 renamed' }], 'Groups');
    expect(r.status).toBe(204);
  });

  it('10. every resource has an id; responses are application/scim+json; soft-deleted users are still returned; hard delete → 204', async () => {
    const off = await patch(s.other!, [{ op: 'Replace', path: 'active', value: 'false' }]);
    expect(off.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    const list = await c.req('GET', '/Users', undefined, UA);
    expect(list.body.Resources.every((r: any) => typeof r.id === 'string')).toBe(true);
    expect(list.body.Resources.find((r: any) => r.id === s.other).active).toBe(false);
    const schemas = await c.req('GET', '/Schemas', undefined, UA);
    expect(schemas.body.schemas).toEqual([LIST_RESPONSE]);
    expect(schemas.text).not.toContain('null');
    expect((await c.req('DELETE', `/Users/${s.other}`, undefined, UA)).status).toBe(204);
  });

  it('at the end: the roster and provisioning log', async () => {
    const roster = await c.stack.admin('GET', `/lists/${c.listId}/people?status=all`);
    expect(roster.body.total).toBe(3);
    const jane = roster.body.items.find((p: any) => p.id === s.id);
    expect(jane).toMatchObject({ status: 'active', fields: { firstName: 'Jane', lastName: 'Young', employeeNumber: 'E101', department: 'Marketing' } });
    expect(roster.body.items.find((p: any) => p.id === s.other).status).toBe('inactive');
    const log = await c.log();
    expect(log.filter((e: any) => e.idp !== 'Microsoft Entra ID').map((e: any) => [e.idp, e.userAgent, e.eventType])).toEqual([]);
    expect(log.filter((e: any) => e.resourceId === s.id && e.status === 'SUCCESS').length).toBeGreaterThanOrEqual(6);
    expect(log.some((e: any) => e.resourceId === s.other && e.operation === 'DELETE')).toBe(true);
    expect(log.some((e: any) => e.status === 'FAILED' && e.resourceType === 'Group' && e.error?.scimType === 'uniqueness')).toBe(true);
  });
});
