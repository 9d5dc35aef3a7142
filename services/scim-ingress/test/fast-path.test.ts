/**
 * The fast path (src/fast-path.ts): hits of `GET /Users?filter=userName eq "…"` and
 * `GET /Users/{id}` answered before Fastify routes the request. Checked over real HTTP: the
 * requests it takes (counted on /healthz), the bytes and headers it sends against the Fastify
 * routes on the same data, and the requests it must leave to Fastify.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR, startStack } from '../../../tests/helpers.ts';
import { connectList, USER, type ScimClient, withEnv } from './support.ts';

const answered = async (c: ScimClient) => {
  const h = (await (await fetch(`${c.stack.url}/healthz`, OPERATOR)).json()) as { services: { 'scim-ingress': { fastPath: { answered: number } | 'off' } } };
  return h.services['scim-ingress'].fastPath;
};
const count = async (c: ScimClient) => { const f = await answered(c); if (f === 'off') throw new Error('fast path off'); return f.answered; };

/** a GET with its status, the headers that differ between answers, and the bytes */
async function get(c: ScimClient, path: string, headers: Record<string, string> = {}, token = c.token) {
  const res = await fetch(`${c.base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  const pick = ['content-type', 'content-length', 'etag', 'connection', 'keep-alive', 'retry-after', 'www-authenticate'];
  return { status: res.status, headers: Object.fromEntries(pick.map((h) => [h, res.headers.get(h)])), text: await res.text() };
}
const filter = (userName: string, extra = '') => `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}${extra}`;

describe('fast path for kept userName and id reads', () => {
  let c: ScimClient;
  let other: Awaited<ReturnType<typeof connectList>>;
  let ada: string;
  beforeAll(async () => {
    const stack = await startStack();
    c = { stack, ...(await connectList(stack)) };
    other = await connectList(stack);
    const r = await c.user('ada@example.org', { name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@example.org', primary: true }] });
    expect(r.status).toBe(201);
    ada = r.body.id;
    expect((await c.user('grace@example.org')).status).toBe(201);
  });
  afterAll(async () => { await c?.stack.stop(); });

  it('answers hits (and never-reserved misses) itself, counted on /healthz', async () => {
    const before = await count(c);
    const hit = await get(c, filter('ADA@example.org'));
    expect(hit.status).toBe(200);
    expect(hit.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    const body = JSON.parse(hit.text);
    expect(body).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [{ id: ada, userName: 'ada@example.org' }] });
    expect(Number(hit.headers['content-length'])).toBe(Buffer.byteLength(hit.text));
    const paged = await get(c, filter('ada@example.org', '&startIndex=1&count=0'));
    expect(JSON.parse(paged.text)).toMatchObject({ totalResults: 1, itemsPerPage: 0, Resources: [] });
    const none = await get(c, filter('nobody@example.org'));
    expect(JSON.parse(none.text)).toMatchObject({ totalResults: 0, Resources: [] });
    const byId = await get(c, `/Users/${ada}`);
    expect(byId.status).toBe(200);
    expect(byId.headers.etag).toBe(JSON.parse(hit.text).Resources[0].meta.version);
    expect(JSON.parse(byId.text)).toEqual(JSON.parse(hit.text).Resources[0]);
    expect(await count(c)).toBe(before + 4);
  });

  it('leaves everything else to Fastify, which answers as before', async () => {
    const before = await count(c);
    // bad or missing tokens, another list's token, a token of this list on another list's URL
    expect((await get(c, filter('ada@example.org'), {}, 'sct_wrong')).status).toBe(401);
    expect((await fetch(`${c.base}${filter('ada@example.org')}`)).status).toBe(401);
    expect((await get(c, filter('ada@example.org'), {}, other.token)).status).toBe(401);
    const cross = await fetch(`${other.base}${filter('ada@example.org')}`, { headers: { authorization: `Bearer ${c.token}` } });
    expect(cross.status).toBe(401);
    // what the kept answers do not hold, or the route must refuse or shape differently
    const proj = await get(c, filter('ada@example.org', '&attributes=userName'));
    expect(JSON.parse(proj.text).Resources[0]).toEqual({ id: ada, userName: 'ada@example.org', schemas: [USER] });
    expect((await get(c, filter('ada@example.org', '&count=many'))).status).toBe(400);
    expect((await get(c, filter('ada@example.org', '&count=1&count=2'))).status).toBe(400);
    expect((await get(c, `/Users?filter=${encodeURIComponent('displayName eq "x"')}`)).status).toBe(200);
    expect((await get(c, `/Users/${ada}`, { 'if-none-match': (await get(c, `/Users/${ada}`)).headers.etag! })).status).toBe(304);
    expect((await get(c, `/Users/${ada}?attributes=userName`)).status).toBe(200);
    expect((await get(c, '/Users/no-such-user')).status).toBe(404);
    // one fast answer above: the GET /Users/{id} fetched for its ETag, nothing else
    expect(await count(c)).toBe(before + 1);
  });

  it('a revoked token is refused on the very next request, and a changed user is never answered stale', async () => {
    const tok = await c.stack.admin('POST', `/lists/${c.listId}/sync/scim/tokens`, {});
    expect((await get(c, filter('grace@example.org'), {}, tok.body.token)).status).toBe(200);
    expect((await c.stack.admin('DELETE', `/lists/${c.listId}/sync/scim/tokens/${tok.body.id}`)).status).toBe(204);
    expect((await get(c, filter('grace@example.org'), {}, tok.body.token)).status).toBe(401);

    expect((await c.req('PATCH', `/Users/${ada}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Countess' }] })).status).toBe(200);
    const after = JSON.parse((await get(c, filter('ada@example.org'))).text);
    expect(after.Resources[0].title).toBe('Countess');
    expect(JSON.parse((await get(c, `/Users/${ada}`)).text).title).toBe('Countess');
  });

  it('rate limit: once the bucket is empty the route answers 429 with Retry-After (the fast path takes no request it would refuse)', async () => {
    // the ingress reads its own variables from the process environment
    const stack = await withEnv({ MUSTER_SCIM_RATE_LIMIT: '1', MUSTER_SCIM_RATE_BURST: '3' }, () => startStack());
    try {
      const l = await connectList(stack);
      const lc: ScimClient = { stack, ...l };
      expect((await l.user('lin@example.org')).status).toBe(201); // 1 of 3
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(lc, filter('lin@example.org'))).status);
      expect(statuses).toEqual([200, 200, 429, 429]);
      const refused = await get(lc, filter('lin@example.org'));
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(await count(lc)).toBe(2);
    } finally { await stack.stop(); }
  });
});

describe('the same bytes with and without the fast path', () => {
  it('a restart with MUSTER_HTTP_FAST_PATHS=off on the same data answers each request identically, through Fastify', async () => {
    const requests = (c: ScimClient, ids: string[]) => [
      filter('ada@example.org'), filter('Ada@Example.org', '&startIndex=1&count=5'), filter('ada@example.org', '&count=0'),
      filter('ada@example.org', '&startIndex=2'), filter('nobody@example.org'), `/Users/${ids[0]}`, `/Users/${ids[1]}`,
    ].map((p) => get(c, p));
    const s1 = await startStack();
    const c1: ScimClient = { stack: s1, ...(await connectList(s1)) };
    const ids = [
      (await c1.user('ada@example.org', { name: { givenName: 'Ada' }, emails: [{ value: 'ada@example.org', type: 'work' }], title: 'Ünïcødé ✓' })).body.id,
      (await c1.user('bob@example.org', { 'urn:example:custom:1.0:User': { badge: 7 } })).body.id,
    ];
    const before = await count(c1);
    const fast = await Promise.all(requests(c1, ids));
    expect(await count(c1)).toBe(before + 7);
    await s1.stop({ keepData: true });

    // same port, so the resources' meta.location (built on the public URL) is the same
    const s2 = await startStack({ MUSTER_HTTP_FAST_PATHS: 'off', PORT: new URL(s1.url).port }, s1.dataDir);
    try {
      const c2: ScimClient = { ...c1, stack: s2 };
      expect(await answered(c2)).toBe('off');
      await Promise.all(requests(c2, ids)); // the first read of each is remembered: the second comes from the kept answers, as above
      const slow = await Promise.all(requests(c2, ids));
      expect(slow).toEqual(fast);
    } finally { await s2.stop(); }
  });

  it('stays on at LOG_LEVEL info, the default (the server writes the request line for its answers: tests/process.test.ts reads them)', async () => {
    const s = await startStack({ LOG_LEVEL: 'info' });
    try {
      const h = (await (await fetch(`${s.url}/healthz`, OPERATOR)).json()) as { services: Record<string, { fastPath?: unknown }> };
      expect(h.services['scim-ingress'].fastPath).toEqual({ answered: 0 });
    } finally { await s.stop(); }
  });
});
