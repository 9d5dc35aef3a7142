import type { CommandContext, DomainEvent } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@muster/event-store';
import { CommandHandler } from './command-handler.ts';
import type { Decider } from './decider.ts';

/**
 * The command handler of a store, one per store object, shared by every caller in this process
 * (its stream cache is always checked against the store, so sharing it is safe).
 */
const handlers = new WeakMap<EventStore, CommandHandler>();
export function commandHandlerFor(store: EventStore): CommandHandler {
  let h = handlers.get(store);
  if (!h) { h = new CommandHandler(store); handlers.set(store, h); }
  return h;
}

export interface Loaded<State> {
  state: State;
  /** current stream revision, -1 when the stream does not exist */
  revision: number;
}

/** The stream folded by `d` (through the store's command handler and its cache). */
export async function load<State>(
  store: EventStore, streamId: string, d: Pick<Decider<unknown, State>, 'evolve' | 'initialState'>,
): Promise<Loaded<State>> {
  const snap = await commandHandlerFor(store).load(streamId, d);
  return snap ? { state: snap.state, revision: snap.revision } : { state: d.initialState(), revision: -1 };
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
 * Load the stream, decide, append with the expected revision; on a concurrency conflict reload
 * and decide again (bounded): the store's CommandHandler. `command` may depend on the loaded state.
 * With `expectedRevision` the stream must be at that revision (no retry).
 */
export async function handleCommand<Command, State>(
  store: EventStore,
  streamId: string,
  decider: Decider<Command, State>,
  command: Command | ((state: State, revision: number) => Command),
  ctx: CommandContext,
  opts: { maxAttempts?: number; expectedRevision?: number } = {},
): Promise<HandleResult<State>> {
  const done = await commandHandlerFor(store).handle(streamId, decider, (current) => {
    const revision = current?.revision ?? -1;
    if (opts.expectedRevision !== undefined && opts.expectedRevision !== revision) {
      throw new WrongExpectedRevisionError(streamId, opts.expectedRevision, revision < 0 ? 'no_stream' : revision);
    }
    const state = current?.state ?? decider.initialState();
    return typeof command === 'function' ? (command as (s: State, r: number) => Command)(state, revision) : command;
  }, ctx, { maxAttempts: opts.maxAttempts ?? 5, retry: opts.expectedRevision === undefined });
  return { events: done.events, state: done.snapshot.state, revision: done.snapshot.revision, position: done.position, eventIds: done.eventIds };
}
