/**
 * Issue 5 over HTTP on the one-process runtime: the auditor role, the NDJSON event stream, the log
 * head digest and verification, point-in-time rosters, the projection rebuild endpoint and the
 * projector's lag on /healthz.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logDigest } from '@muster/event-store';
import { OPERATOR, startStack, ADMIN, type Stack } from './helpers.ts';

let s: Stack;
let listId: string;
let otherListId: string;
const people: Record<string, string> = {};
let t1: string;
let t2: string;
const tokens: Record<string, string> = {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ndjson(path: string, token = ADMIN) {
  const res = await fetch(`${s.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const lines = res.ok ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) : [];
  return { status: res.status, contentType: res.headers.get('content-type'), lines, text };
}

beforeAll(async () => {
  s = await startStack();
  const list = await s.admin('POST', '/lists', { name: 'Staff' });
  listId = list.body.id;
  for (const key of ['firstName', 'lastName', 'department']) {
    expect((await s.admin('POST', `/lists/${listId}/fields`, { key, label: key, type: 'text' })).status).toBe(201);
  }
  for (const [first, last, department] of [['Ada', 'Lovelace', 'Engineering'], ['Grace', 'Hopper', 'Engineering'], ['Linus', 'Torvalds', 'Ops']]) {
    const res = await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: first, lastName: last, department } });
    expect(res.status).toBe(201);
    people[first] = res.body.id;
  }
  await sleep(15);
  t1 = new Date().toISOString();
  await sleep(15);
  expect((await s.admin('PATCH', `/lists/${listId}/people/${people.Grace}`, { status: 'inactive' })).status).toBe(200);
  expect((await s.admin('PATCH', `/lists/${listId}/people/${people.Ada}`, { fields: { department: 'Research' } })).status).toBe(200);
  const margaret = await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Margaret', lastName: 'Hamilton', department: 'Engineering' } });
  people.Margaret = margaret.body.id;
  await sleep(15);
  t2 = new Date().toISOString();

  // another organisation with a list of its own
  expect((await s.admin('POST', '/organisations', { id: 'other', name: 'Other' })).status).toBe(201);
  otherListId = (await s.admin('POST', '/lists', { name: 'Other staff', orgId: 'other' })).body.id;
  for (const role of ['auditor', 'admin', 'viewer', 'owner']) {
    const res = await s.admin('POST', '/organisations/default/admin-tokens', { role });
    expect(res.status).toBe(201);
    tokens[role] = res.body.token;
  }
});
afterAll(async () => { await s?.stop(); });

describe('roles', () => {
  it('an auditor token reads and exports but every write is 403', async () => {
    const a = tokens.auditor;
    expect((await s.admin('GET', '/lists', undefined, a)).status).toBe(200);
    expect((await s.admin('GET', `/lists/${listId}/people`, undefined, a)).body.total).toBe(4);
    expect((await ndjson('/audit/events', a)).status).toBe(200);
    expect((await s.admin('GET', '/audit/head', undefined, a)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/lists', { name: 'nope' }],
      ['POST', `/lists/${listId}/people`, { fields: { firstName: 'X' } }],
      ['PATCH', `/lists/${listId}/people/${people.Ada}`, { status: 'inactive' }],
      ['POST', `/lists/${listId}/fields`, { key: 'x', label: 'x', type: 'text' }],
      ['POST', '/admin/projections/rebuild', {}],
    ] as const) {
      const res = await s.admin(method, path, body, a);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
  });

  it('admin and viewer tokens cannot export or read the audit head; an organisation owner can, but cannot rebuild', async () => {
    for (const role of ['admin', 'viewer']) {
      expect((await ndjson('/audit/events', tokens[role])).status, role).toBe(403);
      expect((await s.admin('GET', '/audit/head', undefined, tokens[role])).status, role).toBe(403);
      expect((await s.admin('GET', '/audit/verify', undefined, tokens[role])).status, role).toBe(403);
    }
    expect((await ndjson('/audit/events', tokens.owner)).status).toBe(200);
    expect((await s.admin('POST', '/admin/projections/rebuild', {}, tokens.owner)).status).toBe(403);
  });

  it("an organisation's auditor sees only its organisation's events", async () => {
    const { lines } = await ndjson('/audit/events', tokens.auditor);
    expect(lines.some((l) => l.data.listId === listId)).toBe(true);
    expect(lines.some((l) => l.data.listId === otherListId || l.data.orgId === 'other')).toBe(false);
    expect((await ndjson(`/audit/events?listId=${otherListId}`, tokens.auditor)).status).toBe(404);
    const all = await ndjson('/audit/events');
    expect(all.lines.some((l) => l.data.listId === otherListId)).toBe(true);
  });
});

describe('GET /audit/events', () => {
  it('streams every event as NDJSON with its envelope and metadata intact', async () => {
    const res = await ndjson('/audit/events');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^application\/x-ndjson/);
    expect(res.text.endsWith('\n')).toBe(true);
    const stored = await s.running.adapters.store.readAll();
    const exported = res.lines.filter((l) => l.position <= stored[stored.length - 1].position);
    expect(exported.map((l) => l.position)).toEqual(stored.map((e) => e.position));
    const e = stored.find((x) => x.type === 'PersonCreated')!;
    const line = exported.find((l) => l.position === e.position)!;
    expect(line).toEqual({ position: e.position, stream: e.streamId, revision: e.revision, type: e.type, data: e.data, ...e.metadata });
    expect(line).toMatchObject({ eventId: expect.any(String), occurredAt: expect.any(String), hash: expect.stringMatching(/^[0-9a-f]{64}$/), prevHash: expect.any(String), actor: { kind: 'admin' } });
  });

  it('filters by list, person, event types and time', async () => {
    const byList = (await ndjson(`/audit/events?listId=${listId}`)).lines;
    expect(byList.length).toBeGreaterThan(5);
    expect(byList.every((l) => l.data.listId === listId)).toBe(true);
    expect(byList.map((l) => l.type)).toEqual(expect.arrayContaining(['ListCreated', 'FieldAdded', 'PersonCreated', 'Deactivated', 'AttributesChanged']));

    const byTypes = (await ndjson(`/audit/events?listId=${listId}&type=PersonCreated&type=Deactivated`)).lines;
    expect(byTypes.map((l) => l.type).sort()).toEqual(['Deactivated', 'PersonCreated', 'PersonCreated', 'PersonCreated', 'PersonCreated']);

    const byPerson = (await ndjson(`/audit/events?personId=${people.Grace}`)).lines;
    expect(byPerson.map((l) => l.type)).toEqual(['PersonCreated', 'Deactivated']);
    expect(byPerson.every((l) => l.stream === `person-${people.Grace}`)).toBe(true);

    const window = (await ndjson(`/audit/events?listId=${listId}&from=${encodeURIComponent(t1)}&to=${encodeURIComponent(t2)}`)).lines;
    expect(window.map((l) => l.type).sort()).toEqual(['AttributesChanged', 'Deactivated', 'PersonCreated']);
    expect(window.every((l) => l.occurredAt >= t1 && l.occurredAt <= t2)).toBe(true);

    expect((await ndjson('/audit/events?from=yesterday')).status).toBe(400);
  });
});

describe('tamper evidence over HTTP', () => {
  it('GET /audit/head gives the head position and the digest of the whole log up to it; ?position= recomputes an older one', async () => {
    const store = s.running.adapters.store;
    const head1 = await s.admin('GET', '/audit/head');
    expect(head1.status).toBe(200);
    expect(head1.body).toEqual(await logDigest(store));
    await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Barbara', lastName: 'Liskov' } });
    const head2 = await s.admin('GET', '/audit/head');
    expect(head2.body.position).toBeGreaterThan(head1.body.position);
    expect(head2.body).toEqual(await logDigest(store));
    const again = await s.admin('GET', `/audit/head?position=${head1.body.position}`);
    expect(again.body).toEqual(head1.body);
    expect((await s.admin('GET', `/audit/head?position=${head2.body.position + 100}`)).status).toBe(400);
  });

  it('GET /audit/verify walks the hash chain', async () => {
    const res = await s.admin('GET', '/audit/verify');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, eventsChecked: (await s.running.adapters.store.headPosition()) + 1 });
    // an organisation's auditor: its own streams only (the install's count does not leak)
    const own = await s.admin('GET', '/audit/verify', undefined, tokens.auditor);
    const { lines } = await ndjson('/audit/events', tokens.auditor);
    expect(own.body).toEqual({ ok: true, eventsChecked: lines.length, scope: 'organisation' });
    expect(lines.length).toBeLessThan(res.body.eventsChecked);
  });
});

describe('point in time: GET /lists/{id}/people?asOf=', () => {
  const q = (params: string) => s.admin('GET', `/lists/${listId}/people?${params}`);

  it('returns the roster as it was, from the events up to that time', async () => {
    const then = await q(`asOf=${encodeURIComponent(t1)}`);
    expect(then.status).toBe(200);
    expect(then.body.total).toBe(3);
    expect(then.body.asOf).toBe(t1);
    expect(then.body.items.map((p: any) => [p.fields.firstName, p.status, p.fields.department])).toEqual([
      ['Ada', 'active', 'Engineering'], ['Grace', 'active', 'Engineering'], ['Linus', 'active', 'Ops'],
    ]);
    const before = await q(`asOf=${encodeURIComponent('2000-01-01T00:00:00Z')}`);
    expect(before.body).toMatchObject({ total: 0, items: [] });
  });

  it('applies the same filters, sort and cursor as the live roster', async () => {
    const names = (r: { body: any }) => r.body.items.map((p: any) => p.fields.firstName);
    expect(names(await q(`asOf=${encodeURIComponent(t1)}&status=inactive`))).toEqual([]);
    expect(names(await q(`asOf=${encodeURIComponent(t2)}&status=inactive`))).toEqual(['Grace']);
    expect(names(await q(`asOf=${encodeURIComponent(t1)}&q=LOVE`))).toEqual(['Ada']);
    expect(names(await q(`asOf=${encodeURIComponent(t1)}&eq.department=Engineering`))).toEqual(['Ada', 'Grace']);
    expect(names(await q(`asOf=${encodeURIComponent(t2)}&eq.department=Engineering`))).toEqual(['Grace', 'Margaret']);
    expect(names(await q(`asOf=${encodeURIComponent(t2)}&contains.department=SEAR`))).toEqual(['Ada']);
    const page1 = await q(`asOf=${encodeURIComponent(t2)}&sort=lastName&order=desc&limit=3`);
    expect(names(page1)).toEqual(['Linus', 'Ada', 'Grace']);
    expect(page1.body.total).toBe(4);
    const page2 = await q(`asOf=${encodeURIComponent(t2)}&sort=lastName&order=desc&limit=3&cursor=${page1.body.nextCursor}`);
    expect(names(page2)).toEqual(['Margaret']);
    expect(page2.body.nextCursor).toBeNull();
    expect((await q(`asOf=${encodeURIComponent(t1)}&eq.nope=1`)).status).toBe(400);
    expect((await q('asOf=last-tuesday')).status).toBe(400);
  });

  it('as of now it matches the live roster item for item', async () => {
    const now = new Date(Date.now() + 1_000).toISOString();
    const live = await q('sort=lastName&limit=50');
    const history = await q(`sort=lastName&limit=50&asOf=${encodeURIComponent(now)}`);
    expect(history.body.items).toEqual(live.body.items);
    expect(history.body.total).toBe(live.body.total);
  });
});

describe('projection rebuild endpoint and health', () => {
  it('POST /admin/projections/rebuild (install-wide owner) rebuilds and switches over; queries answer the same', async () => {
    const before = await s.admin('GET', `/lists/${listId}/people?sort=lastName`);
    const lists = await s.admin('GET', `/lists/${listId}`);
    const res = await s.admin('POST', '/admin/projections/rebuild', { wait: true });
    expect(res.status).toBe(200);
    const head = await s.running.adapters.store.headPosition();
    expect(res.body).toMatchObject({ state: 'done', position: head, events: head + 1, alreadyRunning: false });
    expect((await s.admin('GET', '/admin/projections/rebuild')).body).toMatchObject({ id: res.body.id, state: 'done' });
    expect((await s.admin('GET', `/lists/${listId}/people?sort=lastName`)).body).toEqual(before.body);
    expect((await s.admin('GET', `/lists/${listId}`)).body).toEqual(lists.body);
    // the projector carries on with the new collections
    const created = await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Frances', lastName: 'Allen' } });
    expect((await s.admin('GET', `/lists/${listId}/people?after=${created.body.position}&q=allen`)).body.total).toBe(1);
    const started = await s.admin('POST', '/admin/projections/rebuild', {});
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ id: expect.any(String), state: 'running' });
  });

  it('/healthz shows the projector position, head, lag percentiles and the last rebuild', async () => {
    await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Radia', lastName: 'Perlman' } });
    await sleep(50);
    const res = await fetch(`${s.url}/healthz`, OPERATOR);
    const body = await res.json();
    expect(body.services.projector).toMatchObject({
      ready: true, position: expect.any(Number), head: expect.any(Number), lagEvents: expect.any(Number), error: null,
      lagMs: { p50: expect.any(Number), p99: expect.any(Number), samples: expect.any(Number) },
      rebuild: { id: expect.any(String) },
    });
    expect(body.services.projector.lagMs.samples).toBeGreaterThan(5);
  });
});
