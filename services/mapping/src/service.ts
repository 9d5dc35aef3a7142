import { randomUUID } from 'node:crypto';
import type { Bus, BusSubscription } from '@muster/bus';
import { subjects } from '@muster/bus';
import type { Actor, FieldMapping, GroupRule } from '@muster/contracts';
import { FieldMapping as FieldMappingSchema, GroupRule as GroupRuleSchema, streams, streamPrefixes } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import {
  DomainError, StreamStateCache, handleCommand, listDecider, personDecider, type ListState, type PersonCommand,
} from '@muster/domain';
import { z } from 'zod';
import { catalogue, isKnownSource } from './catalogue.ts';
import { applyGroupRules, mapResource } from './map.ts';

/** Replies on the bus are envelopes so domain errors keep their code across the wire. */
export type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

export const MapRequest = z.object({
  listId: z.string(),
  resource: z.record(z.string(), z.unknown()),
  groups: z.array(z.string()).optional(),
});
export const SetMappingsRequest = z.object({
  listId: z.string(),
  mappings: z.array(FieldMappingSchema),
  groupRules: z.array(GroupRuleSchema).default([]),
  actor: z.object({ kind: z.enum(['admin', 'scim-token', 'system', 'cli']), id: z.string() }),
  correlationId: z.string(),
});

export interface MappingServiceOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  now?: () => Date;
}

/**
 * The mapping service: owns mapping configuration (list streams' MappingsChanged) and answers
 * map requests for every source (SCIM ingress, Entra sync, CSV import) over the bus.
 */
export class MappingService {
  private lists: StreamStateCache<ListState>;
  private subs: BusSubscription[] = [];
  private readonly now: () => Date;
  ready = false;

  constructor(private readonly opts: MappingServiceOptions) {
    this.lists = new StreamStateCache(opts.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
    this.now = opts.now ?? (() => new Date());
  }

  async start(): Promise<void> {
    this.lists.start();
    const { bus } = this.opts;
    const q = { queue: 'mapping' };
    this.subs.push(await bus.subscribe(subjects.mappingMap, async (m) => m.respond?.(await this.safe(() => this.map(MapRequest.parse(m.data)))), q));
    this.subs.push(await bus.subscribe(subjects.mappingCatalogue, (m) => m.respond?.({ ok: true, result: { attributes: catalogue } }), q));
    this.subs.push(await bus.subscribe(subjects.mappingGet, async (m) => m.respond?.(await this.safe(() => this.get(z.object({ listId: z.string() }).parse(m.data).listId))), q));
    this.subs.push(await bus.subscribe(subjects.mappingSet, async (m) => m.respond?.(await this.safe(() => this.set(SetMappingsRequest.parse(m.data)))), q));
    await this.lists.catchUp(30_000);
    this.ready = true;
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
    const fields = mapResource(req.resource, list.mappings);
    if (list.groupRules.length && req.groups) Object.assign(fields, applyGroupRules(req.groups, list.groupRules, list.fields));
    return { fields };
  }

  async get(listId: string): Promise<{ mappings: FieldMapping[]; groupRules: GroupRule[] }> {
    const list = await this.list(listId);
    return { mappings: list.mappings, groupRules: list.groupRules };
  }

  /** Save mappings, then re-apply them to everyone already on the list (a remap run). */
  async set(req: z.infer<typeof SetMappingsRequest>) {
    const { store } = this.opts;
    const correlationId = req.correlationId;
    const ctx = (actor: Actor) => ({
      actor, source: { kind: 'admin-api' as const }, correlationId, now: this.now(), newId: randomUUID,
    });
    const res = await handleCommand(store, streams.list(req.listId), listDecider, {
      type: 'SetMappings', mappings: req.mappings, groupRules: req.groupRules, knownSources: isKnownSource,
    }, ctx(req.actor));
    if (res.events.length === 0) return { changed: false, position: null as number | null, remapped: 0 };
    const remap = await this.remapList(req.listId, res.state, { ...ctx({ kind: 'system', id: 'mapping' }), source: { kind: 'remap' as const }, causationId: res.eventIds[0] });
    return { changed: true, position: remap.position ?? res.position, remapped: remap.changed };
  }

  private async remapList(listId: string, list: ListState, ctx: Parameters<typeof handleCommand>[4]) {
    const { store, readStore } = this.opts;
    const people = await readStore.collection('people').find({ listId }, { projection: { _id: 1 } });
    let changed = 0;
    let position: number | null = null;
    for (const p of people) {
      const r = await handleCommand(store, streams.person(p._id), personDecider, (state): PersonCommand => {
        const fields = state.scim ? mapResource(state.scim, list.mappings) : {};
        return { type: 'Remap', fields, cause: 'remap' };
      }, { ...ctx, now: this.now() });
      if (r.events.length) { changed++; position = r.position; }
    }
    return { changed, position };
  }

  async stop(): Promise<void> {
    for (const s of this.subs) await s.unsubscribe();
    await this.lists.stop();
  }
}
