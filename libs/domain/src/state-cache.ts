import { EventValidationError, toDomainEvent, type DomainEvent } from '@muster/contracts';
import { revisionsNow, streamRevision, type EventStore, type Subscription } from '@muster/event-store';

/**
 * Keeps the folded state of every stream under a prefix in memory, fed by a subscription
 * to the event store. `get` is eventually consistent; `getFresh` first waits until the cache
 * has seen everything up to the store's current head (read-your-writes for other services).
 */
export class StreamStateCache<State> {
  private states = new Map<string, State>();
  private revisions = new Map<string, number>();
  private position = -1;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  private sub: Subscription | null = null;
  /** events skipped because they failed their schema */
  invalidEvents = 0;

  constructor(
    private readonly store: EventStore,
    private readonly prefix: string,
    private readonly evolve: (s: State, e: DomainEvent) => State,
    private readonly initial: () => State,
  ) {}

  start(): void {
    this.sub = this.store.subscribeToAll({ filter: { streamPrefixes: [this.prefix] } }, (e) => {
      const prev = this.states.get(e.streamId) ?? this.initial();
      let event: DomainEvent | null = null;
      try { event = toDomainEvent(e); } catch (err) {
        if (!(err instanceof EventValidationError)) throw err;
        this.invalidEvents++; // a damaged event changes no state (the projector counts it too, on /healthz)
      }
      if (event) this.states.set(e.streamId, this.evolve(prev, event));
      this.revisions.set(e.streamId, e.revision);
      this.advance(e.position);
    });
  }

  private advance(position: number): void {
    if (position <= this.position) return;
    this.position = position;
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.position <= position);
      this.waiters = this.waiters.filter((w) => w.position > position);
      for (const w of ready) w.resolve();
    }
  }

  get(streamId: string): State | undefined {
    return this.states.get(streamId);
  }

  /** revision of the last event of `streamId` this cache has applied (-1 when none) */
  revisionOf(streamId: string): number {
    return this.revisions.get(streamId) ?? -1;
  }

  /**
   * The stream's state, guaranteed current: one cheap read of the stream's last event tells whether
   * the cache is behind; only then does it wait for the subscription to catch up.
   */
  async getCurrent(streamId: string): Promise<State | undefined> {
    if ((await streamRevision(this.store, streamId)) > this.revisionOf(streamId)) await this.catchUp();
    return this.states.get(streamId);
  }

  /**
   * Whether this cache is known, without waiting, to hold the stream's current state: only when
   * the store answers revisions synchronously (the embedded one) and the cache has applied the
   * stream's last event. False means "cannot tell now" (use getCurrent), not "stale".
   */
  isCurrentNow(streamId: string): boolean {
    const sync = revisionsNow(this.store);
    return sync !== null && sync.currentRevisionNow(streamId) <= this.revisionOf(streamId);
  }

  all(): IterableIterator<[string, State]> {
    return this.states.entries();
  }

  /**
   * Wait until every event up to the store's head has been seen. The subscription is filtered,
   * so the cache reads the head of its own prefix from the store to know what "caught up" means.
   */
  async catchUp(timeoutMs = 5_000): Promise<void> {
    const lastOfPrefix = await this.store.readAll({ fromPosition: this.position, filter: { streamPrefixes: [this.prefix] } });
    if (lastOfPrefix.length === 0) return;
    const target = lastOfPrefix[lastOfPrefix.length - 1].position;
    if (target <= this.position) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`state cache for ${this.prefix} did not reach position ${target} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ position: target, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  async getFresh(streamId: string): Promise<State | undefined> {
    await this.catchUp();
    return this.states.get(streamId);
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
  }
}
