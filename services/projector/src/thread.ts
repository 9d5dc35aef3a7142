/**
 * The projector in a worker thread, for the one-process runtime on the embedded stack (`npm start`).
 *
 * Building read models is most of what a write costs in one process: index maintenance and the
 * garbage it leaves. Here it runs on its own thread, with its own heap, so the thread serving HTTP
 * only appends and answers. The worker owns the in-memory read store; this thread uses it through
 * the same ReadStore port (remote calls, structured clone) and wakes the worker's log reader after
 * every commit (EmbeddedHooks.afterCommit), so projection does not wait for a poll. The wake carries
 * the bytes just written, which the reader takes (EmbeddedEventStore.ingest: checked as a file
 * read would be) instead of reading them back from the file.
 *
 * Separate-process deployments (compose, Kubernetes) do not use this: there the projector is its
 * own process and the read store is MongoDB.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRemoteReadStore } from '@muster/read-store/remote';
import type { HostedReadStore, ProjectionHost, ReadStoreHost } from '@muster/runtime';
import type { ProjectorThreadData, ThreadControl } from './thread-worker.ts';
import type { SnapshotSettings } from './snapshots.ts';

type Incoming =
  | { t: 'status'; ready: boolean; health: Record<string, unknown> }
  | { t: 'lag'; samples: number[] }
  | { t: 'ctl-answer'; id: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'failed'; error: string }
  /** a line for the operator (a snapshot passed over, one not written) */
  | { t: 'log'; line: string };

type Control = ThreadControl extends infer C ? (C extends { id: number } ? Omit<C, 'id' | 't'> : never) : never;

/**
 * Heap limits of the projector thread: it allocates a lot while it folds events, so its young
 * generation is as large as the main thread's (--max-semi-space-size=64). The rebuild bench runs
 * its rebuild in a thread with the same limits.
 */
export const PROJECTOR_THREAD_LIMITS = { maxYoungGenerationSizeMb: 192 } as const;

/** ReadStoreHost for runServices: the read store and the projector in a worker thread. */
export const projectorThread: ReadStoreHost = async ({ eventsDir, config }) => startProjectorThread(eventsDir,
  config.snapshots.enabled ? { dir: join(config.dataDir, 'snapshots'), everyEvents: config.snapshots.everyEvents, everyMs: config.snapshots.everyMs, paceMs: config.snapshots.paceMs } : null,
  config.sealPersonalData ? { dataDir: config.dataDir, secretKey: config.secretKey } : null);

/** the first restart after an unexpected end of the thread waits this long; then it doubles, up to RESTART_MAX_MS */
/** group writes up to this size are passed to the thread with their bytes (larger ones: it reads the file) */
const INGEST_MAX_BYTES = 1024 * 1024;
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;

export interface ProjectorThread extends HostedReadStore {
  readStore: ReturnType<typeof createRemoteReadStore>;
  projection: ProjectionHost;
  /** the thread now (tests end it to see the restart) */
  readonly thread: Worker;
  /** how many times the thread was started again after it ended unexpectedly */
  readonly restarts: number;
}

/** `personalData`: where the data keys are (the thread opens them read-only to read sealed events); null: the log is in clear */
export async function startProjectorThread(eventsDir: string, snapshots: SnapshotSettings | null = null, personalData: ProjectorThreadData['personalData'] = null): Promise<ProjectorThread> {
  let status: { ready: boolean; health: Record<string, unknown> } = { ready: false, health: { state: 'starting' } };
  let down: Error | null = null;
  let closing: Promise<void> | null = null;
  let restarts = 0;
  let restartDelay = RESTART_FIRST_MS;
  let restartTimer: NodeJS.Timeout | null = null;
  const lagListeners = new Set<(ms: number) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let worker!: Worker;
  let ended!: Promise<void>;
  let readStore!: ReturnType<typeof createRemoteReadStore>;

  const failAll = (err: Error) => {
    down ??= err;
    status = { ready: false, health: { state: closing ? 'stopped' : 'restarting', error: err.message, restarts } };
    readStore.fail(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  /** starts a thread; resolves once it has reported (or rejects when it could not start) */
  const spawn = (): Promise<void> => {
    const w = new Worker(new URL('./thread-entry.mjs', import.meta.url), {
      workerData: { eventsDir, snapshots, personalData } satisfies ProjectorThreadData,
      // the parent's flags (--import tsx, say) are for the main thread; the entry registers tsx itself.
      // MUSTER_PROJECTOR_THREAD_NODE_FLAGS passes flags to the thread (e.g. --cpu-prof to profile it)
      execArgv: process.env.MUSTER_PROJECTOR_THREAD_NODE_FLAGS?.split(' ').filter(Boolean) ?? [],
      resourceLimits: PROJECTOR_THREAD_LIMITS,
    });
    worker = w;
    down = null;
    if (readStore) readStore.attach(w);
    else readStore = createRemoteReadStore(w);
    let resolveStarted!: () => void;
    let rejectStarted!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => { resolveStarted = res; rejectStarted = rej; });
    w.on('message', (m: Incoming) => {
      switch (m.t) {
        case 'status':
          status = { ready: m.ready, health: { ...m.health, ...(restarts ? { restarts } : {}) } };
          if (m.ready) restartDelay = RESTART_FIRST_MS;
          resolveStarted();
          break;
        case 'log':
          process.stderr.write(`projector: ${m.line}\n`);
          break;
        case 'lag':
          for (const l of lagListeners) for (const ms of m.samples) l(ms);
          break;
        case 'ctl-answer': {
          const p = pending.get(m.id);
          if (!p) break;
          pending.delete(m.id);
          if (m.ok) p.resolve(m.value);
          else p.reject(new Error(m.error));
          break;
        }
        case 'failed':
          failAll(new Error(`projector thread failed to start: ${m.error}`));
          rejectStarted(down!);
          break;
      }
    });
    w.on('error', (err) => { failAll(new Error(`projector thread crashed: ${err.message}`)); rejectStarted(down!); });
    ended = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.on('exit', (code) => {
      failAll(new Error(`projector thread exited (code ${code})`));
      rejectStarted(down!);
      if (!closing && worker === w) scheduleRestart();
    });
    return started;
  };

  // An unexpected end (a crash, running out of memory): reads answer 503 meanwhile, and a new thread
  // rebuilds the read models from the log, as at start.
  const scheduleRestart = () => {
    if (restartTimer || closing) return;
    restartTimer = setTimeout(() => {
      restartTimer = null;
      if (closing) return;
      restarts++;
      restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
      spawn().catch(() => { /* its exit schedules the next attempt */ });
    }, restartDelay);
    restartTimer.unref();
  };

  const control = (c: Control): Promise<unknown> => {
    if (down) return Promise.reject(down);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ t: 'ctl', id, ...c });
    });
  };

  try {
    await spawn();
  } catch (err) {
    closing = Promise.resolve();
    await worker.terminate().catch(() => {});
    throw err;
  }

  const projection: ProjectionHost = {
    status: () => status,
    waitFor: (position, timeoutMs = 5_000) => control({ op: 'waitFor', position, timeoutMs }) as Promise<boolean>,
    onLagSample: (l) => { lagListeners.add(l); return () => { lagListeners.delete(l); }; },
    rebuild: (request) => control({ op: 'rebuild', request }),
  };

  return {
    readStore,
    projection,
    get thread() { return worker; },
    get restarts() { return restarts; },
    afterCommit: (position, committed) => {
      if (down) return;
      // the committed bytes go along (one copy, its memory transferred): the thread's log reader
      // takes them instead of reading the file again; a large group write only wakes it
      if (!committed || committed.bytes.length > INGEST_MAX_BYTES) { worker.postMessage({ t: 'appended', position }); return; }
      const bytes = new Uint8Array(committed.bytes);
      worker.postMessage({ t: 'appended', position, fileOffset: committed.fileOffset, bytes }, [bytes.buffer]);
    },
    close: () => {
      closing ??= (async () => {
        if (restartTimer) clearTimeout(restartTimer);
        if (!down) {
          // the projector writes its last checkpoint and closes its files before the thread ends
          // (and writes a read-model snapshot: a large one takes seconds)
          await Promise.race([control({ op: 'stop' }).catch(() => {}), new Promise((r) => setTimeout(r, snapshots ? 120_000 : 10_000).unref())]);
        }
        readStore.fail(new Error('the read store is closed'));
        // the thread ends itself after 'stop'; terminate() only if it does not
        await Promise.race([ended, new Promise((r) => setTimeout(r, 2_000).unref())]);
        await worker.terminate().catch(() => {});
      })();
      return closing;
    },
  };
}
