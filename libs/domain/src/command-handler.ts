import { toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { WrongExpectedRevisionError, type AppendResult, type EventStore, type StreamAppend } from '@muster/event-store';
import type { Decider } from './decider.ts';
import { StreamCache, type StreamSnapshot } from './stream-cache.ts';

/** Undoes what a plan's `prepare` did (a reservation taken, say) when the append did not happen. */
export type Undo = () => Promise<void>;

/**
 * What to do with the stream's current state: the command, and optional steps around its append.
 * `prepare` runs after the command was decided into events (never for a no-op) and before they
 * are appended; the Undo it returns runs when the append fails. `after` runs after the append.
 * (Not called `then`: a plan returned from an async planner must not look like a promise.)
 */
export interface Plan<Command, State> {
  command: Command;
  prepare?: () => Promise<Undo | void>;
  after?: (done: Handled<State>) => Promise<void>;
}

/** Builds the plan from the stream as it is now (null: the stream does not exist); null = nothing to do. */
export type Planner<Command, State> = (current: StreamSnapshot<State> | null) => Plan<Command, State> | Command | null | Promise<Plan<Command, State> | Command | null>;

export interface HandleOptions {
  /**
   * Retry on a concurrency conflict (reload, plan and decide again), up to maxAttempts (default
   * true). False for a caller that named the revision it expects (If-Match): the conflict is theirs.
   */
  retry?: boolean;
  maxAttempts?: number;
  /**
   * The stream is new (its id was just made): no load, expected revision no_stream, and no retry
   * (a conflict means the id is taken, which the caller decides about).
   */
  isNew?: boolean;
  /**
   * Other streams' events that must be appended in the same atomic unit as the decided ones (each
   * with its expected revision). Only stores with appendToStreams can; elsewhere the handler
   * refuses (the caller takes a path of single-stream appends instead).
   */
  alongside?: (events: DomainEvent[]) => StreamAppend[];
}

export interface Handled<State> {
  /** the events appended (none when the command changed nothing) */
  events: DomainEvent[];
  /** the stream after the command */
  snapshot: StreamSnapshot<State>;
  /** global position of the last event appended, null when none was */
  position: number | null;
  eventIds: string[];
}

const DEFAULT_ATTEMPTS = 12;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(2 + attempt * 3, 25)));

function isPlan<C, S>(p: Plan<C, S> | C): p is Plan<C, S> {
  // commands carry a `type`; a plan carries its command
  return typeof p === 'object' && p !== null && 'command' in p && !('type' in p);
}

/**
 * The one command handler: load the stream (through the one stream cache), plan and decide,
 * append with the expected revision, retry on a concurrency conflict. Every write path uses it
 * (SCIM provisioning, the admin API, the mapping service); no other code retries appends.
 */
export class CommandHandler {
  readonly cache: StreamCache;

  constructor(readonly store: EventStore, opts: { cacheSize?: number } = {}) {
    this.cache = new StreamCache(store, opts.cacheSize);
  }

  /** whether this store can append to several streams atomically (alongside) */
  get atomicAppends(): boolean {
    return typeof this.store.appendToStreams === 'function';
  }

  load<State>(streamId: string, decider: Pick<Decider<unknown, State>, 'evolve' | 'initialState'>): Promise<StreamSnapshot<State> | null> {
    return this.cache.load(streamId, decider);
  }

  async handle<Command, State>(
    streamId: string, decider: Decider<Command, State>, planner: Planner<Command, State> | Command, ctx: CommandContext, opts: HandleOptions = {},
  ): Promise<Handled<State>> {
    const plan_ = typeof planner === 'function' ? (planner as Planner<Command, State>) : () => planner;
    const maxAttempts = opts.isNew || opts.retry === false ? 1 : (opts.maxAttempts ?? DEFAULT_ATTEMPTS);
    for (let attempt = 1; ; attempt++) {
      const current = opts.isNew ? null : await this.cache.load(streamId, decider);
      const planned = await plan_(current);
      const at = ctx.now.toISOString();
      const base: StreamSnapshot<State> = current ?? { state: decider.initialState(), revision: -1, created: at, lastModified: at };
      if (planned === null) return { events: [], snapshot: base, position: null, eventIds: [] };
      const plan: Plan<Command, State> = isPlan<Command, State>(planned) ? planned : { command: planned };
      const events = decider.decide(plan.command, base.state);
      if (!events.length) return { events, snapshot: base, position: null, eventIds: [] };
      const undo = plan.prepare ? await plan.prepare() : undefined;
      const newEvents = toNewEvents(events, ctx);
      let res: AppendResult;
      try {
        res = await this.append(streamId, newEvents, base.revision, events, opts);
      } catch (err) {
        if (undo) await undo().catch(() => {});
        if (err instanceof WrongExpectedRevisionError && attempt < maxAttempts) { await backoff(attempt); continue; }
        throw err;
      }
      const snapshot: StreamSnapshot<State> = {
        state: events.reduce((s, e) => decider.evolve(s, e), base.state), revision: res.nextExpectedRevision,
        created: current?.created ?? at, lastModified: at,
      };
      this.cache.remember(streamId, snapshot);
      const done: Handled<State> = { events, snapshot, position: res.position, eventIds: newEvents.map((e) => e.eventId) };
      if (plan.after) await plan.after(done);
      return done;
    }
  }

  private async append(streamId: string, newEvents: ReturnType<typeof toNewEvents>, revision: number, events: DomainEvent[], opts: HandleOptions): Promise<AppendResult> {
    const expectedRevision = revision < 0 ? 'no_stream' as const : revision;
    if (!opts.alongside) return this.store.appendToStream(streamId, newEvents, { expectedRevision });
    if (!this.store.appendToStreams) throw new Error('this event store cannot append to several streams atomically');
    const appends = [...opts.alongside(events), { streamId, events: newEvents, expectedRevision }];
    const results = await this.store.appendToStreams(appends);
    return results[results.length - 1];
  }
}
