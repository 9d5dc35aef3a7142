/**
 * Restart time of `npm start` at a large log: a 1,000,000-event embedded log of 100,000 people on
 * one SCIM-connected list (each provisioned, then changed nine times over SCIM), generated once
 * (BENCH_RESTART_DIR keeps it between runs). Figures:
 *   - a cold start (no read-model snapshot: the read models are built from the whole log);
 *   - a restart after a clean stop (the snapshot written at the stop is loaded, then caught up):
 *     time to /healthz green and to the first SCIM filtered GET answered (target < 5 s);
 *   - the snapshot's size and write time, and the pause on the HTTP thread while one is written
 *     under a SCIM GET load (p99 of the GETs during the write, target < 50 ms);
 *   - a restart after 10,000 events written since the last snapshot and a kill -9 (target < 6 s).
 */
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streams } from '@muster/contracts';
import { DEFAULT_FIELDS, defaultMappings, reservationStream } from '@muster/domain';
import { openEmbeddedEventStore, type NewEvent } from '@muster/event-store';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, appendAll, figure, freePort, load, spawnNode, waitFor, type Figure } from './harness.ts';

export const LIST = 'restart-bench-list';
const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];
const DEPTS = ['Engineering', 'Research', 'Operations', 'Sales', 'Finance', 'Legal', 'Support', 'Marketing'];

function meta(at: number, operation: string): Record<string, unknown> {
  const id = randomUUID();
  return {
    eventId: id, version: 1, occurredAt: new Date(at).toISOString(), correlationId: id, causationId: id, actor: { kind: 'scim-token', id: 'bench-token' },
    source: { kind: 'scim', idp: 'okta', userAgent: 'Okta SCIM Client 1.0.0', requestId: id, method: operation === 'CREATE' ? 'POST' : 'PATCH', path: `/scim/v2/lists/${LIST}/Users`, operation },
  };
}

/** one person: the userName reserved, provisioned, then eight changes of title or department (10 events) */
function personStreams(i: number, at: number): Array<{ stream: string; events: NewEvent[] }> {
  const personId = randomUUID();
  const first = FIRST[i % FIRST.length];
  const last = `Family${i}`;
  const userName = `user${i}@bench.example`;
  let scim: Record<string, unknown> = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, displayName: `${first} ${last}`,
    name: { givenName: first, familyName: last }, emails: [{ value: userName, type: 'work', primary: true }],
  };
  let fields: Record<string, unknown> = { firstName: first, lastName: last, email: userName, displayName: `${first} ${last}`, primaryEmail: userName };
  const e = (type: string, data: Record<string, unknown>, op: string): NewEvent => { const m = meta(at, op); return { eventId: m.eventId as string, type, data, metadata: m }; };
  const events: NewEvent[] = [e('PersonProvisioned', {
    personId, listId: LIST, scim, fields, status: 'active', fieldChanges: Object.entries(fields).map(([field, v]) => ({ field, old: null, new: v })),
  }, 'CREATE')];
  for (let k = 1; k <= 8; k++) {
    const title = `Title ${k}`;
    const dept = DEPTS[(i + k) % DEPTS.length];
    scim = { ...scim, title, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: dept } };
    const next = { ...fields, jobTitle: title, department: dept };
    events.push(e('AttributesChanged', {
      personId, listId: LIST, scim, scimChanges: [{ path: 'title', old: k > 1 ? `Title ${k - 1}` : null, new: title }], fields: next,
      fieldChanges: [{ field: 'jobTitle', old: fields.jobTitle ?? null, new: title }, { field: 'department', old: fields.department ?? null, new: dept }], cause: 'idp',
    }, 'UPDATE'));
    fields = next;
  }
  const r = meta(at, 'CREATE');
  return [
    { stream: reservationStream({ listId: LIST, kind: 'userName', value: userName }), events: [{ eventId: r.eventId as string, type: 'ValueReserved', data: { listId: LIST, kind: 'userName', value: userName, ownerId: personId }, metadata: r }] },
    { stream: streams.person(personId), events },
  ];
}


/** the log: the list, SCIM connected, then `people` people of 10 events each */
export async function generateLog(eventsDir: string, people: number, log: (l: string) => void): Promise<void> {
  const store = await openEmbeddedEventStore({ dir: eventsDir });
  try {
    const want = 2 + people * 10;
    const head = (await store.headPosition()) + 1;
    if (head === want) return;
    if (head > 0) throw new Error(`${eventsDir} holds a log of ${head} events, not ${want}; remove it`);
    const t0 = performance.now();
    const at = Date.now() - 86_400_000;
    const m = (type: string, data: Record<string, unknown>): NewEvent => { const x = meta(at, 'CONNECT'); return { eventId: x.eventId as string, type, data, metadata: { ...x, actor: { kind: 'admin', id: 'bootstrap' }, source: { kind: 'admin-api' } } }; };
    await store.appendToStream(streams.list(LIST), [
      m('ListCreated', { listId: LIST, orgId: 'default', name: 'Restart bench' }),
      m('ScimConnected', { listId: LIST, uniqueIdentifier: 'userName', fieldsAdded: DEFAULT_FIELDS, mappings: defaultMappings() }),
    ], { expectedRevision: 'no_stream' });
    function* gen() { for (let i = 0; i < people; i++) yield* personStreams(i, at); }
    await appendAll(store, gen());
    log(`generated ${(await store.headPosition()) + 1} events (${people} people × 10) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await store.close();
  }
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir, { withFileTypes: true }).catch(() => [])) n += f.isDirectory() ? await dirBytes(join(dir, f.name)) : (await stat(join(dir, f.name))).size;
  return n;
}

export async function benchRestart(opts: { people?: number } = {}): Promise<void> {
  const people = opts.people ?? Number(process.env.BENCH_RESTART_PEOPLE ?? 100_000);
  const log = (l: string) => console.log(l);
  // the generated log is kept (BENCH_RESTART_DIR) and copied for each run, which writes to it
  const keep = process.env.BENCH_RESTART_DIR;
  const logDir = keep ?? (await mkdtemp(join(tmpdir(), 'muster-bench-restart-log-')));
  await generateLog(join(logDir, 'events'), people, log);
  const dataDir = await mkdtemp(join(tmpdir(), 'muster-bench-restart-'));
  await cp(join(logDir, 'events'), join(dataDir, 'events'), { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '', LOG_LEVEL: 'warn', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000' };
  const start = () => spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], env);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stop = async (srv: ReturnType<typeof start>, signal: NodeJS.Signals) => { srv.child.kill(signal); await new Promise((r) => srv.child.once('exit', r)); };
  let token = '';
  /** from spawn to /healthz green, and to the first SCIM filtered GET answered */
  const timedStart = async () => {
    const t0 = performance.now();
    const srv = start();
    await waitFor(`${base}/healthz`, srv.child, srv.out);
    const healthy = performance.now() - t0;
    let firstGet = NaN;
    if (token) {
      const res = await fetch(`${base}/scim/v2/lists/${LIST}/Users?filter=${encodeURIComponent('userName eq "user4242@bench.example"')}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { totalResults?: number };
      if (res.status !== 200 || body.totalResults !== 1) throw new Error(`first GET: ${res.status} ${JSON.stringify(body)}`);
      firstGet = performance.now() - t0;
    }
    return { srv, healthy, firstGet };
  };
  try {
    const cold = await timedStart();
    token = (await api('POST', `/lists/${LIST}/sync/scim/tokens`, {})).token;
    log(`cold start (no snapshot, read models built from ${2 + people * 10} events): /healthz green after ${(cold.healthy / 1000).toFixed(1)} s`);
    await stop(cold.srv, 'SIGTERM');
    log(`snapshot written at the clean stop: ${((await dirBytes(join(dataDir, 'snapshots'))) / 1024 / 1024).toFixed(0)} MB on disk`);

    const warm = await timedStart();
    log(`restart after a clean stop: /healthz green after ${(warm.healthy / 1000).toFixed(2)} s, first SCIM filtered GET answered after ${(warm.firstGet / 1000).toFixed(2)} s`);

    // a snapshot written under a GET load: the GETs' p99 while it is written (once the provisioning log, loaded after the start, is in)
    for (;;) {
      const h = (await (await fetch(`${base}/healthz`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as any;
      if (h.services?.projector?.snapshots?.loadedLater?.pending === false) { log(`provisioning log loaded after the start: ${JSON.stringify(h.services.projector.snapshots.loadedLater)}`); break; }
      await new Promise((r) => setTimeout(r, 200));
    }
    const getLoad = (s: number) => load({
      url: base, connections: 16, duration: s,
      requests: [{ method: 'GET', path: '/', headers: { authorization: `Bearer ${token}` }, setupRequest: (req) => ({ ...req, path: `/scim/v2/lists/${LIST}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * people)}@bench.example"`)}` }) }],
    }, warm.srv.child.pid);
    const idle = figure('GET filter userName, idle', 16, await getLoad(3), 0);
    let written: any = null;
    const writing = (async () => { await new Promise((r) => setTimeout(r, 300)); written = await api('POST', '/admin/read-models/snapshot'); })();
    const during = figure('GET filter userName, while a snapshot is written', 16, await getLoad(5), 0);
    await writing;
    log(`snapshot write under load: ${JSON.stringify(written)}`);
    const figures: Figure[] = [idle, during];
    console.log('scenario                                            conns    req/s   p50 ms   p99 ms  errors  non2xx');
    for (const f of figures) console.log(`${f.scenario.padEnd(51)} ${String(f.connections).padStart(5)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(7)}`);

    // 10,000 events after the last snapshot, then kill -9
    let seq = 0;
    const S = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    await load({
      url: base, connections: 16, amount: 10_000,
      requests: [{ method: 'POST', path: `/scim/v2/lists/${LIST}/Users`, headers: S, setupRequest: (req) => { const i = seq++; return { ...req, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `late${i}@bench.example`, active: true }) }; } }],
    });
    await stop(warm.srv, 'SIGKILL');
    const after = await timedStart();
    log(`restart after 10,000 events since the snapshot and a kill -9: /healthz green after ${(after.healthy / 1000).toFixed(2)} s, first SCIM filtered GET answered after ${(after.firstGet / 1000).toFixed(2)} s`);
    await stop(after.srv, 'SIGTERM');
    console.log(`targets: restart to healthz + first filtered GET < 5 s → ${(warm.firstGet / 1000).toFixed(2)} s: ${warm.firstGet < 5_000 ? 'PASS' : 'MISS'}; snapshot write pause p99 < 50 ms → ${during.p99} ms (idle ${idle.p99} ms): ${during.p99 < 50 ? 'PASS' : 'MISS'}; restart after 10,000 more events < 6 s → ${(after.firstGet / 1000).toFixed(2)} s: ${after.firstGet < 6_000 ? 'PASS' : 'MISS'}`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (!keep) await rm(logDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--generate') await generateLog(join(process.argv[3], 'events'), Number(process.argv[4] ?? 100_000), (l) => console.log(l));
  else await benchRestart();
}
