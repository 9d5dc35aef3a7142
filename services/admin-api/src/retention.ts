/**
 * The erasure job: what a list's retention policy and a deleted list's grace period ask for.
 *
 * - A list with a retention policy (RetentionSet, `inactiveDays`): each person inactive for longer
 *   than that (the people read model's `deactivatedAt`) is erased, one PersonErased each, with the
 *   policy as the reason (trigger `retention`).
 * - A deleted list (ListArchived) whose `eraseAfter` has passed: everyone on it is erased (trigger
 *   `list-deleted`), then the list's own keys (its failed-request details, its imports' faulty cells)
 *   are deleted and ListErased recorded.
 *
 * Runs every `MUSTER_RETENTION_TICK_MS` in the admin API (and on demand: POST /admin/retention/run,
 * a deleted list with ?now=true). The clock is passed in (`now`), so tests move it. Each erasure is
 * the same workflow as an owner's (`PersonProvisioning.erase`); a run that stops half way is taken up
 * by the next (what is erased stays erased, the rest is found again).
 */
import { streams, type CommandContext } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { PersonProvisioning, Reservations, commandHandlerFor, listDecider, load, type CommandHandler } from '@muster/domain';
import type { PersonalDataVault } from '@muster/personal-data';
import { readModel, type ProjectionWaiter } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';

export interface RetentionRun { retention: number; listsErased: number; peopleOfDeletedLists: number; errors: string[] }

export class RetentionJob {
  private readonly handler: CommandHandler;
  private readonly provisioning: PersonProvisioning;
  private running: Promise<RetentionRun> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: {
    store: EventStore; readStore: ReadStore; vault: PersonalDataVault | null; projection: ProjectionWaiter;
    now: () => Date; newId: () => string; log: (line: string) => void;
  }) {
    this.handler = commandHandlerFor(d.store);
    this.provisioning = new PersonProvisioning(this.handler, new Reservations(this.handler));
  }

  /** every `everyMs` from now on (the first run after one interval) */
  schedule(everyMs: number): void {
    this.timer = setInterval(() => { void this.run().catch((err: Error) => this.d.log(`retention run failed: ${err.message}`)); }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** one run; concurrent callers share it */
  run(onlyList?: string): Promise<RetentionRun> {
    this.running ??= this.runOnce(onlyList).finally(() => { this.running = null; });
    return this.running;
  }

  private ctx(reason: string): CommandContext {
    const id = this.d.newId();
    return { actor: { kind: 'system', id: 'retention' }, source: { kind: 'system', operation: reason }, correlationId: id, now: this.d.now(), newId: this.d.newId };
  }

  private async runOnce(onlyList?: string): Promise<RetentionRun> {
    const out: RetentionRun = { retention: 0, listsErased: 0, peopleOfDeletedLists: 0, errors: [] };
    await this.d.projection.waitFor(await this.d.store.headPosition());
    const now = this.d.now();
    const lists = readModel(this.d.readStore, 'lists');
    const people = readModel(this.d.readStore, 'people');
    const shred = async (subject: string) => { if (this.d.vault) await this.d.vault.erase([subject]); };

    // retention policies
    const policed = await lists.find({ retentionDays: { $gte: 1 }, ...(onlyList ? { _id: onlyList } : {}) });
    for (const l of policed) {
      if (l.status === 'archived' || l.status === 'erased') continue;
      const days = l.retentionDays as number;
      const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
      const due = await people.find({ listId: l._id, status: 'inactive', deactivatedAt: { $lte: cutoff } }, { projection: { _id: 1 } });
      if (!due.length) continue;
      const { state: list } = await load(this.d.store, streams.list(l._id), listDecider);
      const reason = `retention policy: inactive for more than ${days} day${days === 1 ? '' : 's'}`;
      for (const p of due) {
        try {
          const groups = (await readModel(this.d.readStore, 'groups').find({ listId: l._id, members: p._id }, { projection: { _id: 1 } })).map((g) => g._id);
          const res = await this.provisioning.erase(list, p._id, { reason, trigger: 'retention', groups }, shred, this.ctx('RETENTION'));
          if (res.erased) out.retention++;
        } catch (err) {
          out.errors.push(`${p._id}: ${(err as Error).message}`);
        }
      }
    }

    // deleted lists past their grace period
    const deleted = await lists.find({ status: 'archived', eraseAfter: { $lte: now.toISOString() }, ...(onlyList ? { _id: onlyList } : {}) });
    for (const l of deleted) {
      const { state: list } = await load(this.d.store, streams.list(l._id), listDecider);
      const everyone = await people.find({ listId: l._id }, { projection: { _id: 1 } });
      let failed = false;
      for (const p of everyone) {
        try {
          const res = await this.provisioning.erase(list, p._id, { reason: 'the list was deleted', trigger: 'list-deleted' }, shred, this.ctx('LIST_DELETED'));
          if (res.erased) out.peopleOfDeletedLists++;
        } catch (err) {
          failed = true;
          out.errors.push(`${p._id}: ${(err as Error).message}`);
        }
      }
      if (failed) continue; // the next run tries again before the list is marked erased
      const imports = await readModel(this.d.readStore, 'imports').find({ listId: l._id }, { projection: { _id: 1 } });
      if (this.d.vault) await this.d.vault.erase([`list-${l._id}`, ...imports.map((i) => `import-${i._id}`)]);
      await this.handler.handle(streams.list(l._id), listDecider, { type: 'MarkListErased', people: everyone.length }, this.ctx('LIST_DELETED'));
      out.listsErased++;
    }
    if (out.retention || out.listsErased || out.errors.length) this.d.log(`retention run: ${JSON.stringify(out)}`);
    return out;
  }
}
