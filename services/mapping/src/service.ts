import { randomUUID } from 'node:crypto';
import type { Bus, BusSubscription } from '@muster/bus';
import { subjects } from '@muster/bus';
import type { CommandContext, EventMetadata, FieldMapping, GroupRule } from '@muster/contracts';
import { streams, streamPrefixes } from '@muster/contracts';
import type { EventStore, RecordedEvent, Subscription } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import {
  DomainError, StreamStateCache, handleCommand, listDecider, personDecider, remapPending, type ListState, type PersonCommand,
} from '@muster/domain';
import { z } from 'zod';
import { GroupFeed } from './groups.ts';
import {
  MapCsvRequest, MapRequest, SetMappingsRequest, applyGroupRules, catalogueView, customSourcesOf, isCustomSource, isEntraSource, isKnownSource, mapCsvRows, mapResource,
  type CsvRowResult, type Reply, type SetMappingsResult,
} from '@muster/mapping-contract';
import { ProjectionWaiter } from '@muster/read-models';

export interface MappingServiceOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  now?: () => Date;
  /** how long a remap run waits for the read models to list everyone on the list (ms) */
  consistencyTimeoutMs?: number;
  /** first wait before an owed remap that failed is tried again (ms, doubling to 60 s; default 1,000) */
  remapRetryMs?: number;
  /** how long a save waits for its remap run before answering with the run still pending (ms; default 20,000) */
  remapWaitMs?: number;
}

/** people remapped at once in one run */
const REMAP_CONCURRENCY = 16;

interface RemapProgress { done: number; total: number; changed: number }


/** which attributes a list's mappings may read: its sync provider's (an Entra list: Graph properties and its directory extensions) */
export function knownSourcesOf(list: ListState): (source: string) => boolean {
  if (list.sync?.provider === 'entra') {
    const ext = list.sync.entra?.extensionAttributes ?? [];
    return (source) => isEntraSource(source, ext);
  }
  return isKnownSource;
}

/** the scoped Entra groups a synced user is a member of, by name (the sync keeps them on the user as memberOf) */
function entraGroupNames(user: Record<string, unknown>): string[] {
  const m = user.memberOf;
  return Array.isArray(m) ? m.flatMap((g) => (g && typeof g === 'object' && typeof (g as { displayName?: unknown }).displayName === 'string' ? [(g as { displayName: string }).displayName] : [])) : [];
}

/** checkpoint (in the read store) of the last group event whose group rules were applied */
export const GROUP_RULES_CHECKPOINT = 'mapping-group-rules';

/**
 * The mapping service: owns mapping configuration (list streams' MappingsChanged) and answers
 * map requests for every source (SCIM ingress, Entra sync, CSV import) over the bus.
 *
 * It also applies group rules: it follows the group-* streams the SCIM ingress appends, keeps
 * who is in which group, and when membership (or a group's name) changes it re-derives the
 * rule-driven fields of each affected person (AttributesChanged, cause 'group-rule', stamped with
 * the IdP request that changed the group so it shows in the provisioning log like any change).
 */
export class MappingService {
  private lists: StreamStateCache<ListState>;
  readonly groups: GroupFeed;
  private subs: BusSubscription[] = [];
  private readonly now: () => Date;
  ready = false;
  /** remap runs and mapping saves of one list, one at a time (a list id -> the tail of its chain) */
  private listChains = new Map<string, Promise<unknown>>();
  /** follows list streams so that a remap still owed (a crash, a failed run, another replica) gets finished */
  private listFeed: Subscription | null = null;
  /** the MappingsChanged event each owed remap comes from (causation of the remap's events) */
  private owedCause = new Map<string, RecordedEvent>();
  private retryTimers = new Map<string, NodeJS.Timeout>();
  private retryDelays = new Map<string, number>();
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly projection: ProjectionWaiter;
  /** remap runs in progress, by list */
  private progress = new Map<string, RemapProgress>();
  /** owed remaps this service finished, and runs that failed (retried); shown on /healthz */
  readonly remaps = { finished: 0, failures: 0, lastError: null as string | null };
  /** every remap run (after a save, or owed), by outcome; on /metrics */
  readonly remapRuns = { finished: 0, failed: 0 };

  constructor(private readonly opts: MappingServiceOptions) {
    this.lists = new StreamStateCache(opts.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
    this.groups = new GroupFeed(opts.store, (listId, personId, cause) => this.applyGroupRulesTo(listId, personId, cause),
      (position) => opts.readStore.setCheckpoint(GROUP_RULES_CHECKPOINT, position));
    this.now = opts.now ?? (() => new Date());
    this.projection = new ProjectionWaiter(opts.readStore);
  }

  async start(): Promise<void> {
    this.lists.start();
    const { bus } = this.opts;
    const q = { queue: 'mapping' };
    this.subs.push(await bus.subscribe(subjects.mappingMap, async (m) => m.respond?.(await this.safe(() => this.map(MapRequest.parse(m.data)))), q));
    this.subs.push(await bus.subscribe(subjects.mappingCsv, async (m) => m.respond?.(await this.safe(() => this.mapCsv(MapCsvRequest.parse(m.data)))), q));
    this.subs.push(await bus.subscribe(subjects.mappingCatalogue, async (m) => m.respond?.(await this.safe(() => this.catalogue(z.object({ listId: z.string().optional() }).parse(m.data ?? {}).listId))), q));
    this.subs.push(await bus.subscribe(subjects.mappingGet, async (m) => m.respond?.(await this.safe(() => this.get(z.object({ listId: z.string() }).parse(m.data).listId))), q));
    this.subs.push(await bus.subscribe(subjects.mappingSet, async (m) => m.respond?.(await this.safe(() => this.set(SetMappingsRequest.parse(m.data)))), q));
    await this.lists.catchUp(30_000);
    await this.groups.start((await this.opts.readStore.getCheckpoint(GROUP_RULES_CHECKPOINT)) ?? -1);
    // every list event (history first) is a chance to see a remap still owed; most lists owe none
    this.listFeed = this.opts.store.subscribeToAll({ filter: { streamPrefixes: [streamPrefixes.list] } }, (e) => {
      if (e.type === 'MappingsChanged') this.owedCause.set(e.streamId, e);
      if (e.type === 'MappingsChanged' || e.type === 'RemapCompleted') this.finishOwedRemap(e.streamId.slice(streamPrefixes.list.length));
    });
    this.ready = true;
  }

  /** runs `fn` after every earlier save or remap run of the list has settled */
  private inListOrder<T>(listId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.listChains.get(listId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => undefined, () => undefined);
    this.listChains.set(listId, tail);
    void tail.then(() => { if (this.listChains.get(listId) === tail) this.listChains.delete(listId); });
    return run;
  }

  /**
   * Finishes the list's owed remap, if it owes one: everyone re-derived under the current mappings,
   * then RemapCompleted. Queued behind any save of the same list (a save finishes its own remap,
   * so this usually finds nothing owed). A failure is retried later, with backoff.
   */
  private finishOwedRemap(listId: string): void {
    if (this.stopped || this.retryTimers.has(listId)) return;
    void this.inListOrder(listId, async () => {
      if (this.stopped) return;
      const list = await this.lists.getCurrent(streams.list(listId));
      if (!list?.exists || !remapPending(list)) return;
      const cause = this.owedCause.get(streams.list(listId));
      const cm = cause?.metadata as unknown as EventMetadata | undefined;
      const correlationId = cm?.correlationId ?? randomUUID();
      const ctx: CommandContext = {
        actor: { kind: 'system', id: 'mapping' }, source: { kind: 'remap' }, correlationId, causationId: cause?.eventId ?? correlationId,
        now: this.now(), newId: randomUUID, ...(cm?.traceparent ? { traceparent: cm.traceparent } : {}),
      };
      const run = await this.remapList(listId, list, ctx);
      await this.completeRemap(listId, list, run.changed, ctx);
      this.remaps.finished++;
    }).then(
      () => { this.retryDelays.delete(listId); },
      (err: unknown) => {
        if (this.stopped) return;
        this.remaps.failures++;
        this.remaps.lastError = `remap of list ${listId}: ${(err as Error).message}`;
        const delayMs = Math.min((this.retryDelays.get(listId) ?? (this.opts.remapRetryMs ?? 1_000) / 2) * 2, 60_000);
        this.retryDelays.set(listId, delayMs);
        const timer = setTimeout(() => { this.retryTimers.delete(listId); this.finishOwedRemap(listId); }, delayMs);
        timer.unref?.();
        this.retryTimers.set(listId, timer);
      },
    );
  }

  /** records that everyone has been re-derived under `list`'s mappings (no event when a later run already did) */
  private async completeRemap(listId: string, list: ListState, remapped: number, ctx: CommandContext) {
    return handleCommand(this.opts.store, streams.list(listId), listDecider, { type: 'CompleteRemap', mappingsVersion: list.mappingsVersion, remapped }, { ...ctx, now: this.now() });
  }

  private async safe<T>(fn: () => Promise<T>): Promise<Reply<T>> {
    try {
      return { ok: true, result: await fn() };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, error: { code: err.code, message: err.message, details: err.details } };
      if (err instanceof z.ZodError) return { ok: false, error: { code: 'invalid', message: err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
      return { ok: false, error: { code: 'internal', message: (err as Error).message } };
    }
  }

  private async list(listId: string): Promise<ListState> {
    let s = this.lists.get(streams.list(listId));
    if (!s?.exists) s = await this.lists.getFresh(streams.list(listId));
    if (!s?.exists) throw new DomainError('not_found', 'list not found');
    return s;
  }

  async map(req: z.infer<typeof MapRequest>): Promise<{ fields: Record<string, unknown> }> {
    const list = await this.list(req.listId);
    const entra = list.sync?.provider === 'entra';
    const fields = mapResource(req.resource, list.mappings, entra ? 'entra' : 'scim');
    const groups = req.groups ?? (entra ? entraGroupNames(req.resource) : undefined);
    if (list.groupRules.length && groups) Object.assign(fields, applyGroupRules(groups, list.groupRules, list.fields));
    return { fields };
  }

  /** the catalogue, with the directory extensions of the list's Entra connection when a list is named */
  private async catalogue(listId: string | undefined) {
    if (!listId) return catalogueView();
    const list = await this.list(listId);
    return catalogueView(list.sync?.entra?.extensionAttributes ?? []);
  }

  /** CSV rows (a batch of an import) to field values of the list's types: CSV as a source kind of the one mapping pipeline */
  async mapCsv(req: z.infer<typeof MapCsvRequest>): Promise<{ results: CsvRowResult[] }> {
    // current: a field added right before the import is known
    const list = await this.lists.getCurrent(streams.list(req.listId));
    if (!list?.exists) throw new DomainError('not_found', 'list not found');
    const known = new Set(list.fields.map((f) => f.key));
    const unknown = Object.values(req.mapping).map((m) => m.field).filter((f) => !known.has(f));
    if (unknown.length) throw new DomainError('invalid', `the list has no field ${[...new Set(unknown)].map((f) => `"${f}"`).join(', ')}`);
    return { results: mapCsvRows(list.fields, req.columns, req.mapping, req.rows) };
  }

  /** The list's mappings and group rules, plus the custom extension attributes its people carry (mappable). */
  async get(listId: string): Promise<{ mappings: FieldMapping[]; groupRules: GroupRule[]; customAttributes: string[]; remap: { pending: boolean; mappingsVersion: number; progress?: RemapProgress } }> {
    // current, not merely cached: an admin reading right after a save sees it (and its remap state)
    const list = await this.lists.getCurrent(streams.list(listId));
    if (!list?.exists) throw new DomainError('not_found', 'list not found');
    const docs = await this.opts.readStore.collection('people').find({ listId, linked: true }, { projection: { _id: 1, scimResource: 1 } });
    const custom = new Set<string>();
    for (const d of docs) if (d.scimResource) for (const s of customSourcesOf(d.scimResource as Record<string, unknown>)) custom.add(s);
    for (const m of list.mappings) if (isCustomSource(m.source)) custom.add(m.source);
    // an Entra list's custom attributes are the directory extensions its connection selects
    if (list.sync?.provider === 'entra') { custom.clear(); for (const x of list.sync.entra?.extensionAttributes ?? []) custom.add(x); }
    return {
      mappings: list.mappings, groupRules: list.groupRules, customAttributes: [...custom].sort(),
      // pending: the current mappings are not yet applied to everyone (a remap run is under way or owed)
      remap: { pending: remapPending(list), mappingsVersion: list.mappingsVersion, ...(this.progress.has(listId) ? { progress: { ...this.progress.get(listId)! } } : {}) },
    };
  }

  /**
   * Save mappings, then re-apply them to everyone already on the list (a remap run) and record
   * RemapCompleted. Saves and remap runs of one list take turns. Should the run stop early (a crash,
   * an error), the MappingsChanged without its RemapCompleted is a remap still owed, which this
   * service finishes on its own (finishOwedRemap).
   */
  async set(req: z.infer<typeof SetMappingsRequest>): Promise<SetMappingsResult> {
    // the save and its run take their turn in the list's order; the answer waits for the run only
    // so long (remapWaitMs): a large list's run goes on, shown as pending (GET mappings: remap)
    let onSaved!: (saved: { changed: boolean; position: number | null; state: ListState }) => void;
    const saved = new Promise<{ changed: boolean; position: number | null; state: ListState }>((resolve) => { onSaved = resolve; });
    const run = this.inListOrder(req.listId, () => this.setInOrder(req, onSaved));
    const first = await Promise.race([saved, run]);
    if ('remapped' in first) return first;
    const waitMs = this.opts.remapWaitMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    // once saved, a run that fails is not the save's failure: finishOwedRemap (queued behind this
    // run by the MappingsChanged it saw) tries again, with backoff; the answer says it is pending
    const settled = run.catch(() => null);
    const waited = await Promise.race([settled, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), waitMs); })]);
    clearTimeout(timer);
    if (waited) return waited;
    return {
      changed: first.changed, position: first.position, remapped: this.progress.get(req.listId)?.changed ?? 0,
      remap: { pending: true, mappingsVersion: first.state.mappingsVersion },
    };
  }

  private async setInOrder(req: z.infer<typeof SetMappingsRequest>, onSaved: (saved: { changed: boolean; position: number | null; state: ListState }) => void): Promise<SetMappingsResult> {
    const { store } = this.opts;
    const correlationId = req.correlationId;
    const res = await handleCommand(store, streams.list(req.listId), listDecider, (state) => ({
      type: 'SetMappings' as const, mappings: req.mappings, groupRules: req.groupRules, knownSources: knownSourcesOf(state),
    }), {
      actor: req.actor, source: { kind: 'admin-api', ...(req.source ?? {}) }, correlationId, now: this.now(), newId: randomUUID,
      ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    });
    const changed = res.events.length > 0;
    onSaved({ changed, position: res.position, state: res.state });
    // Unchanged mappings are re-applied too: saving them again completes a remap that an earlier
    // save could not finish (its mappings stored, some people not yet remapped). People already
    // current get no event, so a repeated save writes nothing.
    const remapCtx: CommandContext = {
      actor: { kind: 'system', id: 'mapping' }, source: { kind: 'remap' }, correlationId, causationId: changed ? res.eventIds[0] : correlationId, now: this.now(), newId: randomUUID,
      ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    };
    const remap = await this.remapList(req.listId, res.state, remapCtx);
    const done = await this.completeRemap(req.listId, res.state, remap.changed, remapCtx);
    return {
      changed, position: done.position ?? remap.position ?? (changed ? res.position : null), remapped: remap.changed,
      remap: { pending: false, mappingsVersion: res.state.mappingsVersion },
    };
  }

  /** Wait (bounded) until the projection has applied everything stored so far, so the people list is complete. */
  private async readModelsCurrent(): Promise<void> {
    const target = await this.opts.store.headPosition();
    if (await this.projection.waitFor(target, this.opts.consistencyTimeoutMs ?? 10_000, this.stopping.signal)) return;
    if (this.stopped) throw new Error('mapping service stopping; remap not run');
    throw new Error(`read models did not reach position ${target}; remap not run`);
  }

  /** Mapped fields plus group-rule fields for one person under the list's current configuration. */
  private derivedFields(list: ListState, personId: string, scim: Record<string, unknown> | null): Record<string, unknown> {
    const entra = list.sync?.provider === 'entra';
    const fields = scim ? mapResource(scim, list.mappings, entra ? 'entra' : 'scim') : {};
    const groups = entra ? entraGroupNames(scim ?? {}) : this.groups.membership.groupNamesOf(personId, list.listId);
    if (list.groupRules.length) Object.assign(fields, applyGroupRules(groups, list.groupRules, list.fields));
    return fields;
  }

  /**
   * Re-derives everyone on the list under `list`'s mappings: people a few at a time (REMAP_CONCURRENCY,
   * so their appends share durable writes), each person's stream loaded, decided and appended as usual.
   */
  private async remapList(listId: string, list: ListState, ctx: CommandContext) {
    const { store, readStore } = this.opts;
    await Promise.all([this.readModelsCurrent(), this.groups.catchUp()]);
    const people = await readStore.collection('people').find({ listId }, { projection: { _id: 1 } });
    const progress: RemapProgress = { done: 0, total: people.length, changed: 0 };
    this.progress.set(listId, progress);
    let position: number | null = null;
    let next = 0;
    /** the first failure stops every worker; the run ends only once none is still writing */
    let failure: { error: unknown } | null = null;
    const worker = async () => {
      while (next < people.length && !failure) {
        if (this.stopped) { failure = { error: new Error('mapping service stopping; remap not finished') }; break; }
        const p = people[next++];
        try {
          const r = await handleCommand(store, streams.person(p._id), personDecider, (state): PersonCommand => {
            // only people the sync feeds are remapped; people an admin created keep their values
            const fields = state.scim ? this.derivedFields(list, p._id, state.scim) : {};
            return { type: 'Remap', fields, cause: 'remap' };
          }, { ...ctx, now: this.now() });
          if (r.events.length) { progress.changed++; position = Math.max(position ?? -1, r.position ?? -1); }
          progress.done++;
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(REMAP_CONCURRENCY, people.length) }, worker));
    } finally {
      if (this.progress.get(listId) === progress) this.progress.delete(listId);
    }
    if (failure) { this.remapRuns.failed++; throw (failure as { error: unknown }).error; }
    this.remapRuns.finished++;
    return { changed: progress.changed, position };
  }

  /** A group event touched this person: re-derive their group-rule fields (no event when nothing changes). */
  private async applyGroupRulesTo(listId: string, personId: string, cause: RecordedEvent): Promise<void> {
    await this.lists.catchUp();
    const list = this.lists.get(streams.list(listId));
    if (!list?.exists || !list.groupRules.length) return;
    const fields = applyGroupRules(this.groups.membership.groupNamesOf(personId, listId), list.groupRules, list.fields);
    const m = cause.metadata as unknown as EventMetadata;
    const ctx: CommandContext = {
      actor: m.actor ?? { kind: 'system', id: 'mapping' },
      // same source as the IdP request that changed the group: logged like any other change of this person
      source: { ...(m.source ?? {}), kind: 'scim', operation: 'UPDATE' },
      correlationId: m.correlationId ?? cause.eventId, causationId: cause.eventId, now: this.now(), newId: randomUUID,
      ...(m.traceparent ? { traceparent: m.traceparent } : {}),
    };
    try {
      await handleCommand(this.opts.store, streams.person(personId), personDecider, (state): PersonCommand => {
        if (state.exists && state.listId !== listId) throw new DomainError('not_found', 'person is on another list');
        return { type: 'Remap', fields, cause: 'group-rule' };
      }, ctx);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'not_found') return; // member without a person on this list
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    await this.listFeed?.stop();
    this.listFeed = null;
    for (const s of this.subs) await s.unsubscribe();
    // a remap run in progress stops at its next person (it stays owed, finished after the next start)
    await Promise.all([...this.listChains.values()]);
    await this.groups.stop();
    await this.lists.stop();
  }
}

