/**
 * Seeded random requests over HTTP: odd filters, PATCH paths, bodies of the wrong shape, Bulk
 * operations, paging and attribute parameters, mixed with valid writes so that the stateful paths
 * (PATCH/PUT/DELETE of existing people and groups) are reached. Invariants:
 *   - never a 5xx (except /Me's 501), every error in SCIM's Error format with its status as a string;
 *   - no Bulk operation answers 5xx;
 *   - afterwards every person read by id is the one its `userName eq` filter finds, field for field
 *     (the stream and the projection agree).
 * A failure names the seed and the request. Longer runs: MUSTER_FUZZ_SEED, MUSTER_FUZZ_REQUESTS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_REQUEST, ENTERPRISE, ERROR, GROUP, PATCH_OP, USER, scimStack, type Res, type ScimClient, withEnv } from './support.ts';

const SEED = Number(process.env.MUSTER_FUZZ_SEED ?? 20261123);
const REQUESTS = Number(process.env.MUSTER_FUZZ_REQUESTS ?? 600);

/** mulberry32: small, fast, good enough to explore with */
function prng(seed: number) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  'userName', 'name', 'name.givenName', 'name.familyName', 'displayName', 'nickName', 'title', 'active', 'externalId', 'id',
  'emails', 'emails.value', 'emails.type', 'emails.primary', 'phoneNumbers', 'phoneNumbers.value', 'addresses', 'addresses.locality',
  'ims.value', 'photos', 'roles', 'entitlements.value', 'x509Certificates.value', 'groups', 'groups.value', 'password', 'locale',
  'timezone', 'userType', 'preferredLanguage', 'profileUrl', 'meta', 'meta.created', 'meta.lastModified', 'schemas', 'members',
  'members.value', `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:manager`, `${ENTERPRISE}:manager.value`, `${USER}:userName`,
  'urn:example:custom:1.0:User:badge', 'unknownAttr', 'emails[type eq "work"]', 'emails[type eq "work"].value',
  'emails[primary eq true].value', 'addresses[type eq "work"].streetAddress', '', '.', 'a..b', '[', 'emails[', 'emails]',
];
const VALUES: unknown[] = [
  'x', '', 'José', '"quoted"', 'a\\b', 'ünïcödé 🎉', '\u0000', 'x'.repeat(3_000), 0, -1, 1.5, 1e308, true, false, null, [], [1, 2], {},
  { value: 'a' }, [{ value: 'a@b.example', type: 'work', primary: true }], [{ value: 'a@b.example', primary: true }, { value: 'c@d.example', primary: true }],
  { givenName: 'A', familyName: 'B' }, '2020-01-01T00:00:00Z', 'not-a-date', JSON.parse('{"__proto__": {"polluted": 1}}'), [null], [[]],
  { a: { b: { c: {} } } },
];
const OPERATORS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'EQ', 'xx'];
const LITERALS = ['"x"', '"fz1@fuzz.example"', 'true', 'false', 'null', '42', '-3.5', '"2020-01-01T00:00:00Z"', '"\\"esc\\""', 'bare', '"', '""', '"\\u00e9"', '1e999'];

function generator(rnd: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const filter = (depth = 0): string => {
    const r = rnd();
    if (depth < 3 && r < 0.15) return `(${filter(depth + 1)}) ${pick(['and', 'or', 'AND', 'xor'])} ${filter(depth + 1)}`;
    if (depth < 3 && r < 0.22) return `not (${filter(depth + 1)})`;
    if (depth < 3 && r < 0.3) return `${pick(['emails', 'addresses', 'members', 'groups', 'userName'])}[${filter(depth + 1)}]`;
    const op = pick(OPERATORS);
    return op === 'pr' ? `${pick(PATHS)} pr` : `${pick(PATHS)} ${op} ${pick(LITERALS)}`;
  };
  const user = (): unknown => {
    if (rnd() < 0.05) return pick(VALUES);
    const body: Record<string, unknown> = rnd() < 0.85 ? { schemas: pick([[USER], [USER, ENTERPRISE], [], 'x', [GROUP]]) } : {};
    if (rnd() < 0.9) body.userName = rnd() < 0.85 ? `fz${Math.floor(rnd() * 150)}@fuzz.example` : pick(VALUES);
    if (rnd() < 0.6) {
      Object.assign(body, { name: { givenName: 'Fuzz', familyName: `F${Math.floor(rnd() * 9)}` }, emails: [{ value: `${String(body.userName)}`, type: 'work', primary: true }], active: rnd() < 0.8 });
      body[ENTERPRISE] = { employeeNumber: `E${Math.floor(rnd() * 300)}` };
    }
    for (let i = Math.floor(rnd() * (rnd() < 0.5 ? 1 : 6)); i > 0; i--) body[pick(PATHS)] = pick(VALUES);
    return body;
  };
  const patch = (): unknown => {
    if (rnd() < 0.05) return pick(VALUES);
    const ops = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => {
      const o: Record<string, unknown> = { op: pick(['add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'move', '', 5]) };
      if (rnd() < 0.8) {
        o.path = rnd() < 0.3
          ? `${pick(['emails', 'addresses', 'phoneNumbers', 'members'])}[${filter(2)}]${rnd() < 0.5 ? `.${pick(['value', 'type', 'primary', 'display'])}` : ''}`
          : pick(PATHS);
      }
      if (rnd() < 0.85) o.value = rnd() < 0.2 ? user() : pick(VALUES);
      return o;
    });
    return { schemas: rnd() < 0.9 ? [PATCH_OP] : ['x'], Operations: rnd() < 0.95 ? ops : pick(VALUES) };
  };
  return { pick, filter, user, patch };
}

function isScimError(res: Res): boolean {
  const b = res.body as { schemas?: unknown; status?: unknown } | undefined;
  return Array.isArray(b?.schemas) && b.schemas[0] === ERROR && b.status === String(res.status);
}

describe(`SCIM over HTTP under random requests (seed ${SEED}, ${REQUESTS} requests)`, () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await withEnv({ MUSTER_SCIM_RATE_LIMIT: '100000' }, () => scimStack({}, { uniqueIdentifier: 'employeeNumber' }));
  });
  afterAll(async () => { await c?.stack.stop(); });

  it('never answers 5xx, answers errors in SCIM format, and reads by id agree with filtered reads afterwards', async () => {
    const rnd = prng(SEED);
    const g = generator(rnd);
    const users: string[] = [];
    const groups: string[] = [];
    const problems: string[] = [];
    const someId = (ids: string[]) => (ids.length && rnd() < 0.85 ? g.pick(ids) : g.pick(['nope', '..', '%00', 'x'.repeat(300)]));
    for (let i = 0; i < REQUESTS && problems.length < 5; i++) {
      const k = rnd();
      let method = 'GET';
      let path = '/Users';
      let body: unknown;
      if (k < 0.25) { method = 'POST'; body = g.user(); }
      else if (k < 0.4) { method = 'PATCH'; path = `/Users/${someId(users)}`; body = g.patch(); }
      else if (k < 0.47) { method = 'PUT'; path = `/Users/${someId(users)}`; body = g.user(); }
      else if (k < 0.5) { method = 'DELETE'; path = `/Users/${someId(users)}`; }
      else if (k < 0.62) {
        const q = [`filter=${encodeURIComponent(g.filter())}`];
        if (rnd() < 0.3) q.push(`sortBy=${encodeURIComponent(g.pick(PATHS))}`, `sortOrder=${g.pick(['ascending', 'descending', 'x'])}`);
        if (rnd() < 0.3) q.push(`startIndex=${g.pick(['0', '-1', '1', '2', 'x', '1e9'])}`, `count=${g.pick(['0', '-5', '10', 'x', '100000'])}`);
        if (rnd() < 0.3) q.push(`${g.pick(['attributes', 'excludedAttributes'])}=${encodeURIComponent(`${g.pick(PATHS)},${g.pick(PATHS)}`)}`);
        path = `/Users?${q.join('&')}`;
      } else if (k < 0.67) {
        method = 'POST';
        path = '/Users/.search';
        body = rnd() < 0.9 ? { filter: rnd() < 0.9 ? g.filter() : g.pick(VALUES), attributes: rnd() < 0.3 ? g.pick(VALUES) : undefined, sortBy: rnd() < 0.3 ? g.pick(PATHS) : undefined, startIndex: rnd() < 0.3 ? g.pick(VALUES) : undefined, count: rnd() < 0.3 ? g.pick(VALUES) : undefined } : g.pick(VALUES);
      } else if (k < 0.75) {
        method = g.pick(['POST', 'PATCH', 'PUT']);
        path = method === 'POST' ? '/Groups' : `/Groups/${someId(groups)}`;
        body = method === 'PATCH' ? g.patch() : { schemas: [GROUP], displayName: rnd() < 0.8 ? `G${Math.floor(rnd() * 30)}` : g.pick(VALUES), members: rnd() < 0.7 ? users.slice(0, Math.floor(rnd() * 4)).map((value) => ({ value })) : g.pick(VALUES) };
      } else if (k < 0.8) {
        path = `/Groups?filter=${encodeURIComponent(g.filter())}`;
      } else if (k < 0.86) {
        method = 'POST';
        path = '/Bulk';
        body = {
          schemas: [BULK_REQUEST], failOnErrors: g.pick([undefined, 1, 0, 'x', -1]),
          Operations: Array.from({ length: Math.floor(rnd() * 5) }, (_, j) => ({
            method: g.pick(['POST', 'PUT', 'PATCH', 'DELETE', 'GET', 'x']), bulkId: rnd() < 0.7 ? `b${j}` : g.pick(VALUES),
            path: g.pick(['/Users', `/Users/${someId(users)}`, '/Users/bulkId:b0', '/Groups', '/x', '', g.pick(VALUES)]), data: rnd() < 0.5 ? g.user() : g.patch(),
          })),
        };
      } else if (k < 0.9) {
        path = `/Users/${someId(users)}?${g.pick(['attributes', 'excludedAttributes'])}=${encodeURIComponent(g.pick(PATHS))}`;
      } else if (k < 0.93) {
        path = `/${g.pick(['Schemas', 'ResourceTypes', 'ServiceProviderConfig', `Schemas/${USER}`, 'ResourceTypes/User', 'Me', 'Schemas/x', '.search'])}`;
      } else { method = 'POST'; body = g.user(); }
      const headers: Record<string, string> = {};
      if (rnd() < 0.05) headers['if-match'] = g.pick(['W/"1"', '*', 'garbage', 'W/"0"']);
      if (rnd() < 0.03) headers['content-type'] = g.pick(['text/plain', 'application/json; charset=utf-8', 'application/scim+json;charset=UTF-8', 'multipart/form-data']);
      let raw = body === undefined ? undefined : JSON.stringify(body);
      if (raw !== undefined && rnd() < 0.03) raw = raw.slice(0, Math.floor(raw.length / 2)); // cut short
      const res = await c.req(method, path, raw, headers);
      const where = `request ${i} (seed ${SEED}): ${method} ${path.slice(0, 160)} ${String(raw).slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`;
      if (res.status >= 500 && !(res.status === 501 && path === '/Me')) problems.push(`5xx: ${where}`);
      else if (res.status >= 400 && !isScimError(res)) problems.push(`not a SCIM error: ${where}`);
      const ops = (res.body as { Operations?: Array<{ status?: unknown }> } | undefined)?.Operations;
      if (path === '/Bulk' && ops?.some((o) => String(o.status).startsWith('5'))) problems.push(`bulk 5xx: ${where}`);
      if (res.status === 201 && method === 'POST' && path === '/Users') users.push(res.body.id);
      if (res.status === 201 && method === 'POST' && path === '/Groups') groups.push(res.body.id);
    }
    expect(problems).toEqual([]);
    expect(users.length, 'the run created people (else the stateful paths went unexplored)').toBeGreaterThan(REQUESTS / 40);

    let compared = 0;
    for (const id of users) {
      const one = await c.req('GET', `/Users/${id}`);
      if (one.status === 404) continue;
      expect(one.status, one.text).toBe(200);
      const found = await c.req('GET', `/Users?filter=${encodeURIComponent(`userName eq ${JSON.stringify(one.body.userName)}`)}`);
      expect(found.status, found.text).toBe(200);
      expect(found.body.Resources, `seed ${SEED}: userName filter for ${id}`).toEqual([one.body]);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });
});
