import type { EventStore, RecordedEvent, Subscription } from '@muster/event-store';
import { CHECKPOINTS_COLLECTION, type ReadStore } from '@muster/read-store/port';
import { INDEXES, PROJECTION, Projections, READ_MODELS, collectionNames, createStagingReadStore, type CollectionNames } from '@muster/read-models';

/** How many recent lag samples the projector keeps (for /healthz percentiles and the bench). */
export const LAG_SAMPLES = 10_000;

export interface ProjectorStats {
  position: number;
  lastEventLagMs: number | null;
  /**
   * recent lags (ms) between an event being stored and being projected (at most LAG_SAMPLES, a
   * ring buffer once full: use recentLags() for them in order). Only events stored after the projector started count: replaying an old log at
   * start is catch-up, not lag (it shows as `lagEvents` on /healthz instead).
   */
  lagSamples: number[];
  /** events applied since start */
  eventsApplied: number;
  /** times the subscription was re-opened after a failure */
  restarts: number;
}

export interface ProjectorOptions {
  store: EventStore;
  readStore: ReadStore;
  /** collection prefix (a rebuild uses a fresh one); default none */
  prefix?: string;
  projection?: string;
  onLag?: (lagMs: number) => void;
  /** first delay before re-subscribing after a failure (ms, default 500; doubles up to 30 s) */
  retryDelayMs?: number;
  /** start(): bulk-load a backlog of at least this many events on an empty read store (default BULK_START_MIN; Infinity: never) */
  bulkStartMin?: number;
}

/**
 * catchUp() reads at most this many events at a time, whatever its batch size: the events of a
 * page are parsed together and are garbage soon after they are applied, and a small page lets
 * them die young instead of surviving (being copied by) a young-generation collection.
 */
const READ_PAGE = 250;

/** start(): below this many events in the log the backlog is simply replayed */
export const BULK_START_MIN = 1_000;

export interface StagedCatchUpOptions {
  batchSize?: number;
  signal?: AbortSignal;
  onBatch?: (position: number, applied: number) => void;
  /** stop folding once at most this many events are left (default 1,000) */
  gap?: number;
}

export interface StagedCatchUpResult {
  events: number;
  foldMs: number;
  insertMs: number;
  indexMs: number;
}

export interface CatchUpOptions {
  /** apply events up to and including this position (default: the head when called) */
  until?: number;
  /** events per read (default 2,000) */
  batchSize?: number;
  /** write the checkpoint after each batch (default true) */
  checkpoint?: boolean;
  onBatch?: (position: number, applied: number) => void;
  signal?: AbortSignal;
}

/** p50/p99/max of a sample (nearest rank); nulls when empty. */
export function percentiles(samples: readonly number[]): { p50: number | null; p99: number | null; max: number | null; count: number } {
  if (samples.length === 0) return { p50: null, p99: null, max: null, count: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], count: sorted.length };
}

/**
 * Subscribes to all events from its checkpoint and keeps the read models.
 *
 * Exactly-once effect: every write an event causes is guarded by the event's position (see
 * projections.ts), so applying an event again changes nothing; the checkpoint is written only
 * after all the writes of the events it covers. A crash between the two replays at most the
 * events after the checkpoint, which is harmless. After a failure (read store down, say) the
 * projector re-subscribes from its last checkpoint with a backoff.
 */
export class Projector {
  readonly names: CollectionNames;
  readonly projections: Projections;
  private sub: Subscription | null = null;
  private position = -1;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  readonly stats: ProjectorStats = { position: -1, lastEventLagMs: null, lagSamples: [], eventsApplied: 0, restarts: 0 };
  /** the error that stopped the subscription; cleared when events flow again */
  failed: Error | null = null;
  private prepared = false;
  private running = false;
  private startedAt = Date.now();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay: number;
  private lagNext = 0;

  constructor(private readonly opts: ProjectorOptions) {
    this.names = collectionNames(opts.prefix ?? '');
    this.projections = new Projections(opts.readStore, this.names);
    this.retryDelay = opts.retryDelayMs ?? 500;
  }

  get projectionName() { return this.opts.projection ?? PROJECTION; }
  get currentPosition() { return this.position; }
  /** true while subscribed (not paused or stopped) */
  get live() { return this.sub !== null; }

  /** declares the read models' indexes (once) */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    for (const m of READ_MODELS) {
      const idx = INDEXES[m];
      if (idx) await this.opts.readStore.ensureIndexes(this.names[m], idx);
    }
    this.prepared = true;
  }

  /**
   * Loads the checkpoint and subscribes from it. On a read store that holds neither a checkpoint nor
   * documents of these read models (the in-memory store at every start, a fresh MongoDB) and a log
   * of at least `bulkStartMin` events, the backlog is first folded in process memory and loaded once
   * (stagedCatchUp), which is an order of magnitude faster than applying it event by event. That
   * runs in the background: start() returns at once, `starting` settles when it is done, and the
   * position (readiness) moves when it has loaded.
   */
  async start(): Promise<void> {
    const cp = await this.opts.readStore.getCheckpoint(this.projectionName);
    this.setPosition(cp ?? -1);
    this.startedAt = Date.now();
    this.running = true;
    const min = this.opts.bulkStartMin ?? BULK_START_MIN;
    if (cp === null && min !== Infinity && (await this.opts.store.headPosition()) + 1 >= min && (await this.targetEmpty())) {
      this.starting = this.stagedCatchUp().then(
        () => undefined,
        (err: unknown) => { this.failed = err instanceof Error ? err : new Error(String(err)); },
      ).then(async () => {
        if (!this.running || this.sub) return;
        await this.prepare();
        this.subscribe();
      }).catch((err: unknown) => {
        this.failed = err instanceof Error ? err : new Error(String(err));
        this.scheduleRetry();
      });
      return;
    }
    await this.prepare();
    this.subscribe();
  }

  /** settles once start()'s bulk load (if any) is done and the projector is subscribed */
  starting: Promise<void> = Promise.resolve();

  private async targetEmpty(): Promise<boolean> {
    for (const m of READ_MODELS) if ((await this.opts.readStore.collection(this.names[m]).countDocuments({})) > 0) return false;
    return true;
  }

  /**
   * Folds the events after the current position, up to (about) the head, in process memory
   * (staging.ts) and inserts the resulting documents into this projector's collections, which must
   * not hold documents yet; then declares the indexes (building them once over the loaded data) and
   * writes the checkpoint. Unsubscribed projectors only.
   */
  async stagedCatchUp(options: StagedCatchUpOptions = {}): Promise<StagedCatchUpResult> {
    if (this.sub) throw new Error('stagedCatchUp() on a subscribed projector');
    const { store, readStore } = this.opts;
    const t0 = performance.now();
    const staging = createStagingReadStore();
    const staged = new Projector({ store, readStore: staging, prefix: this.opts.prefix, projection: this.projectionName });
    staged.seek(this.position);
    let events = 0;
    const gap = options.gap ?? 1_000;
    for (let round = 0; round < 50; round++) {
      const head = await store.headPosition();
      events += await staged.catchUp({ until: head, batchSize: options.batchSize ?? 5_000, signal: options.signal, onBatch: options.onBatch });
      if ((await store.headPosition()) - staged.currentPosition <= gap) break;
    }
    const foldMs = performance.now() - t0;
    const t1 = performance.now();
    for (const [name, docs] of staging.collections()) {
      // the staged documents are this fold's own (nothing else refers to them): a store that can
      // adopt them in bulk does, skipping a copy per document
      if (readStore.bulkLoad) await readStore.bulkLoad(name, docs.values());
      else {
        const target = readStore.collection(name);
        for (const doc of docs.values()) await target.insertOne(doc);
      }
      docs.clear();
      if (options.signal?.aborted) throw new Error('staged catch-up aborted');
    }
    await staging.close();
    const insertMs = performance.now() - t1;
    const t2 = performance.now();
    await this.prepare();
    if (staged.currentPosition > this.position) await readStore.setCheckpoint(this.projectionName, staged.currentPosition);
    this.advance(staged.currentPosition);
    return { events, foldMs, insertMs, indexMs: performance.now() - t2 };
  }

  private subscribe(): void {
    const { store } = this.opts;
    const sub = store.subscribeToAll({ fromPosition: this.position >= 0 ? this.position : undefined }, (e) => this.handle(e));
    this.sub = sub;
    sub.done.then(
      () => { if (this.sub === sub) this.sub = null; },
      (err: unknown) => {
        if (this.sub !== sub) return;
        this.sub = null;
        this.failed = err instanceof Error ? err : new Error(String(err));
        this.scheduleRetry();
      },
    );
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.running || this.sub) return;
      this.stats.restarts++;
      // resume from the last checkpoint: the failed event may be half applied, replaying it is harmless
      this.prepare().then(() => this.opts.readStore.getCheckpoint(this.projectionName)).then(
        (cp) => {
          if (!this.running || this.sub) return;
          this.setPosition(cp ?? -1);
          this.subscribe();
        },
        (err: unknown) => {
          this.failed = err instanceof Error ? err : new Error(String(err));
          this.scheduleRetry();
        },
      );
    }, delay);
    this.retryTimer.unref?.();
  }

  private async handle(e: RecordedEvent): Promise<void> {
    await this.projections.apply(e);
    this.applied(e);
    this.advance(e.position);
    this.checkpointLater(e.position);
  }

  // The live checkpoint is written once per burst of events rather than per event: after an event's
  // writes, its position becomes pending and is written on the next macrotask (so once for a page
  // of events delivered together). It never covers an event whose writes are not done.
  private pendingCheckpoint: number | null = null;
  private checkpointing: Promise<void> | null = null;

  private checkpointLater(position: number): void {
    this.pendingCheckpoint = position;
    this.checkpointing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.writePendingCheckpoint())
      .finally(() => { this.checkpointing = null; });
  }

  private async writePendingCheckpoint(): Promise<void> {
    while (this.pendingCheckpoint !== null) {
      const position = this.pendingCheckpoint;
      this.pendingCheckpoint = null;
      try {
        await this.opts.readStore.setCheckpoint(this.projectionName, position);
      } catch (err) {
        // keep it pending (unless a later one is); the next event, a flush or the timer tries again
        this.pendingCheckpoint ??= position;
        this.failed = err instanceof Error ? err : new Error(String(err));
        const retry = setTimeout(() => {
          if (this.pendingCheckpoint === null) return;
          void this.writePendingCheckpoint().then(() => { if (this.pendingCheckpoint === null && this.sub) this.failed = null; });
        }, this.opts.retryDelayMs ?? 500);
        retry.unref?.();
        return;
      }
    }
  }

  /** writes the pending live checkpoint now (pause/stop) */
  private async flushCheckpoint(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    if (this.pendingCheckpoint !== null) await this.writePendingCheckpoint();
  }

  private applied(e: RecordedEvent): void {
    this.stats.eventsApplied++;
    if (this.failed) {
      this.failed = null;
      this.retryDelay = this.opts.retryDelayMs ?? 500;
    }
    if (e.created < this.startedAt) return;
    const lag = Math.max(0, Date.now() - e.created);
    this.stats.lastEventLagMs = lag;
    const samples = this.stats.lagSamples;
    if (samples.length < LAG_SAMPLES) samples.push(lag);
    else {
      samples[this.lagNext] = lag; // ring buffer once full
      this.lagNext = (this.lagNext + 1) % LAG_SAMPLES;
    }
    this.opts.onLag?.(lag);
    for (const l of this.lagListeners) l(lag, e);
  }

  private readonly lagListeners = new Set<(lagMs: number, event: RecordedEvent) => void>();

  /** every lag sample as it is taken (benchmarks); returns the unsubscribe function */
  onLagSample(listener: (lagMs: number, event: RecordedEvent) => void): () => void {
    this.lagListeners.add(listener);
    return () => { this.lagListeners.delete(listener); };
  }

  /** recent lag samples, oldest first */
  recentLags(): number[] {
    const s = this.stats.lagSamples;
    return s.length < LAG_SAMPLES || this.lagNext === 0 ? s.slice() : [...s.slice(this.lagNext), ...s.slice(0, this.lagNext)];
  }

  private setPosition(position: number): void {
    this.position = position;
    this.stats.position = position;
  }

  private advance(position: number): void {
    this.setPosition(position);
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.position <= position);
      this.waiters = this.waiters.filter((w) => w.position > position);
      ready.forEach((w) => w.resolve());
    }
  }

  /**
   * Applies the events after the current position up to `until` (default: the head now) in pages,
   * without a subscription (rebuilds use it). The checkpoint follows each page. Returns how many
   * events were applied.
   */
  async catchUp(options: CatchUpOptions = {}): Promise<number> {
    if (this.sub) throw new Error('catchUp() on a subscribed projector');
    await this.prepare();
    const { store, readStore } = this.opts;
    const until = options.until ?? (await store.headPosition());
    const batchSize = options.batchSize ?? 2_000;
    let applied = 0;
    let more = true;
    while (more && this.position < until) {
      // one batch (checkpoint, progress) is read in pages of at most READ_PAGE events
      let last = this.position;
      let inBatch = 0;
      while (inBatch < batchSize) {
        const maxCount = Math.min(READ_PAGE, batchSize - inBatch);
        const page = await store.readAll({ fromPosition: last, maxCount });
        for (const e of page) {
          if (e.position > until) { more = false; break; }
          if (options.signal?.aborted) throw new Error('catch-up aborted');
          await this.projections.apply(e);
          last = e.position;
          applied++;
          inBatch++;
        }
        if (!more || page.length < maxCount) { more = false; break; }
      }
      if (last === this.position) break;
      if (options.checkpoint !== false) await readStore.setCheckpoint(this.projectionName, last);
      this.advance(last);
      options.onBatch?.(last, applied);
    }
    return applied;
  }

  /** moves an unsubscribed projector to `position` (the next event applied is the one after it) */
  seek(position: number): void {
    if (this.sub) throw new Error('seek() on a subscribed projector');
    this.advance(Math.max(position, -1));
  }

  /** stops applying events (waits for the event in flight); resume() continues */
  async pause(): Promise<void> {
    if (this.retryTimer) { clearTimeout(this.retryTimer); this.retryTimer = null; }
    const sub = this.sub;
    this.sub = null;
    await sub?.stop();
    await this.flushCheckpoint().catch(() => {});
  }

  /** subscribes again, from `fromPosition` when given (a rebuild switched the collections) */
  async resume(fromPosition?: number): Promise<void> {
    if (this.sub) return;
    if (fromPosition !== undefined) this.seek(fromPosition);
    this.running = true;
    this.subscribe();
  }

  /** resolves true once the projector has applied `position`, false on timeout */
  waitFor(position: number, timeoutMs = 5_000): Promise<boolean> {
    if (position <= this.position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = { position, resolve: () => { clearTimeout(timer); resolve(true); } };
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.starting.catch(() => {});
    await this.pause();
  }
}

/** removes a projection's checkpoint document */
export async function deleteCheckpoint(readStore: ReadStore, projection: string): Promise<void> {
  await readStore.collection(CHECKPOINTS_COLLECTION).deleteOne({ _id: projection });
}
