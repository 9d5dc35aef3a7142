import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, PATCH_OP, USER, domainEvents, expectScimError, scimStack, type ScimClient } from './support.ts';

const FULL_USER = {
  schemas: [USER, ENTERPRISE],
  userName: 'bjensen@example.com', externalId: 'bjensen-ext',
  name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara', middleName: 'Jane', honorificPrefix: 'Ms.', honorificSuffix: 'III' },
  displayName: 'Babs Jensen', nickName: 'Babs', profileUrl: 'https://login.example.com/bjensen', title: 'Tour Guide', userType: 'Employee',
  preferredLanguage: 'en-US', locale: 'en-US', timezone: 'America/Los_Angeles', active: true, password: 't1meMa$heen',
  emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }],
  phoneNumbers: [{ value: '555-555-5555', type: 'work' }], ims: [{ value: 'someaimhandle', type: 'aim' }],
  photos: [{ value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' }],
  addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA', primary: true }],
  entitlements: [{ value: 'Gold' }], roles: [{ value: 'Tour Guide' }], x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx' }],
  [ENTERPRISE]: { employeeNumber: '701984', costCenter: '4130', organization: 'Universal Studios', division: 'Theme Park', department: 'Tour Operations', manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d', displayName: 'John Smith' } },
};

describe('Users: POST, GET, PUT, PATCH, DELETE over HTTP (RFC 7644 §3.3–3.6)', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  it('POST → 201 with Location, ETag and meta; the whole core + enterprise schema round-trips; password is never returned nor stored', async () => {
    const r = await c.req('POST', '/Users', FULL_USER);
    expect(r.status).toBe(201);
    const id = r.body.id;
    expect(id).toEqual(expect.any(String));
    expect(r.headers.get('location')).toBe(`${c.base}/Users/${id}`);
    expect(r.headers.get('etag')).toBe(r.body.meta.version);
    expect(r.body.meta).toEqual({ resourceType: 'User', created: expect.any(String), lastModified: expect.any(String), location: `${c.base}/Users/${id}`, version: 'W/"0"' });
    expect(new Date(r.body.meta.created).toISOString()).toBe(r.body.meta.created);
    const { password: _p, schemas: _s, ...sent } = FULL_USER;
    // manager.displayName is readOnly (the server's to set): not stored from input
    const expected = { ...sent, [ENTERPRISE]: { ...sent[ENTERPRISE], manager: { value: sent[ENTERPRISE].manager.value } } };
    expect(r.body).toMatchObject(expected);
    expect(r.body.schemas).toEqual([USER, ENTERPRISE]);
    expect(r.body).not.toHaveProperty('password');
    const got = await c.req('GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject(expected);
    expect(got.body).not.toHaveProperty('password');
    expect(JSON.stringify(await c.events())).not.toContain('t1meMa$heen');
  });

  it('a duplicate userName (any case) → 409 uniqueness; required userName missing → 400 invalidValue', async () => {
    await c.user('dup@example.org');
    expectScimError(await c.user('DUP@Example.org'), 409, 'uniqueness');
    expectScimError(await c.req('POST', '/Users', { schemas: [USER], displayName: 'no userName' }), 400, 'invalidValue');
  });

  it('readOnly input (id, meta, groups) is ignored on POST; caseExact id; attribute names are case-insensitive', async () => {
    const r = await c.req('POST', '/Users', { schemas: [USER], id: 'client-chosen', UserName: 'Case@Example.org', meta: { resourceType: 'User', created: '1999-01-01T00:00:00Z' }, groups: [{ value: 'g1' }], DisplayName: 'Case' });
    expect(r.status).toBe(201);
    expect(r.body.id).not.toBe('client-chosen');
    expect(r.body.userName).toBe('Case@Example.org');
    expect(r.body.displayName).toBe('Case');
    expect(r.body.meta.created).not.toBe('1999-01-01T00:00:00Z');
    expect(r.body).not.toHaveProperty('groups');
    expectScimError(await c.req('GET', `/Users/${r.body.id.toUpperCase()}`), 404);
  });

  it('attributes / excludedAttributes apply to POST, PUT, PATCH and GET responses; id and schemas are always returned', async () => {
    const post = await c.req('POST', '/Users?attributes=userName', { schemas: [USER], userName: 'proj@example.org', title: 'T', emails: [{ value: 'p@x.org', type: 'work' }] });
    expect(post.status).toBe(201);
    expect(Object.keys(post.body).sort()).toEqual(['id', 'schemas', 'userName']);
    const id = post.body.id;
    const put = await c.req('PUT', `/Users/${id}?excludedAttributes=emails,meta`, { schemas: [USER], userName: 'proj@example.org', title: 'T2', emails: [{ value: 'p@x.org', type: 'work' }] });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id, title: 'T2' });
    expect(put.body).not.toHaveProperty('emails');
    expect(put.body).not.toHaveProperty('meta');
    const patch = await c.req('PATCH', `/Users/${id}?attributes=title,emails.value`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'T3' }] });
    expect(patch.body).toEqual({ schemas: [USER], id, title: 'T3', emails: [{ value: 'p@x.org' }] });
    const get = await c.req('GET', `/Users/${id}?attributes=name.givenName,${encodeURIComponent('urn:ietf:params:scim:schemas:core:2.0:User:title')}`);
    expect(get.body).toEqual({ schemas: [USER], id, title: 'T3' });
  });

  it('PUT replaces the resource: attributes left out are removed; immutable and readOnly are honoured', async () => {
    const r = await c.user('put@example.org', { title: 'Boss', nickName: 'P', emails: [{ value: 'put@example.org', type: 'work' }] });
    const id = r.body.id;
    const put = await c.req('PUT', `/Users/${id}`, { schemas: [USER], id, userName: 'put@example.org', displayName: 'Put Person', meta: { resourceType: 'User' }, groups: [] });
    expect(put.status).toBe(200);
    expect(put.body.displayName).toBe('Put Person');
    expect(put.body).not.toHaveProperty('title');
    expect(put.body).not.toHaveProperty('nickName');
    expect(put.body.meta.version).toBe('W/"1"');
    expect(put.headers.get('etag')).toBe('W/"1"');
    const got = await c.req('GET', `/Users/${id}`);
    expect(got.body).not.toHaveProperty('title');
    // an id in the body that differs from the URL is a readOnly violation
    expectScimError(await c.req('PUT', `/Users/${id}`, { schemas: [USER], id: 'other', userName: 'put@example.org' }), 400, 'mutability');
    // wrong type → 400 invalidValue naming the attribute
    const bad = await c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'put@example.org', active: 'perhaps' });
    expectScimError(bad, 400, 'invalidValue');
    expect(bad.body.detail).toContain('active');
    // renaming onto another user's userName → 409
    await c.user('taken@example.org');
    expectScimError(await c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'TAKEN@example.org' }), 409, 'uniqueness');
    // renaming frees the old userName
    expect((await c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'put2@example.org' })).status).toBe(200);
    expect((await c.user('put@example.org')).status).toBe(201);
  });

  it('PUT/PATCH/DELETE/GET of an unknown id → 404 SCIM error', async () => {
    for (const [m, b] of [['GET', undefined], ['PUT', { schemas: [USER], userName: 'x' }], ['PATCH', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }], ['DELETE', undefined]] as const) {
      expectScimError(await c.req(m, '/Users/00000000-0000-0000-0000-000000000000', b), 404);
    }
  });

  it('DELETE → 204, then 404; the roster person is deactivated and unlinked, never erased (one PersonUnlinked event)', async () => {
    const r = await c.user('gone@example.org', { externalId: 'gone-ext', name: { givenName: 'Gone', familyName: 'Person' } });
    const id = r.body.id;
    const mark = await c.head();
    const del = await c.req('DELETE', `/Users/${id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectScimError(await c.req('GET', `/Users/${id}`), 404);
    expectScimError(await c.req('DELETE', `/Users/${id}`), 404);
    const events = domainEvents(await c.since(mark));
    expect(events.map((e) => [e.streamId, e.type])).toEqual([[`person-${id}`, 'PersonUnlinked']]);
    const person = await c.stack.admin('GET', `/lists/${c.listId}/people/${id}`);
    expect(person.status).toBe(200);
    expect(person.body.status).toBe('inactive');
    expect(person.body.fields).toMatchObject({ firstName: 'Gone', lastName: 'Person' });
    // not in SCIM listings any more
    const list = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "gone@example.org"')}`);
    expect(list.body.totalResults).toBe(0);
  });

  it('a later POST of the same person (same userName, or same externalId) relinks and reactivates the roster person: no duplicate', async () => {
    const first = await c.user('again@example.org', { externalId: 'again-ext', name: { givenName: 'Again' } });
    const id = first.body.id;
    expect((await c.req('DELETE', `/Users/${id}`)).status).toBe(204);
    const mark = await c.head();
    const back = await c.user('again@example.org', { externalId: 'again-ext', name: { givenName: 'Again', familyName: 'Back' } });
    expect(back.status).toBe(201);
    expect(back.body.id).toBe(id);
    expect(domainEvents(await c.since(mark)).map((e) => e.type)).toEqual(['PersonRelinked']);
    const person = await c.stack.admin('GET', `/lists/${c.listId}/people/${id}`);
    expect(person.body.status).toBe('active');
    expect(person.body.fields.lastName).toBe('Back');
    // same externalId, new userName (the IdP renamed the person while they were deprovisioned)
    expect((await c.req('DELETE', `/Users/${id}`)).status).toBe(204);
    const renamed = await c.user('again-renamed@example.org', { externalId: 'again-ext' });
    expect(renamed.status).toBe(201);
    expect(renamed.body.id).toBe(id);
    expect(renamed.body.userName).toBe('again-renamed@example.org');
    const roster = await c.stack.admin('GET', `/lists/${c.listId}/people?status=all`);
    expect(roster.body.items.filter((p: any) => p.id === id)).toHaveLength(1);
  });
});
