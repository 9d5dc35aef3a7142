/**
 * Embedded event store benchmark.
 *
 *   npx tsx bench/event-store.ts            (or: benchEventStore() from another script)
 *
 * Measures durable appends/s (each append = 1 small event, acknowledged after fdatasync) at
 * concurrency 1 and 64, then writes 1,000,000 small events in big batches and times catch-up
 * reads over all of them (readAll pages and subscribeToAll), plus reopen time and RSS.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventHash, GENESIS_HASH, openEmbeddedEventStore, type CommittedBytes, type EmbeddedEventStore, type NewEvent } from '@muster/event-store';

export interface EventStoreBenchOptions {
  /** seconds per append phase (default 3) */
  appendSeconds?: number;
  /** events written for the catch-up phase (default 1,000,000) */
  catchUpEvents?: number;
  /** events per append in the bulk write (default 1000) */
  bulkBatch?: number;
  /** where to print; defaults to console.log */
  log?: (line: string) => void;
}

export interface EventStoreBenchResult {
  appendsPerSecC1: number;
  appendsPerSecC64: number;
  appendsPerFsyncC64: number;
  bulkEventsPerSec: number;
  reopenMs: number;
  catchUpReadAllPerSec: number;
  catchUpSubscribePerSec: number;
  rssMb: number;
  pass: boolean;
}

const TARGET_C64 = 30_000;
const TARGET_CATCH_UP = 200_000;
const TARGET_RSS_MB = 1024;

let counter = 0;
function smallEvent(): NewEvent {
  const n = counter++;
  return {
    eventId: randomUUID(),
    type: 'MemberUpdated',
    data: { userId: `u-${n}`, email: `user${n}@example.com`, active: n % 7 !== 0 },
    metadata: { source: 'bench' },
  };
}

async function durableAppends(store: EmbeddedEventStore, concurrency: number, seconds: number) {
  const deadline = performance.now() + seconds * 1000;
  const before = store.stats();
  let appends = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < deadline) {
        // concurrency 1: its own stream; otherwise a random one of 10,000
        const stream = concurrency === 1 ? `own-${w}` : `random-${Math.floor(Math.random() * 10_000)}`;
        await store.appendToStream(stream, [smallEvent()]);
        appends++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const syncs = store.stats().syncs - before.syncs;
  return { perSec: appends / elapsed, perFsync: appends / Math.max(1, syncs) };
}

async function bulkWrite(store: EmbeddedEventStore, total: number, batch: number) {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const first = next;
        if (first >= total) return;
        const n = Math.min(batch, total - first);
        next += n;
        await store.appendToStream(`bulk-${(first / batch) % 1000}`, Array.from({ length: n }, smallEvent));
      }
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

async function catchUpReadAll(store: EmbeddedEventStore, expected: number) {
  const start = performance.now();
  let from = -1;
  let count = 0;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: 10_000 });
    if (page.length === 0) break;
    count += page.length;
    from = page[page.length - 1].position;
  }
  if (count !== expected) throw new Error(`readAll saw ${count} events, expected ${expected}`);
  return count / ((performance.now() - start) / 1000);
}

async function catchUpSubscribe(store: EmbeddedEventStore, expected: number) {
  const start = performance.now();
  let count = 0;
  let finish!: () => void;
  const caughtUp = new Promise<void>((r) => (finish = r));
  const sub = store.subscribeToAll({}, () => {
    if (++count === expected) finish();
  });
  await Promise.race([caughtUp, sub.done]);
  const perSec = count / ((performance.now() - start) / 1000);
  await sub.stop();
  if (count !== expected) throw new Error(`subscription saw ${count} events, expected ${expected}`);
  return perSec;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
/** one aligned result line: label, value + unit, and the target with PASS/MISS when there is one */
function row(label: string, value: number, unit: string, target?: { text: string; ok: boolean }, note = ''): string {
  const main = `${label.padEnd(38)}${fmt(value).padStart(10)} ${unit.padEnd(10)}`;
  const goal = target ? `target ${target.text.padEnd(12)} ${verdict(target.ok)}` : ''.padEnd(24);
  return `${main}${goal}${note ? `  ${note}` : ''}`.trimEnd();
}

/**
 * CPU of the whole process (the reader's own work and the thread pool's reads) while a read-only
 * reader takes one commit of three events and reads them, either by refreshing from the file or by
 * ingesting the bytes the writer passed to afterCommit; commits alternate between the two ways.
 */
async function followCommits(dir: string, commits: number): Promise<{ refreshUs: number; ingestUs: number }> {
  let committed: CommittedBytes | null = null;
  const writer = await openEmbeddedEventStore({ dir, hooks: { afterCommit: (_p, c) => { committed = c; } } });
  const reader = await openEmbeddedEventStore({ dir, readOnly: true, pollIntervalMs: 600_000 });
  try {
    const pad = 'x'.repeat(1200);
    const event = (): NewEvent => ({ eventId: randomUUID(), type: 'Followed', data: { pad }, metadata: { bench: true } });
    const spent = { refresh: 0, ingest: 0 };
    let after = -1;
    for (let i = 0; i < commits; i++) {
      await writer.appendToStreams(['a', 'b', 'p'].map((s) => ({ streamId: `${s}-${i}`, events: [event()], expectedRevision: 'no_stream' as const })));
      const way = i % 2 === 0 ? 'refresh' : 'ingest';
      const c0 = process.cpuUsage();
      if (way === 'ingest') await reader.ingest(committed!);
      else await reader.refresh();
      const page = await reader.readAll({ fromPosition: after, maxCount: 1000 });
      const c = process.cpuUsage(c0);
      spent[way] += c.user + c.system;
      if (page.length !== 3) throw new Error(`the reader saw ${page.length} events of a commit of 3`);
      after = page[page.length - 1].position;
    }
    return { refreshUs: spent.refresh / (commits / 2), ingestUs: spent.ingest / (commits / 2) };
  } finally {
    await reader.close();
    await writer.close();
  }
}

/**
 * CPU per SCIM create of the hash chain alone (eventHash of the three events a create writes: the
 * person with its SCIM resource, fields and field changes, and two reservations), by hash version.
 */
function hashPerCreate(version: 1 | 2, creates: number): number {
  const id = randomUUID();
  const scim = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    userName: 'barbara.knuportal.129784@example.org', externalId: '00u56621748fab8d2071', active: true, displayName: 'Barbara Knuportal',
    name: { givenName: 'Barbara', familyName: 'Knuportal' }, emails: [{ value: 'barbara.knuportal.129784@example.org', type: 'work', primary: true }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'E0129784', department: 'Research' },
  };
  const fields = { firstName: 'Barbara', lastName: 'Knuportal', email: scim.userName, displayName: 'Barbara Knuportal', employeeNumber: 'E0129784', primaryEmail: scim.userName, department: 'Research' };
  const person = { personId: id, listId: 'bench-list', scim, fields, status: 'active', fieldChanges: Object.entries(fields).map(([field, to]) => ({ field, from: null, to })) };
  const reservation = { listId: 'bench-list', kind: 'userName', value: scim.userName, ownerId: id };
  const metadata: Record<string, unknown> = {
    eventId: id, version: 1, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: { kind: 'scim-token', id: 'bench-token' },
    source: { kind: 'scim', idp: 'okta', userAgent: 'Okta SCIM Client 1.0.0', requestId: id, method: 'POST', path: '/scim/v2/lists/bench-list/Users', operation: 'CREATE' },
    prevHash: GENESIS_HASH, ...(version === 2 ? { hashVersion: 2 } : {}),
  };
  const c0 = process.cpuUsage();
  for (let i = 0; i < creates; i++) {
    eventHash({ streamId: `person-${id}`, revision: 0, type: 'PersonProvisioned', data: person, metadata, prevHash: GENESIS_HASH });
    eventHash({ streamId: 'uniq-a', revision: 0, type: 'ValueReserved', data: reservation, metadata, prevHash: GENESIS_HASH });
    eventHash({ streamId: 'uniq-b', revision: 0, type: 'ValueReserved', data: reservation, metadata, prevHash: GENESIS_HASH });
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / creates;
}

export async function benchEventStore(options: EventStoreBenchOptions = {}): Promise<EventStoreBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const seconds = options.appendSeconds ?? 3;
  const total = options.catchUpEvents ?? 1_000_000;
  const batch = options.bulkBatch ?? 1000;
  const root = await mkdtemp(join(tmpdir(), 'muster-bench-es-'));
  try {
    log(`embedded event store bench: node ${process.version}, ${availableParallelism()} cpus, ${root}`);

    const appendStore = await openEmbeddedEventStore({ dir: join(root, 'appends') });
    const c1 = await durableAppends(appendStore, 1, seconds);
    log(row('durable appends, concurrency 1', c1.perSec, 'appends/s', undefined, 'one fsync per append'));
    const c64 = await durableAppends(appendStore, 64, seconds);
    log(
      row('durable appends, concurrency 64', c64.perSec, 'appends/s', { text: `>= ${fmt(TARGET_C64)}`, ok: c64.perSec >= TARGET_C64 },
        `${c64.perFsync.toFixed(1)} appends per fsync`),
    );
    await appendStore.close();

    // a read-only reader following a writer commit by commit, as the projector thread does
    const follow = await followCommits(join(root, 'follow'), 2_000);
    log(row('reader per commit: refresh from the file', follow.refreshUs, 'µs CPU', undefined, 'stat + scan read + payload read; 3 events of ~1.3 KB'));
    log(row('reader per commit: ingest the commit bytes', follow.ingestUs, 'µs CPU', undefined, `the writer's afterCommit bytes, payloads read from memory`));

    // the hash chain's share of a durable write (withHashChain computes it for every event appended)
    hashPerCreate(1, 20_000); // warm-up
    hashPerCreate(2, 20_000);
    log(row('hash chain per SCIM create, version 1', hashPerCreate(1, 100_000), 'µs CPU', undefined, 'three events (person ~1.5 KB, two reservations); key-sorted canonical JSON'));
    log(row('hash chain per SCIM create, version 2', hashPerCreate(2, 100_000), 'µs CPU', undefined, 'the same events; their JSON text as written (since the fourteenth session)'));

    const dir = join(root, 'catch-up');
    const writer = await openEmbeddedEventStore({ dir });
    const bulk = await bulkWrite(writer, total, batch);
    log(row(`bulk write of ${fmt(total)} events`, bulk, 'events/s', undefined, `batches of ${batch}`));
    await writer.close();

    const reopenStart = performance.now();
    const store = await openEmbeddedEventStore({ dir });
    const reopenMs = performance.now() - reopenStart;
    log(row(`reopen (recover + index ${fmt(total)})`, reopenMs, 'ms'));

    const readAllRate = await catchUpReadAll(store, total);
    const catchUpTarget = `>= ${fmt(TARGET_CATCH_UP)}`;
    log(row('catch-up readAll, pages of 10,000', readAllRate, 'events/s', { text: catchUpTarget, ok: readAllRate >= TARGET_CATCH_UP }));
    const subscribeRate = await catchUpSubscribe(store, total);
    log(row('catch-up subscribeToAll', subscribeRate, 'events/s', { text: catchUpTarget, ok: subscribeRate >= TARGET_CATCH_UP }));
    const rssMb = process.memoryUsage().rss / 1024 / 1024;
    log(row(`RSS with ${fmt(total)} events indexed`, rssMb, 'MB', { text: `< ${fmt(TARGET_RSS_MB)} MB`, ok: rssMb < TARGET_RSS_MB }));
    await store.close();

    const pass =
      c64.perSec >= TARGET_C64 && readAllRate >= TARGET_CATCH_UP && subscribeRate >= TARGET_CATCH_UP && rssMb < TARGET_RSS_MB;
    log(pass ? 'overall: PASS' : 'overall: MISS');
    return {
      appendsPerSecC1: c1.perSec,
      appendsPerSecC64: c64.perSec,
      appendsPerFsyncC64: c64.perFsync,
      bulkEventsPerSec: bulk,
      reopenMs,
      catchUpReadAllPerSec: readAllRate,
      catchUpSubscribePerSec: subscribeRate,
      rssMb,
      pass,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  benchEventStore().then(
    (r) => process.exit(r.pass ? 0 : 1),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
