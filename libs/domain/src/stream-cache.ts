import { toDomainEvent, type DomainEvent } from '@muster/contracts';
import type { EventStore, RecordedEvent } from '@muster/event-store';
import type { Decider } from './decider.ts';

/** A stream folded by its decider, with the facts a resource's `meta` needs. */
export interface StreamSnapshot<State> {
  state: State;
  /** the revision of the last event folded in (-1: the stream does not exist) */
  revision: number;
  /** occurredAt of the stream's first and last events */
  created: string;
  lastModified: string;
}

export type Fold<State> = Pick<Decider<unknown, State>, 'evolve' | 'initialState'>;

/** A stored event as the decider's input, validated by its schema (a bad event fails the command). */
export const domainEventOf = (r: RecordedEvent): DomainEvent => toDomainEvent(r);

const occurredAt = (r: RecordedEvent) => String((r.metadata as { occurredAt?: unknown }).occurredAt ?? new Date(r.created).toISOString());

/**
 * The command side's one cache of folded streams (bounded, least recently used first out). A load
 * always asks the store for the events after the cached revision (an index lookup, no read when
 * there are none), so what it hands out is current even when another process or service wrote the
 * stream. Keyed by stream id: each stream belongs to one decider.
 */
export class StreamCache {
  private readonly map = new Map<string, StreamSnapshot<unknown>>();

  constructor(private readonly store: EventStore, private readonly max = 20_000) {}

  /** the stream folded to its current revision; null when it does not exist */
  async load<State>(streamId: string, fold: Fold<State>): Promise<StreamSnapshot<State> | null> {
    const cached = this.map.get(streamId) as StreamSnapshot<State> | undefined;
    const recorded = await this.store.readStream(streamId, cached ? { fromRevision: cached.revision + 1 } : {});
    if (!cached && !recorded.length) return null;
    let snap = cached ?? { state: fold.initialState(), revision: -1, created: occurredAt(recorded[0]), lastModified: '' };
    if (recorded.length) {
      let state = snap.state;
      for (const r of recorded) state = fold.evolve(state, domainEventOf(r));
      const last = recorded[recorded.length - 1];
      snap = { state, revision: last.revision, created: snap.created, lastModified: occurredAt(last) };
    }
    this.remember(streamId, snap);
    return snap;
  }

  /** a state the handler folded after its own append (no read needed) */
  remember<State>(streamId: string, snap: StreamSnapshot<State>): void {
    this.map.delete(streamId);
    this.map.set(streamId, snap);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
