/**
 * Attribute names that are also properties of every JavaScript object. A custom extension an IdP
 * sends may hold a "__proto__" key (JSON.parse makes it an own key): every read must return it as
 * sent. Filtered reads come from the read model, which once copied documents by assignment and so
 * turned that key into the copy's prototype (the filter and GET by id then disagreed). Found by a
 * random-request run over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, USER, scimStack, type ScimClient } from './support.ts';

const ACME = 'urn:acme:params:scim:schemas:extension:badges:2.0:User';
let c: ScimClient;
beforeAll(async () => { c = await scimStack(); });
afterAll(async () => { await c?.stack.stop(); });

describe('extension attributes named like built-in object properties', () => {
  it('"__proto__", "constructor" and "toString" keys read back the same by id, by filter, by listing and by .search', async () => {
    const body = `{"schemas":["${USER}","${ENTERPRISE}","${ACME}"],"userName":"proto@example.org",`
      + `"${ACME}":{"badge":"b","__proto__":"x","constructor":"c","colour":{"__proto__":{"toString":"t"}}}}`;
    const created = await c.req('POST', '/Users', body);
    expect(created.status).toBe(201);
    const expected = JSON.parse(`{"badge":"b","__proto__":"x","constructor":"c","colour":{"__proto__":{"toString":"t"}}}`);
    const byId = await c.req('GET', `/Users/${created.body.id}`);
    expect(byId.body[ACME]).toStrictEqual(expected);
    const filtered = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "proto@example.org"')}`);
    expect(filtered.body.Resources).toHaveLength(1);
    expect(filtered.body.Resources[0][ACME]).toStrictEqual(expected);
    const searched = await c.req('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "proto@example.org"' });
    expect(searched.body.Resources[0][ACME]).toStrictEqual(expected);
    const listed = await c.req('GET', '/Users');
    expect(listed.body.Resources.find((r: { id: string }) => r.id === created.body.id)[ACME]).toStrictEqual(expected);
    expect(filtered.body.Resources[0]).toEqual(byId.body);
  });
});
