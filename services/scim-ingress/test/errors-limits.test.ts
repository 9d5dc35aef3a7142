import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IDENTIFIER_LENGTH } from '../src/identifier-limits.ts';
import { ENTERPRISE, GROUP, PATCH_OP, USER, connectList, expectScimError, scimStack, type ScimClient, withEnv } from './support.ts';

const BODY_LIMIT = 8_192;

describe('SCIM errors and limits over HTTP', () => {
  let c: ScimClient;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    c = await withEnv({ MUSTER_SCIM_MAX_BODY_BYTES: String(BODY_LIMIT), MUSTER_SCIM_RATE_LIMIT: '100000' }, () => scimStack());
    userId = (await c.user('err@example.org')).body.id;
    groupId = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Err group', members: [{ value: userId }] })).body.id;
  });
  afterAll(async () => { await c?.stack.stop(); });

  it('errors use the SCIM Error schema with status as a string and the RFC scimType', async () => {
    const malformed = await c.req('POST', '/Users', '{"userName": ');
    expectScimError(malformed, 400, 'invalidSyntax');
    expect(malformed.body.detail).toMatch(/JSON/);
    const wrongType = await c.req('POST', '/Users', { schemas: [USER], userName: 'wt@example.org', emails: 'not-a-list-of-objects', name: 'flat' });
    expectScimError(wrongType, 400, 'invalidValue');
    expectScimError(await c.req('POST', '/Users', '[1,2,3]'), 400, 'invalidSyntax');
    expectScimError(await c.req('POST', '/Users', '"just a string"'), 400, 'invalidSyntax');
    expectScimError(await c.req('GET', '/Widgets'), 404);
    expectScimError(await c.req('GET', '/Users/does-not-exist'), 404);
    expectScimError(await c.req('POST', '/Users/some-id'), 404);
  });

  it('a body larger than the limit → 413 SCIM error, with a clear detail', async () => {
    const big = await c.req('POST', '/Users', { schemas: [USER], userName: 'big@example.org', title: 'x'.repeat(BODY_LIMIT) });
    expectScimError(big, 413);
    expect(big.body.detail).toMatch(/larger/);
  });

  it('filters longer or deeper than the limits → 400 invalidFilter', async () => {
    const long = `userName eq "${'a'.repeat(5_000)}"`;
    const r = await c.req('POST', '/Users/.search', { filter: long });
    expectScimError(r, 400, 'invalidFilter');
    const deep = `${'('.repeat(40)}userName eq "a"${')'.repeat(40)}`;
    expectScimError(await c.req('GET', `/Users?filter=${encodeURIComponent(deep)}`), 400, 'invalidFilter');
    const nots = `${'not ('.repeat(30)}userName eq "a"${')'.repeat(30)}`;
    expectScimError(await c.req('GET', `/Users?filter=${encodeURIComponent(nots)}`), 400, 'invalidFilter');
    // repeated query parameters are not a filter
    expectScimError(await c.req('GET', '/Users?filter=a&filter=b'), 400, 'invalidFilter');
  });

  it('identifiers longer than a filter can hold → 400 invalidValue, nothing written; the longest allowed is found by its filter', async () => {
    expect(MAX_IDENTIFIER_LENGTH).toBe(1_024);
    const long = (n: number) => `${'l'.repeat(n - '@example.org'.length)}@example.org`;
    const mark = await c.head();
    const tooLong = await c.user(long(MAX_IDENTIFIER_LENGTH + 1));
    expectScimError(tooLong, 400, 'invalidValue');
    expect(tooLong.body.detail).toMatch(/userName is 1025 characters long.*at most 1024/);
    expectScimError(await c.user('ext-long@example.org', { externalId: 'x'.repeat(MAX_IDENTIFIER_LENGTH + 1) }), 400, 'invalidValue');
    expectScimError(await c.req('PUT', `/Users/${userId}`, { schemas: [USER], userName: long(MAX_IDENTIFIER_LENGTH + 1) }), 400, 'invalidValue');
    const patch = await c.req('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'externalId', value: 'e'.repeat(2_000) }] });
    expectScimError(patch, 400, 'invalidValue');
    expect(patch.body.detail).toMatch(/externalId/);
    expectScimError(await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'g'.repeat(MAX_IDENTIFIER_LENGTH + 1) }), 400, 'invalidValue');
    expectScimError(await c.req('PATCH', `/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'g'.repeat(MAX_IDENTIFIER_LENGTH + 1) }] }), 400, 'invalidValue');
    // refused writes append no domain event (only their FAILED log entries)
    expect((await c.since(mark)).filter((e) => /^(person|group)-/.test(e.streamId))).toEqual([]);
    expect((await c.req('GET', `/Users/${userId}`)).body.userName).toBe('err@example.org');

    const longest = long(MAX_IDENTIFIER_LENGTH);
    const created = await c.user(longest, { externalId: 'x'.repeat(MAX_IDENTIFIER_LENGTH) });
    expect(created.status, created.text).toBe(201);
    const found = await c.req('GET', `/Users?filter=${encodeURIComponent(`userName eq "${longest.toUpperCase()}"`)}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(created.body.id);
    const byExt = await c.req('POST', '/Users/.search', { filter: `externalId eq "${'x'.repeat(MAX_IDENTIFIER_LENGTH)}"` });
    expect(byExt.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id]);

    // the list's unique identifier, when it is another attribute (here employeeNumber)
    const other = await connectList(c.stack, { uniqueIdentifier: 'employeeNumber' });
    const uid = await other.user('uid-long@example.org', { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { employeeNumber: '7'.repeat(MAX_IDENTIFIER_LENGTH + 1) } });
    expectScimError(uid, 400, 'invalidValue');
    expect(uid.body.detail).toMatch(/unique identifier \(employeeNumber\)/);
  });

  it('garbage bodies and paths at every endpoint never answer 5xx', async () => {
    const bodies: unknown[] = [
      '', '{', 'null', 'true', '123', '"x"', '[]', '[{}]', '{}', '{"Operations": null}', '{"Operations": [null, 1, "x", {"op": {}}]}',
      '{"schemas": "nope"}', '{"schemas": [1]}', '{"userName": {"a": 1}}', '{"userName": []}', '{"userName": "g", "emails": [1, null, "x"]}',
      '{"userName": "g", "name": [1]}', '{"userName": "g", "active": {}}', '{"displayName": 5, "members": "all"}', '{"members": [{"value": {}}], "displayName": "m"}',
      '{"__proto__": {"polluted": true}, "userName": "proto"}', '{"constructor": {"prototype": {"x": 1}}, "userName": "ctor"}',
      '{"Operations": [{"op": "add", "path": "emails[type eq \\"work\\"].value", "value": {"deep": [1]}}]}',
      '{"Operations": [{"op": "replace", "path": "name.givenName.x.y", "value": 1}]}', '{"Operations": [{"op": "remove", "path": "members[value eq 5]"}]}',
      '{"filter": 5, "startIndex": "x", "count": {}}', '{"filter": ["a"], "attributes": 5}', '{"sortBy": {}, "sortOrder": 1}',
      `{"userName": "${'\\u0000'.repeat(5)}"}`, '{"userName": "\\ud800"}', `{"a": ${'['.repeat(500)}${']'.repeat(500)}}`,
      '{"Operations": [{"method": "POST", "path": "/Users", "bulkId": "q", "data": "x"}, {"method": "DELETE", "path": "/Groups/bulkId:q"}]}',
      '{"failOnErrors": 0, "Operations": []}', '{"Operations": [{"method": "PATCH", "path": "/Users/%ZZ", "data": null}]}',
    ];
    const paths = ['/Users', `/Users/${userId}`, '/Users/.search', '/Groups', `/Groups/${groupId}`, '/Groups/.search', '/.search', '/Bulk',
      '/Users/%2e%2e', '/Users/' + 'x'.repeat(3_000), '/Groups/%00', '/Schemas/%ZZ', '/ResourceTypes/x', '/Me', '/Users?filter=%ZZ',
      '/Users?startIndex=-5&count=-1', '/Users?count=99999999999999999999', '/Users?attributes=&excludedAttributes=,,,', '/Users?sortBy=nosuch'];
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const failures: string[] = [];
    for (const path of paths) {
      for (const method of methods) {
        for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
          const r = await c.req(method, path, body);
          if (r.status >= 500 && !(path === '/Me' && r.status === 501)) failures.push(`${method} ${path.slice(0, 60)} ${String(body).slice(0, 60)} → ${r.status} ${r.text.slice(0, 200)}`);
          // Fastify's router refuses an over-long path segment (414) or a malformed %-escape (400
          // FST_ERR_BAD_URL) before any SCIM code runs: still 4xx, but its own JSON body
          else if (r.status >= 400 && !['FST_ERR_MAX_PARAM_LENGTH', 'FST_ERR_BAD_URL'].includes(r.body?.code)) {
            expect(r.body?.schemas, `${method} ${path} ${String(body)}: ${r.text}`).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // nothing above polluted prototypes
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // and the service still works
    expect((await c.user('after-garbage@example.org')).status).toBe(201);
  }, 60_000);

  it('failed requests are logged FAILED with the SCIM error in the provisioning log', async () => {
    const userId = (await c.user('logged-failure@example.org')).body.id;
    expectScimError(await c.req('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'nosuch', value: 1 }] }), 400, 'invalidPath');
    const log = await c.log();
    expect(log.filter((e) => e.status === 'FAILED' && e.resourceId === userId && e.error?.scimType === 'invalidPath').length).toBeGreaterThan(0);
  });
});

describe('per-token rate limit', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await withEnv({ MUSTER_SCIM_RATE_LIMIT: '5', MUSTER_SCIM_RATE_BURST: '5' }, () => scimStack());
  });
  afterAll(async () => { await c?.stack.stop(); });

  it('beyond the burst → 429 with Retry-After and a SCIM error body; other tokens are not throttled; it recovers', async () => {
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await c.req('GET', '/Users?count=1'));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expectScimError(limited[0], 429);
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const second = await c.stack.admin('POST', `/lists/${c.listId}/sync/scim/tokens`, {});
    const other = await fetch(`${c.base}/Users?count=1`, { headers: { authorization: `Bearer ${second.body.token}` } });
    expect(other.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await c.req('GET', '/Users?count=1')).status).toBe(200);
  });

  it('the default is generous: 1,000 requests per second with a burst of 2,000 per token', async () => {
    const { loadScimIngressConfig } = await import('../src/config.ts');
    const cfg = loadScimIngressConfig({}).service;
    expect(cfg.MUSTER_SCIM_RATE_LIMIT).toBe(1_000);
    expect(cfg.MUSTER_SCIM_RATE_BURST).toBeUndefined(); // twice the rate
  });
});
