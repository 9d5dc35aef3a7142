/**
 * The projector in a worker thread, for the one-process runtime on the embedded stack (`npm start`).
 *
 * Building read models is most of what a write costs in one process: index maintenance and the
 * garbage it leaves. Here it runs on its own thread, with its own heap, so the thread serving HTTP
 * only appends and answers. The worker owns the in-memory read store; this thread uses it through
 * the same ReadStore port (remote calls, structured clone) and wakes the worker's log reader after
 * every commit (EmbeddedHooks.afterCommit), so projection does not wait for a poll.
 *
 * Separate-process deployments (compose, Kubernetes) do not use this: there the projector is its
 * own process and the read store is MongoDB.
 */
import { Worker } from 'node:worker_threads';
import { createRemoteReadStore } from '@muster/read-store/remote';
import type { HostedReadStore, ProjectionHost, ReadStoreHost } from '@muster/runtime';
import type { ProjectorThreadData, ThreadControl } from './thread-worker.ts';

type Incoming =
  | { t: 'status'; ready: boolean; health: Record<string, unknown> }
  | { t: 'lag'; samples: number[] }
  | { t: 'ctl-answer'; id: number; ok: boolean; value?: unknown; error?: string }
  | { t: 'failed'; error: string };

type Control = ThreadControl extends infer C ? (C extends { id: number } ? Omit<C, 'id' | 't'> : never) : never;

/** ReadStoreHost for runServices: the read store and the projector in a worker thread. */
export const projectorThread: ReadStoreHost = async ({ eventsDir }) => startProjectorThread(eventsDir);

export async function startProjectorThread(eventsDir: string): Promise<HostedReadStore> {
  const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), {
    workerData: { eventsDir } satisfies ProjectorThreadData,
    // the parent's flags (--import tsx, say) are for the main thread; the entry registers tsx itself.
    // MUSTER_PROJECTOR_THREAD_NODE_FLAGS passes flags to the thread (e.g. --cpu-prof to profile it)
    execArgv: process.env.MUSTER_PROJECTOR_THREAD_NODE_FLAGS?.split(' ').filter(Boolean) ?? [],
    // the projector allocates a lot while it folds events: a young generation as large as the main thread's
    resourceLimits: { maxYoungGenerationSizeMb: 192 },
  });
  let status: { ready: boolean; health: Record<string, unknown> } = { ready: false, health: { state: 'starting' } };
  let exited: Error | null = null;
  const lagListeners = new Set<(ms: number) => void>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;

  const readStore = createRemoteReadStore(worker);
  const failAll = (err: Error) => {
    exited ??= err;
    status = { ready: false, health: { state: 'stopped', error: err.message } };
    readStore.fail(err);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  let resolveStarted!: () => void;
  let rejectStarted!: (e: Error) => void;
  const started = new Promise<void>((res, rej) => { resolveStarted = res; rejectStarted = rej; });

  worker.on('message', (m: Incoming) => {
    switch (m.t) {
      case 'status':
        status = { ready: m.ready, health: m.health };
        resolveStarted();
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
        rejectStarted(exited!);
        break;
    }
  });
  worker.on('error', (err) => { failAll(new Error(`projector thread crashed: ${err.message}`)); rejectStarted(exited!); });
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('exit', (code) => { failAll(new Error(`projector thread exited (code ${code})`)); rejectStarted(exited!); });

  const control = (c: Control): Promise<unknown> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ t: 'ctl', id, ...c });
    });
  };

  try {
    await started;
  } catch (err) {
    await worker.terminate().catch(() => {});
    throw err;
  }

  const projection: ProjectionHost = {
    status: () => status,
    waitFor: (position, timeoutMs = 5_000) => control({ op: 'waitFor', position, timeoutMs }) as Promise<boolean>,
    onLagSample: (l) => { lagListeners.add(l); return () => { lagListeners.delete(l); }; },
    rebuild: (request) => control({ op: 'rebuild', request }),
  };

  let closing: Promise<void> | null = null;
  return {
    readStore,
    projection,
    afterCommit: (position) => { if (!exited) worker.postMessage({ t: 'appended', position }); },
    close: () => {
      closing ??= (async () => {
        if (!exited) {
          // the projector writes its last checkpoint and closes its files before the thread ends
          await Promise.race([control({ op: 'stop' }).catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
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
