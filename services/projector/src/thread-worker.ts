/**
 * The projector's worker thread (see thread.ts): owns the in-memory read store and the projector
 * that fills it, reading the embedded log read-only. The main thread uses the read store through
 * remote calls on this thread's port and wakes the log reader after every commit.
 *
 * Messages in:  { t: 'rs', ... }                     a read-store call (answered by serveReadStore)
 *               { t: 'appended', position, fileOffset?, bytes? }
 *                                                      the writer committed up to `position` (with the bytes it wrote)
 *               { t: 'ctl', id, op, ... }              waitFor | rebuild | stop (answered by 'ctl-answer')
 * Messages out: { t: 'status', ready, health }         on start, every STATUS_EVERY_MS and after changes
 *               { t: 'lag', samples }                  lag samples (ms), batched
 *               { t: 'ctl-answer', id, ok, value?, error? }
 *               { t: 'failed', error }                 the thread could not start
 */
import { parentPort, workerData } from 'node:worker_threads';
// subpath imports: the worker loads the embedded log and the memory store only (not the
// EventStoreDB, MongoDB, NATS or telemetry clients the packages' index modules bring along)
import { openEmbeddedEventStore } from '@muster/event-store/embedded';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { MEMORY_INDEX_HINTS } from '@muster/read-models';
import { serveReadStore } from '@muster/read-store/remote';
import { openVault, withPersonalData } from '@muster/personal-data';
import { RebuildController } from './control.ts';
import { answerRebuild, projectorHealth } from './health.ts';
import { Projector } from './projector.ts';
import { ReadModelSnapshots, type SnapshotSettings } from './snapshots.ts';

export interface ProjectorThreadData {
  eventsDir: string;
  snapshots: SnapshotSettings | null;
  /** the data keys, opened read-only, to read sealed personal data (null: the log is in clear) */
  personalData: { dataDir: string; secretKey: string | undefined } | null;
}
export type ThreadControl =
  | { t: 'ctl'; id: number; op: 'waitFor'; position: number; timeoutMs: number }
  | { t: 'ctl'; id: number; op: 'rebuild'; request: unknown }
  | { t: 'ctl'; id: number; op: 'stop' };

const STATUS_EVERY_MS = 200;
const LAG_BATCH_MS = 20;

const port = parentPort!;
const { eventsDir, snapshots: snapshotSettings, personalData } = workerData as ProjectorThreadData;

try {
  // the writer wakes this reader after each commit; polling is only the fallback
  const readStore = createMemoryReadStore({ indexHints: MEMORY_INDEX_HINTS });
  // the newest snapshot loads while the log opens (the projector then catches up from its checkpoint)
  let projector: Projector | null = null;
  const snapshots = snapshotSettings ? new ReadModelSnapshots(readStore, snapshotSettings, () => projector?.currentPosition ?? -1, (line) => port.postMessage({ t: 'log', line })) : null;
  const loading = snapshots?.load();
  loading?.catch(() => {});
  const store = await openEmbeddedEventStore({ dir: eventsDir, readOnly: true, pollIntervalMs: 1_000 });
  // the projector reads personal data opened (or `[erased]`): the keys the main thread writes, read-only here
  const keys = personalData ? await openVault({ ...personalData, readOnly: true }) : null;
  const events = keys ? withPersonalData(store, keys.vault) : store;
  await loading;
  serveReadStore(readStore, port);

  let lagBatch: number[] = [];
  let lagTimer: NodeJS.Timeout | null = null;
  projector = new Projector({
    store: events, readStore,
    onLag: (ms) => {
      lagBatch.push(ms);
      lagTimer ??= setTimeout(() => { lagTimer = null; const samples = lagBatch; lagBatch = []; port.postMessage({ t: 'lag', samples }); }, LAG_BATCH_MS);
    },
  });
  const startHead = await store.headPosition();
  await projector.start();
  void snapshots?.loadRest();
  // once the read models are loaded, build the people search lists in the background, so the
  // admin UI's first searches after a start do not wait for them (memory.ts searchReady)
  void projector.starting.then(() => readStore.collection('people').searchReady()).catch(() => {});
  void projector.starting.then(() => snapshots?.start());
  const rebuilds = new RebuildController({ store: events, readStore, live: projector, onDone: () => { void snapshots?.write('rebuild').catch(() => {}); } });

  let head = startHead;
  const sendStatus = () => port.postMessage({
    t: 'status', ready: !projector.failed && projector.currentPosition >= startHead,
    // how the thread's log reader got the writes: taken from the writer's bytes, or read from the file
    health: {
      ...projectorHealth(projector, head, rebuilds), logReader: { ingestedWrites: store.stats().ingested, readsFromMemory: store.stats().tailReads },
      ...(snapshots ? { snapshots: snapshots.status } : {}),
    },
  });
  const statusTimer = setInterval(sendStatus, STATUS_EVERY_MS);
  sendStatus();

  // refresh on every commit notice; one that arrives during a refresh runs another after it
  let refreshing = false;
  let again = false;
  const refresh = async () => {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      do { again = false; await store.refresh(); } while (again);
      head = await store.headPosition();
    } catch { /* the poll picks it up */ } finally { refreshing = false; }
  };

  let stopping: Promise<void> | null = null;
  port.on('message', (m: { t?: string }) => {
    if (m.t === 'appended') {
      const { fileOffset, bytes } = m as { fileOffset?: number; bytes?: Uint8Array };
      // the writer's bytes, unless a refresh from the file is under way (it reads them there)
      if (bytes && typeof fileOffset === 'number' && !refreshing) {
        store.ingest({ fileOffset, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })
          .then(() => store.headPosition()).then((h) => { head = h; }, () => { void refresh(); });
        return;
      }
      void refresh();
      return;
    }
    if (m.t !== 'ctl') return;
    const c = m as ThreadControl;
    const reply = (p: Promise<unknown>) => p.then(
      (value) => port.postMessage({ t: 'ctl-answer', id: c.id, ok: true, value }),
      (err: unknown) => port.postMessage({ t: 'ctl-answer', id: c.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
    if (c.op === 'waitFor') void reply(projector.waitFor(c.position, c.timeoutMs));
    else if (c.op === 'rebuild' && (c.request as { action?: string } | null)?.action === 'snapshot') {
      void reply(snapshots ? snapshots.write('request').then((w) => ({ snapshot: w ? { position: w.position, bytes: w.bytes, docs: w.docs, ms: Math.round(w.ms), captureMs: Math.round(w.captureMs * 10) / 10 } : null }))
        : Promise.resolve({ snapshot: null, error: 'read-model snapshots are off (MUSTER_SNAPSHOTS=off)' }));
    } else if (c.op === 'rebuild') void reply(answerRebuild(rebuilds, c.request).finally(sendStatus));
    else if (c.op === 'stop') {
      stopping ??= (async () => {
        clearInterval(statusTimer);
        await rebuilds.stop();
        await projector.stop();
        await snapshots?.stop(true);
        await readStore.close();
        await store.close();
        await keys?.keys.close();
      })();
      // answer, then end the thread on its own (a profile or coverage of it gets written)
      void reply(stopping).then(() => setImmediate(() => process.exit(0)));
    }
  });
} catch (err) {
  port.postMessage({ t: 'failed', error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) });
}
