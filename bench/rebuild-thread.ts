/**
 * The rebuild bench's measurement, run in a worker thread with the projector thread's heap limits
 * (PROJECTOR_THREAD_LIMITS): `npm start` rebuilds its read models there, so the figure is the one
 * an operator gets. Rebuilds the log in `dir` into a fresh in-memory read store and reports.
 * Then it only reads the log (every event read and decoded, in pages as the rebuild reads them,
 * nothing projected): the floor under any rebuild of this log.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openEmbeddedEventStore } from '@muster/event-store/embedded';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { MEMORY_INDEX_HINTS } from '@muster/read-models';
import { rebuildProjections } from '@muster/projector';
import type { RebuildResult } from '@muster/read-models';
import { peopleAsOf } from '../services/admin-api/src/history.ts';

export interface RebuildThreadResult {
  result: RebuildResult; cpuS: number; heapMb: number; readOnly: { events: number; ms: number };
  /** a point-in-time roster (GET /lists/{id}/people?asOf=) of one list over the rebuilt read models */
  asOf: { listId: string; people: number; ms: number; cpuS: number };
}

const { dir, batchSize } = workerData as { dir: string; batchSize: number };
const store = await openEmbeddedEventStore({ dir, readOnly: true });
try {
  const readStore = createMemoryReadStore({ indexHints: MEMORY_INDEX_HINTS });
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const result = await rebuildProjections({ store, readStore, batchSize });
  const cpu = process.cpuUsage(cpu0);
  const heapMb = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6);
  // the point-in-time roster of one list (the admin API's history.ts, as its route runs it)
  const listId = 'bench-list-3';
  const a0 = performance.now();
  const ac0 = process.cpuUsage();
  const roster = await peopleAsOf(store, readStore, { listId, fields: [{ key: 'lastName' }] }, {
    status: 'all', order: 'asc', limit: 50, sort: 'lastName', asOf: new Date(Date.now() + 60_000).toISOString(),
  });
  const ac = process.cpuUsage(ac0);
  const asOf = { listId, people: roster.total, ms: Math.round(performance.now() - a0), cpuS: (ac.user + ac.system) / 1e6 };
  await readStore.close();
  // then only read (after the rebuild, so that the heap figure above is the rebuild's alone)
  const r0 = performance.now();
  let readEvents = 0;
  for (let after = -1; ;) {
    const page = await store.readAll({ fromPosition: after, maxCount: batchSize });
    if (page.length === 0) break;
    readEvents += page.length;
    after = page[page.length - 1].position;
  }
  const readOnly = { events: readEvents, ms: Math.round(performance.now() - r0) };
  parentPort!.postMessage({ result, cpuS: (cpu.user + cpu.system) / 1e6, heapMb, readOnly, asOf } satisfies RebuildThreadResult);
} finally {
  await store.close();
}
