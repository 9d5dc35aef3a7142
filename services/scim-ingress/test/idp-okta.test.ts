/**
 * Okta, replayed in order (shared/reference/idp-request-shapes.md, Okta items 1–7), with Okta's
 * user agent and content types; the roster and the provisioning log are checked at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, LIST_RESPONSE, PATCH_OP, USER, expectScimError, scimStack, type ScimClient } from './support.ts';

const UA = { 'user-agent': 'Okta SCIM Client 1.0.0' };
const SCIM_CT = { ...UA, 'content-type': 'application/scim+json; charset=utf-8' };
const JSON_CT = { ...UA, 'content-type': 'application/json' };

describe('Okta request sequence (items 1–7)', () => {
  let c: ScimClient;
  const state: { id?: string; id2?: string; groupId?: string } = {};
  beforeAll(async () => { c = await scimStack({}, { uniqueIdentifier: 'email' }); });
  afterAll(async () => { await c?.stack.stop(); });

  it('1. GET /Users?filter=userName eq "x@y"&startIndex=1&count=100 for an absent user → 200, totalResults 0 (numbers), Resources []', async () => {
    const r = await c.req('GET', '/Users?filter=userName%20eq%20%22isabella%40example.com%22&startIndex=1&count=100', undefined, UA);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ schemas: [LIST_RESPONSE], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('2. POST /Users with read-only groups:[] and a password → 201 full resource (password neither returned nor stored); duplicate → 409', async () => {
    const body = {
      schemas: [USER], userName: 'isabella@example.com', name: { givenName: 'Isabella', familyName: 'Rossi' },
      emails: [{ primary: true, value: 'isabella@example.com', type: 'work' }], displayName: 'Isabella Rossi', locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7', groups: [], password: '1mz050nq', active: true,
    };
    const r = await c.req('POST', '/Users', body, JSON_CT);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ userName: 'isabella@example.com', name: { givenName: 'Isabella', familyName: 'Rossi' }, locale: 'en-US', externalId: '00ujl29u0le5T6Aj10h7', active: true, emails: body.emails });
    expect(r.body).not.toHaveProperty('password');
    state.id = r.body.id;
    const dup = await c.req('POST', '/Users', body, SCIM_CT);
    expectScimError(dup, 409, 'uniqueness');
    expect(JSON.stringify(await c.events())).not.toContain('1mz050nq');
    for (let i = 0; i < 4; i++) expect((await c.req('POST', '/Users', { ...body, userName: `extra${i}@example.com`, externalId: `00u-extra-${i}`, emails: [{ primary: true, value: `extra${i}@example.com`, type: 'work' }] }, JSON_CT)).status).toBe(201);
  });

  it('3. GET /Users?startIndex=1&count=100, then the next pages: ordering is stable whatever count and startIndex', async () => {
    const first = await c.req('GET', '/Users?startIndex=1&count=100', undefined, UA);
    expect(first.body.totalResults).toBe(5);
    const ids = first.body.Resources.map((r: any) => r.id);
    const paged = [];
    for (let start = 1; start <= 5; start += 2) paged.push(...(await c.req('GET', `/Users?startIndex=${start}&count=2`, undefined, UA)).body.Resources.map((r: any) => r.id));
    expect(paged).toEqual(ids);
    expect((await c.req('GET', '/Users?startIndex=101&count=100', undefined, UA)).body.Resources).toEqual([]);
  });

  it('4. PUT /Users/{id} with id, groups:[], meta:{resourceType} and name.middleName:"" → 200 with the resource', async () => {
    const r = await c.req('PUT', `/Users/${state.id}`, {
      schemas: [USER], id: state.id, userName: 'isabella@example.com', name: { givenName: 'Isabella', middleName: '', familyName: 'Bianchi' },
      emails: [{ primary: true, value: 'isabella@example.com', type: 'work' }], displayName: 'Isabella Bianchi', locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7', groups: [], password: '1mz050nq', active: true, meta: { resourceType: 'User' },
    }, SCIM_CT);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: state.id, name: { givenName: 'Isabella', familyName: 'Bianchi' }, displayName: 'Isabella Bianchi' });
    expect(r.body.meta.resourceType).toBe('User');
  });

  it('5. deactivate and reactivate with a path-less PATCH {"active": false|true} → 200 with the resource', async () => {
    const off = await c.req('PATCH', `/Users/${state.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }, SCIM_CT);
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await c.stack.admin('GET', `/lists/${c.listId}/people/${state.id}`)).body.status).toBe('inactive');
    const on = await c.req('PATCH', `/Users/${state.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] }, SCIM_CT);
    expect(on.body.active).toBe(true);
    expect((await c.stack.admin('GET', `/lists/${c.listId}/people/${state.id}`)).body.status).toBe('active');
    // a soft-deleted user is still returned
    const off2 = await c.req('PATCH', `/Users/${state.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }, SCIM_CT);
    expect(off2.status).toBe(200);
    expect((await c.req('GET', `/Users/${state.id}`, undefined, UA)).body.active).toBe(false);
    await c.req('PATCH', `/Users/${state.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] }, SCIM_CT);
  });

  it('6. groups: lookup by displayName, POST, rename with id inside the value, remove+add members in one request, full push, DELETE', async () => {
    const none = await c.req('GET', '/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100', undefined, UA);
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });
    const created = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] }, SCIM_CT);
    expect(created.status).toBe(201);
    const gid = created.body.id;
    state.groupId = gid;
    const found = await c.req('GET', '/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100', undefined, UA);
    expect(found.body.Resources[0].id).toBe(gid);
    const rename = await c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id: gid, displayName: 'Test SCIMv2 renamed' } }] }, SCIM_CT);
    expect([200, 204]).toContain(rename.status);
    const users = (await c.req('GET', '/Users?count=100', undefined, UA)).body.Resources.map((r: any) => r.id);
    state.id2 = users.find((u: string) => u !== state.id);
    await c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: state.id, display: 'isabella@example.com' }] }] }, SCIM_CT);
    const swap = await c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [
      { op: 'remove', path: `members[value eq "${state.id}"]` },
      { op: 'add', path: 'members', value: [{ value: state.id2, display: 'extra' }] },
    ] }, SCIM_CT);
    expect([200, 204]).toContain(swap.status);
    let g = await c.req('GET', `/Groups/${gid}`, undefined, UA);
    expect(g.body.displayName).toBe('Test SCIMv2 renamed');
    expect(g.body.members.map((m: any) => m.value)).toEqual([state.id2]);
    const push = await c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'members', value: users.slice(0, 3).map((value: string) => ({ value })) }] }, SCIM_CT);
    expect([200, 204]).toContain(push.status);
    g = await c.req('GET', `/Groups/${gid}`, undefined, UA);
    expect(g.body.members.map((m: any) => m.value).sort()).toEqual(users.slice(0, 3).sort());
    const other = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Okta temp', members: [] }, SCIM_CT);
    expect((await c.req('DELETE', `/Groups/${other.body.id}`, undefined, UA)).status).toBe(204);
  });

  it('7. userName filter is case-insensitive; a bad token → 401 with a SCIM Error body', async () => {
    const r = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "ISABELLA@EXAMPLE.COM"')}&startIndex=1&count=100`, undefined, UA);
    expect(r.body.totalResults).toBe(1);
    expect(r.body.Resources[0].id).toBe(state.id);
    const bad = await fetch(`${c.base}/Users`, { headers: { ...UA, authorization: 'Bearer sct_wrongwrongwrong' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
  });

  it('at the end: the roster and the provisioning log show what Okta did', async () => {
    const roster = await c.stack.admin('GET', `/lists/${c.listId}/people?status=all`);
    expect(roster.body.total).toBe(5);
    const isabella = roster.body.items.find((p: any) => p.id === state.id);
    expect(isabella).toMatchObject({ status: 'active', fields: { firstName: 'Isabella', lastName: 'Bianchi' } });
    const log = await c.log();
    expect(log.every((e: any) => e.idp === 'Okta')).toBe(true);
    const ops = log.filter((e: any) => e.resourceId === state.id).map((e: any) => `${e.operation}:${e.status}`);
    expect(ops).toEqual(expect.arrayContaining(['CREATE:SUCCESS', 'UPDATE:SUCCESS']));
    expect(log.some((e: any) => e.eventType === 'Deactivated' && e.resourceId === state.id && e.status === 'SUCCESS')).toBe(true);
    expect(log.some((e: any) => e.eventType === 'Reactivated' && e.resourceId === state.id)).toBe(true);
    expect(log.some((e: any) => e.status === 'FAILED' && e.error?.status === '409')).toBe(true);
    expect(log.some((e: any) => e.resourceType === 'Group' && e.operation === 'GROUP_DELETE')).toBe(true);
  });
});
