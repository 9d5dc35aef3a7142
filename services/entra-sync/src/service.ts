/**
 * The entra-sync service: pulls Entra ID into the lists connected to it. It keeps each list's
 * client secret sealed (SecretBox over a SecretStore: files embedded, MongoDB in production),
 * answers the admin API over the bus (secret, connection test, run), starts scheduled runs when
 * they are due, and runs them in the background (run.ts), one per list at a time across replicas:
 * a run starts by appending EntraRunStarted at the sync stream's expected revision, holds a lease
 * it renews while it reads, and ends with EntraRunFinished (its summary and the state the next run
 * starts from). A run whose process died is taken over once its lease runs out.
 */
import { randomUUID } from 'node:crypto';
import type { Bus, BusSubscription } from '@muster/bus';
import { subjects } from '@muster/bus';
import { streamPrefixes, streams, toNewEvents, type CommandContext } from '@muster/contracts';
import {
  DomainError, StreamStateCache, commandHandlerFor, entraSyncDecider, listDecider, liveRun, nextRunAt, type CommandHandler, type EntraSettings,
  type EntraSyncState, type ListState,
} from '@muster/domain';
import { EntraAuthError, GraphClient, GraphError, tokenProviderFor, type TokenProvider } from '@muster/entra-graph';
import { RunRequest, SecretRequest, TestRequest, type Reply, type RunStarted, type TestResult } from '@muster/entra-sync-contract';
import { WrongExpectedRevisionError, type EventStore } from '@muster/event-store';
import { MappingClient } from '@muster/mapping-contract';
import { ProjectionWaiter } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';
import type { SecretBox, SecretStore } from '@muster/secret-box';
import { z } from 'zod';
import { SyncRun, failureOf } from './run.ts';

export interface EntraSyncOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  secrets: SecretStore;
  box: SecretBox;
  /** token endpoint host: the client-credentials form POST when set (tests, proxies, sovereign clouds), else MSAL */
  authorityUrl?: string;
  graphUrl: string;
  graphScope?: string;
  /** attempts per Graph request (default 6) */
  graphAttempts?: number;
  tickMs: number;
  leaseMs: number;
  now?: () => Date;
  /** wait between retries of a throttled Graph request (tests shorten it) */
  sleep?: (ms: number) => Promise<void>;
}

const secretKey = (listId: string) => `entra-${listId}`;

class EntraError extends Error {
  constructor(readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

export class EntraSyncService {
  private readonly lists: StreamStateCache<ListState>;
  private readonly handler: CommandHandler;
  private readonly mapping: MappingClient;
  private readonly projection: ProjectionWaiter;
  private readonly now: () => Date;
  private subs: BusSubscription[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** runs going on in this process, by list */
  private readonly running = new Map<string, Promise<void>>();
  /** token providers by list, kept while the secret does not change */
  private readonly tokens = new Map<string, { secretVersion: number; clientId: string; tenantId: string; provider: TokenProvider }>();
  private stopped = false;
  ready = false;
  /** for /healthz: runs this process finished and failed, and the last failure */
  readonly stats = { runs: 0, failed: 0, lastError: null as string | null };

  constructor(private readonly o: EntraSyncOptions) {
    this.lists = new StreamStateCache(o.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
    this.handler = commandHandlerFor(o.store);
    this.mapping = new MappingClient(o.bus, 30_000);
    this.projection = new ProjectionWaiter(o.readStore);
    this.now = o.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    this.lists.start();
    const q = { queue: 'entra-sync' };
    this.subs.push(await this.o.bus.subscribe(subjects.entraSecret, async (m) => m.respond?.(await this.safe(() => this.setSecret(SecretRequest.parse(m.data)))), q));
    this.subs.push(await this.o.bus.subscribe(subjects.entraTest, async (m) => m.respond?.(await this.safe(() => this.test(TestRequest.parse(m.data).listId))), q));
    this.subs.push(await this.o.bus.subscribe(subjects.entraRun, async (m) => m.respond?.(await this.safe(() => { const r = RunRequest.parse(m.data); return this.startRun(r.listId, r.trigger); })), q));
    await this.lists.catchUp(30_000);
    this.timer = setInterval(() => { void this.tick(); }, this.o.tickMs);
    this.timer.unref?.();
    this.ready = true;
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const s of this.subs) await s.unsubscribe().catch(() => {});
    // runs going on stop at their next write; their leases lapse and the next run takes over
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((r) => setTimeout(r, 2_000))]);
    await this.lists.stop();
  }

  private async safe<T>(fn: () => Promise<T>): Promise<Reply<T>> {
    try {
      return { ok: true, result: await fn() };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
      if (err instanceof EntraError) return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
      if (err instanceof z.ZodError) return { ok: false, error: { code: 'invalid', message: err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
      return { ok: false, error: { code: 'internal', message: (err as Error).message } };
    }
  }

  private async entraList(listId: string): Promise<ListState & { sync: { entra: EntraSettings } }> {
    const list = await this.lists.getCurrent(streams.list(listId));
    if (!list?.exists) throw new DomainError('not_found', 'list not found');
    if (list.sync?.provider !== 'entra' || !list.sync.entra) throw new DomainError('conflict', 'Entra directory sync is not connected on this list');
    return list as ListState & { sync: { entra: EntraSettings } };
  }

  /** seal and keep the list's client secret (null: forget it); cached tokens of the old secret are dropped */
  private async setSecret(req: z.infer<typeof SecretRequest>): Promise<{ stored: boolean }> {
    this.tokens.delete(req.listId);
    if (req.clientSecret === null) { await this.o.secrets.delete(secretKey(req.listId)); return { stored: false }; }
    await this.o.secrets.put(secretKey(req.listId), this.o.box.seal(req.clientSecret, secretKey(req.listId)));
    return { stored: true };
  }

  private async graphFor(list: ListState & { sync: { entra: EntraSettings } }): Promise<GraphClient> {
    const e = list.sync.entra;
    let t = this.tokens.get(list.listId);
    if (!t || t.secretVersion !== e.secretVersion || t.clientId !== e.clientId || t.tenantId !== e.tenantId) {
      const sealed = await this.o.secrets.get(secretKey(list.listId));
      if (!sealed) throw new EntraError('authentication_failed', 'no client secret is stored for this connection; give one with PATCH /lists/{id}/sync/entra {"clientSecret": ...}');
      const clientSecret = this.o.box.open(sealed, secretKey(list.listId));
      const provider = tokenProviderFor({ authorityUrl: this.o.authorityUrl, tenantId: e.tenantId, clientId: e.clientId, clientSecret, scope: this.o.graphScope });
      t = { secretVersion: e.secretVersion, clientId: e.clientId, tenantId: e.tenantId, provider };
      this.tokens.set(list.listId, t);
    }
    return new GraphClient({ baseUrl: this.o.graphUrl, tokens: t.provider, maxAttempts: this.o.graphAttempts, ...(this.o.sleep ? { sleep: this.o.sleep } : {}) });
  }

  /** a real token request, then each scoped group looked up */
  private async test(listId: string): Promise<TestResult> {
    const list = await this.entraList(listId);
    const graph = await this.graphFor(list);
    try {
      await (this.tokens.get(listId)!.provider.getToken());
      const groups = await Promise.all(list.sync.entra.groupIds.map(async (id) => {
        try {
          const g = await graph.get<{ displayName?: string }>(graph.url(`groups/${encodeURIComponent(id)}?$select=id,displayName`));
          return { id, displayName: typeof g.displayName === 'string' ? g.displayName : null, found: true };
        } catch (err) {
          if (err instanceof GraphError && err.status === 404) return { id, displayName: null, found: false };
          throw err;
        }
      }));
      const missing = groups.filter((g) => !g.found);
      if (missing.length) throw new EntraError('group_not_found', `Entra has no group ${missing.map((g) => g.id).join(', ')} (or the app may not read it: Group.Read.All)`, { groups });
      return { ok: true, groups };
    } catch (err) {
      if (err instanceof EntraError) throw err;
      if (err instanceof EntraAuthError) throw new EntraError(err.code, err.message, err.entraError ? { entraError: err.entraError } : undefined);
      const f = failureOf(err);
      throw new EntraError(f.code === 'graph_error' || f.code === 'graph_bad_answer' ? 'graph_error' : 'graph_unreachable', f.message);
    }
  }

  private ctx(listId: string, runId: string): CommandContext {
    return {
      actor: { kind: 'system', id: 'entra-sync' }, source: { kind: 'entra', idp: 'entra', runId },
      correlationId: runId, causationId: runId, now: this.now(), newId: randomUUID,
    };
  }

  /** start a run of the list now (409 naming the running run when one goes on); it goes on in the background */
  async startRun(listId: string, trigger: 'manual' | 'schedule'): Promise<RunStarted> {
    const list = await this.entraList(listId);
    const runId = randomUUID();
    let started;
    try {
      started = await this.handler.handle(streams.entraSync(listId), entraSyncDecider, {
        type: 'StartRun', listId, runId, trigger, groupIds: list.sync.entra.groupIds, now: this.now(), leaseMs: this.o.leaseMs,
      }, this.ctx(listId, runId), { maxAttempts: 1 });
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      // another replica (or request) started one at the same moment: it is the running run
      const snap = await this.handler.load(streams.entraSync(listId), entraSyncDecider);
      const live = snap && liveRun(snap.state, this.now());
      throw new DomainError('conflict', `a run of this list is going on${live ? ` (${live.runId})` : ''}`, live ? { runId: live.runId } : {});
    }
    const state = started.snapshot.state;
    const run = this.execute(list, state, runId).catch((err: unknown) => {
      this.stats.failed++;
      this.stats.lastError = `run ${runId} of list ${listId}: ${(err as Error).message}`;
    }).finally(() => { if (this.running.get(listId) === run) this.running.delete(listId); });
    this.running.set(listId, run);
    return { runId, status: 'running' };
  }

  private async execute(list: ListState & { sync: { entra: EntraSettings } }, state: EntraSyncState, runId: string): Promise<void> {
    const listId = list.listId;
    const ctx = this.ctx(listId, runId);
    const finish = async (cmd: Awaited<ReturnType<SyncRun['execute']>>) => {
      const { changesetEvents, ...finishRun } = cmd;
      const now = { ...ctx, now: this.now() };
      const changeset = changesetEvents ? { streamId: streams.changeset(changesetEvents.changesetId), events: toNewEvents(changesetEvents.events, now), expectedRevision: 'no_stream' as const } : null;
      if (changeset && !this.handler.atomicAppends) await this.o.store.appendToStream(changeset.streamId, changeset.events, { expectedRevision: 'no_stream' });
      await this.handler.handle(streams.entraSync(listId), entraSyncDecider, { ...finishRun, now: this.now() }, now,
        changeset && this.handler.atomicAppends ? { alongside: () => [changeset] } : {});
      this.stats.runs++;
      if (finishRun.status === 'failed') { this.stats.failed++; this.stats.lastError = `run ${runId}: ${finishRun.error?.message}`; }
    };
    let graph: GraphClient;
    try {
      graph = await this.graphFor(list);
    } catch (err) {
      const error = err instanceof EntraError ? { code: err.code, message: err.message } : failureOf(err);
      const r = state.running!;
      await finish({ type: 'FinishRun', runId, status: 'failed', mode: r.mode, fullReason: r.fullReason, summary: { created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0 }, pages: 0, throttledWaits: 0, error, next: null, failures: [], held: 0, changesetId: null });
      return;
    }
    // the lease is renewed while the run goes on (every third of it), with the pages read so far
    let pages = 0;
    let renewing: Promise<unknown> = Promise.resolve();
    const keepAlive = setInterval(() => {
      renewing = this.handler.handle(streams.entraSync(listId), entraSyncDecider, { type: 'RenewLease', runId, pages, now: this.now(), leaseMs: this.o.leaseMs }, { ...ctx, now: this.now() }).catch(() => {});
    }, Math.max(500, this.o.leaseMs / 3));
    try {
      const run = new SyncRun({
        handler: this.handler, readStore: this.o.readStore, projection: this.projection, mapping: this.mapping, graph, now: this.now, newId: randomUUID,
        onPage: (n) => {
          if (this.stopped) throw new Error('the entra-sync service is stopping');
          pages = n;
        },
      }, { listId, runId, settings: list.sync.entra, state, mode: state.running!.mode, fullReason: state.running!.fullReason, ctx });
      const result = await run.execute();
      clearInterval(keepAlive);
      await renewing; // a renewal in flight lands before the finish (both append to the run's stream)
      if (this.stopped) return;
      await finish(result);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** scheduled runs that are due, each list once (another replica starting it first wins) */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    for (const [, list] of this.lists.all()) {
      const e = list.sync?.provider === 'entra' ? list.sync.entra : undefined;
      if (!list.exists || !e?.schedule || this.running.has(list.listId)) continue;
      try {
        const snap = await this.handler.load(streams.entraSync(list.listId), entraSyncDecider);
        const state = snap?.state;
        if (state && liveRun(state, now)) continue;
        const due = nextRunAt(e.schedule, state?.lastStartedAt ?? null, now);
        if (due && Date.parse(due) <= now.getTime()) await this.startRun(list.listId, 'schedule');
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'conflict')) { this.stats.lastError = `schedule of list ${list.listId}: ${(err as Error).message}`; }
      }
    }
  }
}
