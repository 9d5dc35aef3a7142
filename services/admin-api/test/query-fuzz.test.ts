/**
 * Property-based fuzzing (fast-check) of the admin API's query parameters, through the running
 * stack (Fastify inject: routing, validation, handlers, serialisation): the people query (status,
 * free text, eq./contains. filters, sort, cursor, point in time), the provisioning log's filters,
 * the audit export's, and the listings' `after`. Keys and values come from what the routes accept,
 * mutated, plus raw query strings with broken percent-encoding. The property: every answer is 200
 * or 400, and a 400 is `{"error": {code, message}}`; never a 5xx, never another shape.
 *
 * `npm test` runs MUSTER_FUZZ_RUNS (default 2,000) requests; `npm run fuzz` runs 100,000.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { createUser, expectStatus, scimList } from './support.ts';

const RUNS = Number(process.env.MUSTER_FUZZ_RUNS ?? 2_000);
const SEED = process.env.MUSTER_FUZZ_SEED ? Number(process.env.MUSTER_FUZZ_SEED) : undefined;

let s: Stack;
let listId: string;
let personId: string;
beforeAll(async () => {
  s = await startStack();
  const l = await scimList(s, { name: 'Fuzzed' });
  listId = l.id;
  personId = await createUser(s, l, 'ada', { title: 'Analyst' });
  await createUser(s, l, 'bob');
  expectStatus(await s.admin('POST', `/lists/${listId}/fields`, { key: 'house', label: 'House', type: 'enum', enumValues: ['Red', 'Blue'] }), 201);
});
afterAll(async () => { await s?.stop(); });

const FIELDS = ['firstName', 'lastName', 'email', 'jobTitle', 'house', 'employeeNumber', 'nope', 'constructor', '__proto__', 'x'];
const KEYS = [
  'status', 'q', 'sort', 'order', 'limit', 'cursor', 'after', 'asOf', ...FIELDS.flatMap((f) => [`eq.${f}`, `contains.${f}`]),
  'operation', 'source', 'runId', 'changesetId', 'importId', 'personId', 'person', 'from', 'to', 'listId', 'type', 'eq.', 'contains', 'eq.1x', 'unknown',
];
const VALUES = [
  'active', 'inactive', 'all', 'ACTIVE', '', 'asc', 'desc', '0', '1', '50', '500', '501', '-1', '1e3', '1.5', 'NaN', 'Infinity', '99999999999999999999',
  'CREATE', 'UPDATE,DEACTIVATE', 'CREATE,,', 'SUCCESS', 'FAILED', 'scim', 'entra', 'csv', '2026-01-01T00:00:00Z', '2026-13-45T99:99:99Z', '2026-01-01',
  'Red', 'ada', 'a'.repeat(300), '\u0000', '💥', '%', '"', "'", '[', '{"$gt":""}', '$where', '.*', '(', 'true', 'null', 'undefined',
];
const key = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
const value = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...VALUES) }, { weight: 2, arbitrary: fc.string({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: 'binary' }) });
/** a query string: encoded pairs, sometimes a key twice, sometimes raw bytes and broken escapes */
const query = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom('%', '%zz', '%e2%82', '&', '=', '==', '&&', '+', 'eq.firstName=', 'limit=', 'status'), fc.string({ maxLength: 4 })), { maxLength: 8 }).map((a) => a.join('')) },
);
const endpoint = fc.constantFrom(
  () => `/lists/${listId}/people`, () => `/lists/${listId}/provisioning-log`, () => '/audit/events', () => `/lists/${listId}/changesets`,
  () => `/lists/${listId}/imports`, () => '/lists', () => `/lists/${listId}/people/${personId}`, () => `/lists/${listId}/groups`, () => '/audit/head',
);

describe(`fuzzed admin API query parameters (${RUNS.toLocaleString('en')} requests)`, () => {
  it('every answer is 200 or a 400 in the admin error shape', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(fc.asyncProperty(endpoint, query, async (path, q) => {
      const res = await s.admin('GET', `${path()}?${q}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 200) return;
      expect(res.status, `${path()}?${q} → ${res.text.slice(0, 300)}`).toBe(400);
      expect(res.body?.error, `${path()}?${q} → ${res.text.slice(0, 300)}`).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
      expect(res.text).not.toMatch(/FST_|\n\s+at /);
    }), { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) });
    // the runs reached both answers (a fuzz that only ever got 400s would prove little)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 20);
    if (process.env.MUSTER_FUZZ_REPORT) console.log(`admin query fuzz: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  }, 900_000);
});
