import type { EventStore } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import { PROJECTION, READ_MODELS, collectionNames, type RebuildPhase, type RebuildResult } from '@muster/read-models';
import { Projector, deleteCheckpoint } from './projector.ts';

/** Collections a rebuild writes before the switch-over: `rebuild_people`, ... */
export const REBUILD_PREFIX = 'rebuild_';
/** Checkpoint of the projection being rebuilt (removed after the switch). */
export const REBUILD_PROJECTION = 'rebuild';


export interface RebuildProgress {
  phase: RebuildPhase;
  /** last position applied to the fresh collections */
  position: number;
  /** head of the log when last looked at */
  head: number;
  events: number;
}

export interface RebuildOptions {
  store: EventStore;
  readStore: ReadStore;
  /**
   * The live projector of this process, paused for the switch-over and resumed on the new
   * collections. Without it (a CLI next to a projector in another process) the live projector keeps
   * running: after the switch the rebuild applies the events it may have written to the old
   * collections during the switch once more (every write is position-guarded, so that is harmless).
   */
  live?: Projector;
  /** the live projection's checkpoint (default 'main') */
  projection?: string;
  /** events per read (default 2,000) */
  batchSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  /** runs once the fresh collections have caught up, before the switch (tests) */
  beforeSwitch?: () => void | Promise<void>;
  /** aborts the rebuild (before the switch: the live collections stay as they are) */
  signal?: AbortSignal;
  /**
   * fold the bulk of the log in process memory first and load the documents once (default true;
   * see staging.ts). Memory: the rebuilt read models, once, until they are loaded.
   */
  staging?: boolean;
}


/** a rebuild is not worth pausing for while more than this many events are left */
const SWITCH_GAP = 1_000;

/**
 * Rebuilds every read model from position 0 into fresh collections (`rebuild_*`) while queries keep
 * answering from the current ones, then switches over (renameCollection, which replaces the old
 * collection in one step) once caught up, and moves the live checkpoint to the rebuilt position.
 * One rebuild at a time per read store: a new one drops the leftovers of an interrupted one.
 */
export async function rebuildProjections(options: RebuildOptions): Promise<RebuildResult> {
  const { store, readStore, live } = options;
  const projection = options.projection ?? PROJECTION;
  const started = performance.now();
  const fresh = collectionNames(REBUILD_PREFIX);
  const target = collectionNames('');
  for (const m of READ_MODELS) await readStore.dropCollection(fresh[m]);
  await deleteCheckpoint(readStore, REBUILD_PROJECTION);

  const rebuilder = new Projector({ store, readStore, prefix: REBUILD_PREFIX, projection: REBUILD_PROJECTION });
  let events = 0;
  let head = await store.headPosition();
  let stagedMs = 0;
  let loadMs = 0;
  let indexMs = 0;
  const progress = (phase: RebuildPhase) => options.onProgress?.({ phase, position: rebuilder.currentPosition, head, events });
  const catchUpWith = async (projector: Projector, until?: number) => {
    events += await projector.catchUp({
      until, batchSize: options.batchSize, signal: options.signal,
      onBatch: (_position, applied) => options.onProgress?.({ phase: 'projecting', position: projector.currentPosition, head, events: events + applied }),
    });
  };
  const catchUp = (until?: number) => catchUpWith(rebuilder, until);
  /** catch up while the live projection keeps serving; stop when what is left is small */
  const bulk = async (projector: Projector) => {
    for (let round = 0; round < 50; round++) {
      head = await store.headPosition();
      await catchUpWith(projector, head);
      if ((await store.headPosition()) - projector.currentPosition <= SWITCH_GAP) break;
    }
  };

  // 1. the bulk of the log: folded in process memory (staging), then loaded once, indexes built after
  if (options.staging !== false) {
    const staged = await rebuilder.stagedCatchUp({
      gap: SWITCH_GAP, batchSize: options.batchSize, signal: options.signal,
      onBatch: (position, applied) => options.onProgress?.({ phase: 'projecting', position, head, events: events + applied }),
    });
    events += staged.events;
    stagedMs = staged.foldMs;
    loadMs = staged.insertMs;
    indexMs = staged.indexMs;
  }
  await rebuilder.prepare();
  await bulk(rebuilder);

  // 2. switch: pause the live projector, apply the last few events, rename, resume on the new ones
  progress('switching');
  const pauseStart = performance.now();
  let pausedMs = 0;
  let switched = false;
  if (live) await live.pause();
  try {
    head = await store.headPosition();
    await catchUp(head);
    if (live && live.currentPosition > rebuilder.currentPosition) await catchUp(live.currentPosition);
    await options.beforeSwitch?.();
    for (const m of READ_MODELS) await switchCollection(readStore, fresh[m], target[m]);
    switched = true;
    const current = await readStore.getCheckpoint(projection);
    if (live || current === null || current < rebuilder.currentPosition) await readStore.setCheckpoint(projection, rebuilder.currentPosition);
    await deleteCheckpoint(readStore, REBUILD_PROJECTION);
  } finally {
    if (live) {
      await live.resume(switched ? rebuilder.currentPosition : undefined);
      pausedMs = performance.now() - pauseStart;
    }
  }

  // 3. no live projector here: one more pass over what arrived during the switch, on the new collections
  if (!live) {
    progress('healing');
    const healer = new Projector({ store, readStore, projection });
    // starts where the rebuild stopped; position-guarded writes make a repeat harmless
    healer.seek(rebuilder.currentPosition);
    await healer.catchUp({ checkpoint: false, signal: options.signal });
    const current = await readStore.getCheckpoint(projection);
    if (current === null || current < healer.currentPosition) await readStore.setCheckpoint(projection, healer.currentPosition);
  }

  const durationMs = performance.now() - started;
  const result: RebuildResult = {
    position: rebuilder.currentPosition, events, durationMs: Math.round(durationMs),
    eventsPerSecond: Math.round(events / Math.max(durationMs / 1000, 1e-3)), pausedMs: Math.round(pausedMs),
    stagedMs: Math.round(stagedMs), loadMs: Math.round(loadMs), indexMs: Math.round(indexMs),
  };
  progress('done');
  return result;
}

/** replaces `to` with `from`; a model the rebuild never wrote ends up absent (empty) as well */
async function switchCollection(readStore: ReadStore, from: string, to: string): Promise<void> {
  try {
    await readStore.renameCollection(from, to);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    if (e.code === 26 || /does not exist|NamespaceNotFound/i.test(String(e.message))) {
      await readStore.dropCollection(to);
      return;
    }
    throw err;
  }
}
