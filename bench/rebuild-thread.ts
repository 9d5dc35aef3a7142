/**
 * The rebuild bench's measurement, run in a worker thread with the projector thread's heap limits
 * (PROJECTOR_THREAD_LIMITS): `npm start` rebuilds its read models there, so the figure is the one
 * an operator gets. Rebuilds the log in `dir` into a fresh in-memory read store and reports.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openEmbeddedEventStore } from '@muster/event-store/embedded';
import { createMemoryReadStore } from '@muster/read-store/memory';
import { rebuildProjections, type RebuildResult } from '@muster/projector';

export interface RebuildThreadResult { result: RebuildResult; cpuS: number; heapMb: number }

const { dir, batchSize } = workerData as { dir: string; batchSize: number };
const store = await openEmbeddedEventStore({ dir, readOnly: true });
try {
  const readStore = createMemoryReadStore();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const result = await rebuildProjections({ store, readStore, batchSize });
  const cpu = process.cpuUsage(cpu0);
  const heapMb = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6);
  await readStore.close();
  parentPort!.postMessage({ result, cpuS: (cpu.user + cpu.system) / 1e6, heapMb } satisfies RebuildThreadResult);
} finally {
  await store.close();
}
