/**
 * The event store port. Two adapters implement it: the embedded durable log
 * (./embedded) and EventStoreDB (./esdb). Both must pass ./contract.ts.
 *
 * Positions: every appended event gets a global position that strictly increases
 * across the whole store. Revisions are per stream and start at 0.
 */

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface NewEvent {
  /** UUID; the adapter keeps it as the event's id */
  eventId: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface RecordedEvent {
  eventId: string;
  streamId: string;
  /** 0-based position of the event in its stream */
  revision: number;
  /** global position, strictly increasing across the store */
  position: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** when the store recorded it (ms since epoch) */
  created: number;
}

export interface AppendResult {
  /** revision of the last event written (the stream's new current revision) */
  nextExpectedRevision: number;
  /** global position of the last event written */
  position: number;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** inclusive; defaults to start (forwards) or end (backwards) */
  fromRevision?: number;
  maxCount?: number;
}

/** An event matches when both lists match (AND); a missing or empty list does not constrain. */
export interface EventFilter {
  /** keep events whose stream id starts with one of these */
  streamPrefixes?: string[];
  /** keep events whose type is one of these */
  eventTypes?: string[];
}

export interface ReadAllOptions {
  /** exclusive: events with position > fromPosition. Omit to read from the start */
  fromPosition?: number;
  maxCount?: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** exclusive: deliver events with position > fromPosition. Omit to start at the beginning */
  fromPosition?: number;
  filter?: EventFilter;
}

export interface Subscription {
  /** stops delivery; resolves when no handler call is in flight */
  stop(): Promise<void>;
  /**
   * Settles when the subscription ends. Resolves after stop() or the store's close(); rejects with
   * the error when the handler threw (or the connection/store failed). Adapters pre-handle the
   * rejection, so a caller that never looks at `done` does not crash the process.
   */
  readonly done: Promise<void>;
}

/** Handler for a subscription; events are delivered one at a time, in position order. */
export type EventHandler = (event: RecordedEvent) => Promise<void> | void;

export class WrongExpectedRevisionError extends Error {
  readonly code = 'WRONG_EXPECTED_REVISION';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`wrong expected revision on ${streamId}: expected ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

export class StreamNotFoundError extends Error {
  readonly code = 'STREAM_NOT_FOUND';
  constructor(readonly streamId: string) {
    super(`stream not found: ${streamId}`);
    this.name = 'StreamNotFoundError';
  }
}

export interface EventStore {
  appendToStream(
    streamId: string,
    events: NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** returns [] for a stream that does not exist */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** catch-up from fromPosition, then live; events in strictly increasing position order */
  subscribeToAll(options: SubscribeOptions, handler: EventHandler): Subscription;
  /** global position of the last event in the store (-1 when empty) */
  headPosition(): Promise<number>;
  /**
   * Optional cheap read: the stream's current revision (-1 when it does not exist) without reading
   * the event. Adapters that cannot answer cheaply leave it out; use `streamRevision()` below.
   */
  currentRevision?(streamId: string): Promise<number>;
  /**
   * Optional: appends to several distinct streams as one atomic unit, each with its own expected
   * revision: either every batch is appended (at adjacent positions, in the order given) or, when
   * one expectation fails, none is (WrongExpectedRevisionError names that stream). Results are per
   * append, in the same order. Adapters without it (EventStoreDB) leave it out; callers append one
   * stream at a time instead.
   */
  appendToStreams?(appends: StreamAppend[]): Promise<AppendResult[]>;
  close(): Promise<void>;
}

export interface StreamAppend {
  streamId: string;
  events: NewEvent[];
  expectedRevision?: ExpectedRevision;
}

/**
 * A capability outside the port, which only a store whose index lives in this process has (the
 * embedded log, and the hash chain over it): a stream's current revision answered synchronously.
 * Callers ask `revisionsNow(store)` and fall back to the port's async reads when it is null.
 */
export interface SyncRevisions {
  currentRevisionNow(streamId: string): number;
}

export function revisionsNow(store: EventStore): SyncRevisions | null {
  const s = store as EventStore & Partial<SyncRevisions>;
  return typeof s.currentRevisionNow === 'function' ? (s as EventStore & SyncRevisions) : null;
}

/** The stream's current revision (-1 when it does not exist), cheaply where the adapter can. */
export async function streamRevision(store: EventStore, streamId: string): Promise<number> {
  if (store.currentRevision) return store.currentRevision(streamId);
  const [last] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
  return last ? last.revision : -1;
}

/**
 * The stream's latest event of one of `types`, read backwards a page at a time (a long stream is
 * not read whole to find an event near its end); null when there is none.
 */
export async function lastEventOf(store: EventStore, streamId: string, types: readonly string[], page = 64): Promise<RecordedEvent | null> {
  let from: number | undefined;
  for (;;) {
    const events = await store.readStream(streamId, { direction: 'backwards', maxCount: page, ...(from !== undefined ? { fromRevision: from } : {}) });
    const hit = events.find((e) => types.includes(e.type));
    if (hit) return hit;
    if (events.length < page) return null;
    from = events[events.length - 1].revision - 1;
    if (from < 0) return null;
  }
}
