import { toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '@muster/event-store';
import type { Decider } from './decider.ts';

export interface Loaded<State> {
  state: State;
  /** current stream revision, -1 when the stream does not exist */
  revision: number;
  first?: RecordedEvent;
  last?: RecordedEvent;
}

export async function load<State>(
  store: EventStore, streamId: string, d: Pick<Decider<unknown, State>, 'evolve' | 'initialState'>,
): Promise<Loaded<State>> {
  const recorded = await store.readStream(streamId);
  let state = d.initialState();
  for (const r of recorded) state = d.evolve(state, { type: r.type, data: r.data } as DomainEvent);
  return { state, revision: recorded.length ? recorded[recorded.length - 1].revision : -1, first: recorded[0], last: recorded[recorded.length - 1] };
}

export interface HandleResult<State> {
  events: DomainEvent[];
  state: State;
  /** stream revision after the command */
  revision: number;
  /** global position of the last appended event, or null when nothing was appended */
  position: number | null;
  eventIds: string[];
}

/**
 * Load the stream, decide, append with the expected revision; on a concurrency conflict
 * reload and decide again (bounded). `command` may depend on the loaded state.
 */
export async function handleCommand<Command, State>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, State>,
  command: Command | ((state: State, revision: number) => Command),
  ctx: CommandContext,
  opts: { maxAttempts?: number; expectedRevision?: number } = {},
): Promise<HandleResult<State>> {
  const maxAttempts = opts.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await load(store, streamId, decider);
    if (opts.expectedRevision !== undefined && opts.expectedRevision !== revision) {
      throw new WrongExpectedRevisionError(streamId, opts.expectedRevision, revision < 0 ? 'no_stream' : revision);
    }
    const cmd = typeof command === 'function' ? (command as (s: State, r: number) => Command)(state, revision) : command;
    const events = decider.decide(cmd, state);
    if (events.length === 0) return { events, state, revision, position: null, eventIds: [] };
    const newEvents = toNewEvents(events, ctx);
    try {
      const res = await store.appendToStream(streamId, newEvents, { expectedRevision: revision < 0 ? 'no_stream' : revision });
      const next = events.reduce((s, e) => decider.evolve(s, e), state);
      return { events, state: next, revision: res.nextExpectedRevision, position: res.position, eventIds: newEvents.map((e) => e.eventId) };
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError && attempt < maxAttempts && opts.expectedRevision === undefined) continue;
      throw err;
    }
  }
}
