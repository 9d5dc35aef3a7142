/** Lenient where real clients are sloppy and nothing is lost: endpoint names in any case, a trailing slash on a collection; JSON as text/plain is 415 naming the accepted types. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scimStack, USER, expectScimError, type ScimClient } from './support.ts';

let c: ScimClient;
beforeAll(async () => { c = await scimStack(); });
afterAll(async () => { await c?.stack.stop(); });

describe('SCIM URLs and bodies as sloppy clients send them', () => {
  it('endpoint names match in any case, and /Users/?filter= is the collection', async () => {
    const created = await c.req('POST', '/users', { schemas: [USER], userName: 'lenient@x.org' });
    expect(created.status).toBe(201);
    const byId = await c.req('GET', `/USERS/${created.body.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.userName).toBe('lenient@x.org');
    const listed = await c.req('GET', `/Users/?filter=${encodeURIComponent('userName eq "lenient@x.org"')}`);
    expect(listed.status).toBe(200);
    expect(listed.body.totalResults).toBe(1);
    expect((await c.req('GET', '/serviceproviderconfig')).status).toBe(200);
    expect((await c.req('GET', '/groups')).status).toBe(200);
  });

  it('JSON sent as text/plain is 415 naming the accepted types', async () => {
    const res = await c.req('POST', '/Users', JSON.stringify({ schemas: [USER], userName: 'plain@x.org' }), { 'content-type': 'text/plain' });
    expectScimError(res, 415);
    expect(res.body.detail).toMatch(/application\/scim\+json or application\/json/);
  });
});
