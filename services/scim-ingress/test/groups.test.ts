import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PATCH_OP, domainEvents, expectScimError, scimStack, type ScimClient } from './support.ts';

describe('Groups over HTTP (RFC 7643 §4.2, RFC 7644)', () => {
  let c: ScimClient;
  let u1: string; let u2: string; let u3: string;
  beforeAll(async () => {
    c = await scimStack();
    u1 = (await c.user('g1@example.org', { displayName: 'Gee One' })).body.id;
    u2 = (await c.user('g2@example.org')).body.id;
    u3 = (await c.user('g3@example.org')).body.id;
  });
  afterAll(async () => { await c?.stack.stop(); });

  it('POST → 201 with members (value, $ref, display, type), externalId, meta; GET answers the same', async () => {
    const r = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering', externalId: 'eng-ext', members: [{ value: u1 }, { value: u2, display: 'ignored' }] });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${c.base}/Groups/${r.body.id}`);
    expect(r.body).toMatchObject({
      schemas: [GROUP], displayName: 'Engineering', externalId: 'eng-ext',
      meta: { resourceType: 'Group', location: `${c.base}/Groups/${r.body.id}`, version: 'W/"0"', created: expect.any(String), lastModified: expect.any(String) },
    });
    expect(r.body.members).toEqual(expect.arrayContaining([
      { value: u1, $ref: `${c.base}/Users/${u1}`, type: 'User', display: 'Gee One' },
      expect.objectContaining({ value: u2, $ref: `${c.base}/Users/${u2}`, type: 'User' }),
    ]));
    const got = await c.req('GET', `/Groups/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.members).toHaveLength(2);
    const noMembers = await c.req('GET', `/Groups/${r.body.id}?excludedAttributes=members`);
    expect(noMembers.body).not.toHaveProperty('members');
    expect(noMembers.body.displayName).toBe('Engineering');
  });

  it('displayName is unique per list (case-insensitively) → 409 uniqueness; another list may reuse it', async () => {
    await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Unique Name' });
    expectScimError(await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'unique name' }), 409, 'uniqueness');
    const other = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Other Name' });
    expectScimError(await c.req('PUT', `/Groups/${other.body.id}`, { schemas: [GROUP], displayName: 'UNIQUE NAME' }), 409, 'uniqueness');
    expectScimError(await c.req('POST', '/Groups', { schemas: [GROUP] }), 400, 'invalidValue');
    const { connectList } = await import('./support.ts');
    const second = await connectList(c.stack);
    expect((await second.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Unique Name' })).status).toBe(201);
  });

  it("a user's groups attribute reflects membership, on GET by id and in list/filter responses", async () => {
    const g = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Readers', members: [{ value: u3 }] });
    const user = await c.req('GET', `/Users/${u3}`);
    expect(user.body.groups).toEqual([{ value: g.body.id, display: 'Readers', $ref: `${c.base}/Groups/${g.body.id}`, type: 'direct' }]);
    const listed = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "g3@example.org"')}`);
    expect(listed.body.Resources[0].groups).toEqual([expect.objectContaining({ value: g.body.id, display: 'Readers' })]);
    const byGroup = await c.req('GET', `/Users?filter=${encodeURIComponent(`groups.value eq "${g.body.id}"`)}`);
    expect(byGroup.body.Resources.map((r: any) => r.id)).toEqual([u3]);
    // removing the member removes the group from the user
    const p = await c.req('PATCH', `/Groups/${g.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${u3}"]` }] });
    expect(p.status).toBe(204);
    expect((await c.req('GET', `/Users/${u3}`)).body).not.toHaveProperty('groups');
  });

  it('PATCH members: add, remove by filter, remove by value list (only those), replace all; rename; 204 unless attributes are asked for', async () => {
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Patchers' })).body.id;
    const ops = (o: unknown[]) => c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: o });
    expect((await ops([{ op: 'add', path: 'members', value: [{ value: u1 }, { value: u2 }, { value: u3 }] }])).status).toBe(204);
    expect((await ops([{ op: 'remove', path: 'members', value: [{ $ref: null, value: u2 }] }])).status).toBe(204);
    let got = await c.req('GET', `/Groups/${g}`);
    expect(got.body.members.map((m: any) => m.value).sort()).toEqual([u1, u3].sort());
    expect((await ops([{ op: 'replace', path: 'members', value: [{ value: u2 }] }])).status).toBe(204);
    got = await c.req('GET', `/Groups/${g}`);
    expect(got.body.members.map((m: any) => m.value)).toEqual([u2]);
    const renamed = await c.req('PATCH', `/Groups/${g}?attributes=displayName`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id: g, displayName: 'Patchers 2' } }] });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ schemas: [GROUP], id: g, displayName: 'Patchers 2' });
    // the old name is free again
    expect((await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Patchers' })).status).toBe(201);
    // members must be Users of this list
    expectScimError(await ops([{ op: 'add', path: 'members', value: [{ value: 'not-a-user' }] }]), 400, 'invalidValue');
  });

  it('GET /Groups filters by displayName (Okta, Entra), excludedAttributes=members, paging; PUT replaces; DELETE → 204 then 404', async () => {
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [{ value: u1 }] })).body.id;
    const found = await c.req('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Test SCIMv2"')}&startIndex=1&count=100`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].members).toHaveLength(1);
    const slim = await c.req('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "test scimv2"')}`);
    expect(slim.body.Resources[0]).not.toHaveProperty('members');
    expect(slim.body.Resources[0].id).toBe(g);
    const none = await c.req('GET', `/Groups?filter=${encodeURIComponent('displayName eq "nope"')}`);
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });
    const put = await c.req('PUT', `/Groups/${g}`, { schemas: [GROUP], displayName: 'Test SCIMv2', externalId: 'x1', members: [{ value: u2 }] });
    expect(put.status).toBe(200);
    expect(put.body.members.map((m: any) => m.value)).toEqual([u2]);
    expect(put.body.externalId).toBe('x1');
    const mark = await c.head();
    expect((await c.req('DELETE', `/Groups/${g}`)).status).toBe(204);
    expectScimError(await c.req('GET', `/Groups/${g}`), 404);
    expect(domainEvents(await c.since(mark)).map((e) => e.type)).toEqual(['GroupDeleted']);
    expect((await c.req('GET', `/Users/${u2}`)).body.groups ?? []).not.toContainEqual(expect.objectContaining({ value: g }));
  });
});
