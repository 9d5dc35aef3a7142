import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, GROUP, LIST_RESPONSE, USER, expectScimError, scimStack, type ScimClient } from './support.ts';

const CUSTOM = 'urn:example:params:scim:schemas:extension:acme:2.0:User';

describe('SCIM discovery (RFC 7644 §4) over HTTP', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  it('/ServiceProviderConfig advertises what is supported: patch, bulk with limits, filter maxResults, sort, etag', async () => {
    const r = await c.req('GET', '/ServiceProviderConfig');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(r.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true }, sort: { supported: true }, etag: { supported: true }, changePassword: { supported: false },
      filter: { supported: true, maxResults: expect.any(Number) },
      bulk: { supported: true, maxOperations: expect.any(Number), maxPayloadSize: expect.any(Number) },
      meta: { resourceType: 'ServiceProviderConfig', location: `${c.base}/ServiceProviderConfig` },
    });
    expect(r.body.bulk.maxOperations).toBeGreaterThan(0);
    expect(r.body.bulk.maxPayloadSize).toBeGreaterThan(0);
    expect(r.body.authenticationSchemes[0].type).toBe('oauthbearertoken');
  });

  it('/ResourceTypes lists User (with the enterprise extension) and Group; /ResourceTypes/{name} answers each, unknown → 404', async () => {
    const r = await c.req('GET', '/ResourceTypes');
    expect(r.status).toBe(200);
    expect(r.body.schemas).toEqual([LIST_RESPONSE]);
    expect(r.body.totalResults).toBe(2);
    const user = r.body.Resources.find((x: any) => x.id === 'User');
    expect(user).toMatchObject({ endpoint: '/Users', schema: USER, schemaExtensions: [{ schema: ENTERPRISE, required: false }] });
    expect(r.body.Resources.find((x: any) => x.id === 'Group')).toMatchObject({ endpoint: '/Groups', schema: GROUP });
    expect((await c.req('GET', '/ResourceTypes/Group')).body.schema).toBe(GROUP);
    expect((await c.req('GET', '/ResourceTypes/user')).body.id).toBe('User');
    expectScimError(await c.req('GET', '/ResourceTypes/Device'), 404);
  });

  it('/Schemas is a ListResponse of core User, enterprise User and Group with attribute characteristics, no nulls', async () => {
    const r = await c.req('GET', '/Schemas');
    expect(r.status).toBe(200);
    expect(r.body.schemas).toEqual([LIST_RESPONSE]);
    const ids = r.body.Resources.map((s: any) => s.id);
    expect(ids).toEqual(expect.arrayContaining([USER, ENTERPRISE, GROUP]));
    expect(r.text).not.toContain('null');
    const user = r.body.Resources.find((s: any) => s.id === USER);
    const attr = (name: string) => user.attributes.find((a: any) => a.name === name);
    expect(attr('userName')).toMatchObject({ type: 'string', required: true, caseExact: false, uniqueness: 'server', mutability: 'readWrite', returned: 'default' });
    expect(attr('password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(attr('groups')).toMatchObject({ mutability: 'readOnly', multiValued: true });
    for (const name of ['name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active',
      'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates']) expect(attr(name), name).toBeDefined();
    const ent = r.body.Resources.find((s: any) => s.id === ENTERPRISE);
    expect(ent.attributes.map((a: any) => a.name)).toEqual(expect.arrayContaining(['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']));
    const one = await c.req('GET', `/Schemas/${encodeURIComponent(ENTERPRISE)}`);
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(ENTERPRISE);
    expectScimError(await c.req('GET', '/Schemas/urn:nope'), 404);
  });

  it('a custom extension an IdP sent is kept on the person and described in /Schemas and /ResourceTypes', async () => {
    const created = await c.user('custom@example.org', { schemas: [USER, CUSTOM], [CUSTOM]: { badge: 'B-7', floor: 3, remote: true, tags: ['a', 'b'], site: { code: 'LDN' } } });
    expect(created.status).toBe(201);
    expect(created.body[CUSTOM]).toEqual({ badge: 'B-7', floor: 3, remote: true, tags: ['a', 'b'], site: { code: 'LDN' } });
    expect(created.body.schemas).toContain(CUSTOM);
    const got = await c.req('GET', `/Users/${created.body.id}`);
    expect(got.body[CUSTOM].badge).toBe('B-7');
    const schemas = await c.req('GET', '/Schemas');
    const custom = schemas.body.Resources.find((s: any) => s.id === CUSTOM);
    expect(custom).toBeDefined();
    const byName = Object.fromEntries(custom.attributes.map((a: any) => [a.name, a]));
    expect(byName.badge).toMatchObject({ type: 'string', multiValued: false });
    expect(byName.floor).toMatchObject({ type: 'integer' });
    expect(byName.remote).toMatchObject({ type: 'boolean' });
    expect(byName.tags).toMatchObject({ type: 'string', multiValued: true });
    expect(byName.site).toMatchObject({ type: 'complex', subAttributes: [expect.objectContaining({ name: 'code', type: 'string' })] });
    expect((await c.req('GET', `/Schemas/${CUSTOM}`)).status).toBe(200);
    const rt = await c.req('GET', '/ResourceTypes/User');
    expect(rt.body.schemaExtensions).toContainEqual({ schema: CUSTOM, required: false });
    // and it is filterable by its URN-qualified name
    const f = await c.req('GET', `/Users?filter=${encodeURIComponent(`${CUSTOM}:badge eq "B-7"`)}`);
    expect(f.body.totalResults).toBe(1);
  });

  it('/Me answers 501 with a SCIM error', async () => {
    expectScimError(await c.req('GET', '/Me'), 501);
  });

  it('accepts application/json and application/scim+json (with charset); responses are application/scim+json; other types → 415', async () => {
    for (const [i, ct] of ['application/json', 'application/scim+json', 'application/scim+json; charset=utf-8', 'application/json; charset=UTF-8'].entries()) {
      const r = await c.req('POST', '/Users', { schemas: [USER], userName: `ct${i}@example.org` }, { 'content-type': ct });
      expect(r.status, ct).toBe(201);
      expect(r.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    }
    expectScimError(await c.req('POST', '/Users', 'userName=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
  });

  it('a bad or missing token → 401 with a SCIM Error body (Okta 7), and a token only works on its own list', async () => {
    const bad = await fetch(`${c.base}/Users`, { headers: { authorization: 'Bearer sct_nope' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/scim+json');
    expect(await bad.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    expect((await fetch(`${c.base}/Users`)).status).toBe(401);
    const other = await c.stack.admin('POST', '/lists', { name: 'Other' });
    await c.stack.admin('POST', `/lists/${other.body.id}/sync/scim`, { uniqueIdentifier: 'userName' });
    const wrongList = await fetch(c.base.replace(c.listId, other.body.id) + '/Users', { headers: { authorization: `Bearer ${c.token}` } });
    expect(wrongList.status).toBe(401);
  });
});
