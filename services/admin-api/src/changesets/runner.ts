/**
 * Applies and rolls back changesets in the background, so a changeset of ten thousand changes never
 * holds a request. The changeset's stream says what is left to do (its status is `applying` or
 * `rolling_back`, and each change records whether it was applied or reverted), so a run picks up
 * where it stopped: after a restart (`resume`, at start and on a timer) as well as after a failure.
 *
 * Each person is written with the ordinary person command, with the values it is expected to hold:
 * a person the roster moved under since the apply's check is not overwritten (apply: the change goes
 * back to review; rollback: the field is kept). Writes to several people run a few at a time; their
 * results are recorded on the changeset stream in batches.
 */
import {
  streams, type Actor, type CommandContext, type EventMetadata, type Source,
} from '@muster/contracts';
import {
  changesetDecider, commandHandlerFor, personDecider, staleWrites, writesOf,
  type Change, type ChangesetCommand, type ChangesetState, type ChangesetWrite, type CommandHandler,
} from '@muster/domain';
import { readModel } from '@muster/read-models';
import { lastEventOf, type EventStore } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';

/** changes recorded per changeset event */
const BATCH = 250;
/** people written at once */
const PARALLEL = 8;

export interface RunnerOptions {
  store: EventStore;
  readStore: ReadStore;
  now: () => Date;
  newId: () => string;
  log: (message: string, err?: unknown) => void;
  /** how often to look for runs that stopped (another process died mid-run); 0: never */
  sweepMs?: number;
  /** resolves true once the read models have applied this log position (false: not in time) */
  projectedTo?: (position: number, timeoutMs: number) => Promise<boolean>;
}

/** who started a run and from where: the person events carry it, correlated by the changeset id */
interface RunContext { actor: Actor; source: Source; causationId: string; traceparent?: string }

export class ChangesetRunner {
  private readonly runs = new Map<string, Promise<void>>();
  private readonly handler: CommandHandler;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly opts: RunnerOptions) {
    this.handler = commandHandlerFor(opts.store);
  }

  /** resume what was left running, now and every sweepMs */
  start(): void {
    // at start the read models may be replaying the whole log: wait for them as long as that takes
    void this.resume(10 * 60_000);
    if (this.opts.sweepMs) {
      this.timer = setInterval(() => void this.resume(), this.opts.sweepMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.runs.values()]);
  }

  /** the run of this changeset (started if it is not running in this process); resolves when it ends */
  run(changesetId: string): Promise<void> {
    let p = this.runs.get(changesetId);
    if (!p) {
      p = this.execute(changesetId).catch((err) => this.opts.log(`changeset ${changesetId}: the run stopped and will be resumed`, err))
        .finally(() => this.runs.delete(changesetId));
      this.runs.set(changesetId, p);
    }
    return p;
  }

  isRunning(changesetId: string): boolean {
    return this.runs.has(changesetId);
  }

  /** start every changeset the read model shows applying or rolling back that is not running here */
  async resume(waitMs = 5_000): Promise<void> {
    if (this.stopping) return;
    try {
      // the read model of changesets must hold the log as it is (after a restart it may still be catching up)
      if (this.opts.projectedTo) {
        const head = await this.opts.store.headPosition();
        if (head >= 0 && !(await this.opts.projectedTo(head, waitMs))) return; // the next sweep looks again
        if (this.stopping) return;
      }
      const docs = await readModel(this.opts.readStore, 'changesets').find({ status: { $in: ['applying', 'rolling_back'] } }, { projection: { _id: 1 } });
      for (const d of docs) if (!this.runs.has(d._id)) void this.run(d._id);
    } catch (err) {
      if (!this.stopping) this.opts.log('changesets: could not look for runs to resume', err);
    }
  }

  private async load(changesetId: string): Promise<ChangesetState | null> {
    return (await this.handler.load(streams.changeset(changesetId), changesetDecider))?.state ?? null;
  }

  /** the actor, source and event of the command that started the current run */
  private async runContext(changesetId: string): Promise<RunContext> {
    const started = await lastEventOf(this.opts.store, streams.changeset(changesetId), ['ChangesetApplyStarted', 'ChangesetRollbackStarted']);
    const m = (started?.metadata ?? {}) as Partial<EventMetadata>;
    return {
      actor: m.actor ?? { kind: 'system', id: 'changesets' }, source: m.source ?? { kind: 'system' },
      causationId: started?.eventId ?? changesetId, ...(m.traceparent ? { traceparent: m.traceparent } : {}),
    };
  }

  /**
   * The person events of a run: correlated by the changeset, or by the import a CSV changeset came
   * from (source kind csv); the source names the changeset either way.
   */
  private ctx(s: Pick<ChangesetState, 'changesetId' | 'origin'>, run: RunContext): CommandContext {
    const csv = s.origin.kind === 'csv';
    // an Entra run's held deactivations: written as the sync's (source entra), correlated by the run
    const entra = s.origin.kind === 'entra-run';
    return {
      ...run, source: { ...run.source, ...(csv ? { kind: 'csv' as const } : {}), ...(entra ? { kind: 'entra' as const, idp: 'entra', runId: s.origin.id } : {}), changesetId: s.changesetId },
      correlationId: csv || entra ? s.origin.id : s.changesetId, now: this.opts.now(), newId: this.opts.newId,
    };
  }

  private async record(s: ChangesetState, run: RunContext, cmd: ChangesetCommand) {
    await this.handler.handle(streams.changeset(s.changesetId), changesetDecider, cmd, this.ctx(s, run));
  }

  private async execute(changesetId: string): Promise<void> {
    const first = await this.load(changesetId);
    if (!first || (first.status !== 'applying' && first.status !== 'rolling_back')) return;
    const run = await this.runContext(changesetId);
    for (;;) {
      if (this.stopping) return;
      const s = await this.load(changesetId);
      if (!s) return;
      if (s.status === 'applying') {
        const batch = s.changes.toSeq().filter((c) => !c.applied && c.decision === 'approved').take(BATCH).toArray();
        if (!batch.length) { await this.record(s, run, { type: 'FinishApply' }); return; }
        const results = await inParallel(batch, (c) => this.applyOne(s, c, run));
        await this.record(s, run, {
          type: 'RecordApplied',
          applied: results.flatMap((r) => (r.applied ? [r.applied] : [])),
          stale: results.flatMap((r) => r.stale),
        });
      } else if (s.status === 'rolling_back') {
        const batch = s.changes.toSeq().filter((c) => c.applied && !c.reverted).take(BATCH).toArray();
        if (!batch.length) { await this.record(s, run, { type: 'FinishRollback' }); return; }
        const force = new Set(s.force);
        const results = await inParallel(batch, (c) => this.revertOne(s, c, run, force));
        await this.record(s, run, { type: 'RecordRolledBack', reverted: batch.map((c) => ({ changeId: c.id, personId: c.personId })), kept: results.flat() });
      } else {
        return;
      }
    }
  }

  /** write one change to its person; stale (nothing written) when the roster moved under it */
  private async applyOne(s: ChangesetState, c: Change, run: RunContext) {
    const ctx = this.ctx(s, run);
    const stream = streams.person(c.personId);
    if (c.kind === 'create') {
      const fields = Object.fromEntries(c.fields.filter((f) => f.choice === 'proposed').map((f) => [f.field, f.proposed]));
      const res = await this.handler.handle(stream, personDecider, (cur) => (cur?.state.exists ? null : { type: 'CreatePerson' as const, personId: c.personId, listId: s.listId, fields, cause: 'changeset' as const }), ctx);
      return { applied: { changeId: c.id, personId: c.personId, revision: res.snapshot.revision }, stale: [] };
    }
    const w = writesOf(c);
    const cmd: ChangesetWrite = { type: 'WriteChangeset', fields: w.fields, status: w.status, cause: 'changeset', partial: false };
    let stale: Array<{ changeId: string; personId: string; field: string; master: unknown }> = [];
    const res = await this.handler.handle(stream, personDecider, (cur) => {
      // (a person is never deleted: one missing here was never on the roster, and nothing is written)
      stale = cur ? staleWrites(cur.state, cmd).map((x) => ({ changeId: c.id, personId: c.personId, field: x.field, master: x.current })) : [];
      return stale.length || !cur ? null : cmd;
    }, ctx);
    return stale.length ? { applied: null, stale } : { applied: { changeId: c.id, personId: c.personId, revision: res.snapshot.revision }, stale };
  }

  /** put one change's fields back; returns the fields kept because they changed since (`personId.field`) */
  private async revertOne(s: ChangesetState, c: Change, run: RunContext, force: ReadonlySet<string>): Promise<string[]> {
    const ctx = this.ctx(s, run);
    const stream = streams.person(c.personId);
    if (c.kind === 'create') {
      // people are never deleted: a person the changeset created is deactivated
      await this.handler.handle(stream, personDecider, { type: 'WriteChangeset', fields: [], status: { expect: 'active', value: 'inactive' }, cause: 'changeset-rollback', partial: true }, ctx);
      return [];
    }
    const w = writesOf(c);
    const forced = new Set(w.fields.filter((f) => force.has(`${c.personId}.${f.field}`)).map((f) => f.field));
    const cmd: ChangesetWrite = {
      type: 'WriteChangeset', cause: 'changeset-rollback', partial: true, force: forced,
      fields: w.fields.map((f) => ({ field: f.field, expect: f.value, value: f.expect })),
      status: w.status && w.status.expect ? { expect: w.status.value, value: w.status.expect } : null,
    };
    let kept: string[] = [];
    await this.handler.handle(stream, personDecider, (cur) => {
      kept = cur ? staleWrites(cur.state, cmd).map((x) => `${c.personId}.${x.field}`) : [];
      return cmd;
    }, ctx);
    return kept;
  }
}

/** map over items, `PARALLEL` at a time, results in order */
async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}
