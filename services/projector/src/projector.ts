import type { EventStore, Subscription } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import { INDEXES, PROJECTION, READ_MODELS, collectionNames, type CollectionNames } from './collections.ts';
import { Projections } from './projections.ts';

export interface ProjectorStats {
  position: number;
  lastEventLagMs: number | null;
  /** recent lags (ms) between the event being stored and being projected */
  lagSamples: number[];
}

export interface ProjectorOptions {
  store: EventStore;
  readStore: ReadStore;
  /** collection prefix (a rebuild uses a fresh one); default none */
  prefix?: string;
  projection?: string;
  onLag?: (lagMs: number) => void;
}

/**
 * Subscribes to all events from its checkpoint and keeps the read models. Each event's writes
 * are guarded by the position they carry (idempotent), and the checkpoint is written after them.
 */
export class Projector {
  readonly names: CollectionNames;
  private projections: Projections;
  private sub: Subscription | null = null;
  private position = -1;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  readonly stats: ProjectorStats = { position: -1, lastEventLagMs: null, lagSamples: [] };
  failed: Error | null = null;

  constructor(private readonly opts: ProjectorOptions) {
    this.names = collectionNames(opts.prefix ?? '');
    this.projections = new Projections(opts.readStore, this.names);
  }

  get projectionName() { return this.opts.projection ?? PROJECTION; }
  get currentPosition() { return this.position; }

  async start(): Promise<void> {
    const { readStore, store } = this.opts;
    for (const m of READ_MODELS) {
      const idx = INDEXES[m];
      if (idx) await readStore.ensureIndexes(this.names[m], idx);
    }
    const cp = await readStore.getCheckpoint(this.projectionName);
    this.position = cp ?? -1;
    this.stats.position = this.position;
    this.sub = store.subscribeToAll({ fromPosition: cp ?? undefined }, async (e) => {
      await this.projections.apply(e);
      await readStore.setCheckpoint(this.projectionName, e.position);
      this.position = e.position;
      this.stats.position = e.position;
      const lag = Date.now() - e.created;
      this.stats.lastEventLagMs = lag;
      if (this.stats.lagSamples.length >= 10_000) this.stats.lagSamples.shift();
      this.stats.lagSamples.push(lag);
      this.opts.onLag?.(lag);
      if (this.waiters.length) {
        const ready = this.waiters.filter((w) => w.position <= e.position);
        this.waiters = this.waiters.filter((w) => w.position > e.position);
        ready.forEach((w) => w.resolve());
      }
    });
    this.sub.done.catch((err: Error) => { this.failed = err; });
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
    await this.sub?.stop();
    this.sub = null;
  }
}
