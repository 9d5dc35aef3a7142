import { streams, toNewEvents, type CommandContext, type DomainEvent, type UniqueIdentifier } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '@muster/event-store';
import { DomainError, load, personDecider, type ListState, type PersonCommand, type PersonState } from '@muster/domain';
import type { MappingClient } from '@muster/mapping';
import type { ReadStore } from '@muster/read-store';
import {
  ENTERPRISE_USER_SCHEMA_ID, ScimError, USER_SCHEMA_ID, applyPatch, diffResources, evaluateFilter, filterToQuery, normalizeUserInput,
  parseFilter, parsePatchRequest, sortResources, validateFilter, type FilterNode, type ResourceSchema, type ScimResource,
} from '@muster/scim';
import { claim, ownerOf, release, type ReservationKind } from './reservations.ts';

export interface IngressDeps {
  store: EventStore;
  readStore: ReadStore;
  mapping: MappingClient;
  now: () => Date;
  newId: () => string;
  baseUrl: (listId: string) => string;
  userSchema: ResourceSchema;
  /** read-your-writes: wait until the projection has applied `position` */
  waitForProjection: (position: number) => Promise<void>;
  maxFilterLength: number;
  maxResults: number;
}

export interface WriteOutcome {
  resource: ScimResource | null;
  /** the event appended, or null when the request changed nothing */
  event: DomainEvent | null;
  position: number | null;
}

type Meta = { created: string; lastModified: string; revision: number };

const conflictError = (detail: string) => new ScimError({ status: 409, scimType: 'uniqueness', detail });
const notFoundError = (id: string) => new ScimError({ status: 404, detail: `User ${id} not found` });
export const preconditionFailed = (detail = 'resource version does not match If-Match') => new ScimError({ status: 412, detail });

export const etagOf = (revision: number) => `W/"${revision}"`;
export function etagMatches(header: string | undefined, revision: number): boolean {
  if (!header) return true;
  const tags = header.split(',').map((t) => t.trim());
  return tags.includes('*') || tags.some((t) => t.replace(/^W\//, '') === `"${revision}"`);
}

/** The visible unique identifier the list chose, taken from a SCIM user. */
export function uniqueIdOf(resource: ScimResource, choice: UniqueIdentifier | undefined): string | undefined {
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  switch (choice) {
    case 'employeeNumber': return str((resource[ENTERPRISE_USER_SCHEMA_ID] as Record<string, unknown> | undefined)?.employeeNumber);
    case 'userName': return str(resource.userName);
    case 'email': {
      const emails = Array.isArray(resource.emails) ? (resource.emails as Array<Record<string, unknown>>) : [];
      const e = emails.find((x) => x.primary === true) ?? emails.find((x) => String(x.type).toLowerCase() === 'work') ?? emails[0];
      return str(e?.value);
    }
    default: return undefined;
  }
}

function keysOf(resource: ScimResource, list: ListState): Array<[ReservationKind, string]> {
  const keys: Array<[ReservationKind, string]> = [];
  if (typeof resource.userName === 'string' && resource.userName) keys.push(['userName', resource.userName]);
  const uid = uniqueIdOf(resource, list.sync?.uniqueIdentifier);
  if (uid && list.sync?.uniqueIdentifier !== 'userName') keys.push(['uid', uid]);
  if (typeof resource.externalId === 'string' && resource.externalId) keys.push(['externalId', resource.externalId]);
  return keys;
}

const KIND_LABEL: Record<ReservationKind, string> = { userName: 'userName', uid: 'unique identifier', externalId: 'externalId', groupName: 'displayName' };

/** The SCIM User resource we return: stored attributes + id + meta. */
export function toUserResource(personId: string, scim: ScimResource, meta: Meta, baseUrl: string, groups: Array<{ value: string; display?: string }> = []): ScimResource {
  const { schemas: _s, id: _i, meta: _m, groups: _g, ...attrs } = scim as Record<string, unknown>;
  const schemas = [USER_SCHEMA_ID, ...Object.keys(attrs).filter((k) => k.startsWith('urn:'))];
  return {
    schemas, id: personId, ...attrs,
    ...(groups.length ? { groups: groups.map((g) => ({ value: g.value, display: g.display, $ref: `${baseUrl}/Groups/${g.value}`, type: 'direct' })) } : {}),
    meta: { resourceType: 'User', created: meta.created, lastModified: meta.lastModified, location: `${baseUrl}/Users/${personId}`, version: etagOf(meta.revision) },
  };
}

const metaOf = (first: RecordedEvent, last: RecordedEvent): Meta => ({
  created: String((first.metadata as { occurredAt: string }).occurredAt),
  lastModified: String((last.metadata as { occurredAt: string }).occurredAt),
  revision: last.revision,
});

export class UserService {
  constructor(private readonly d: IngressDeps) {}

  private async loadPerson(listId: string, id: string) {
    const recorded = await this.d.store.readStream(streams.person(id));
    let state: PersonState = personDecider.initialState();
    for (const r of recorded) state = personDecider.evolve(state, { type: r.type, data: r.data } as DomainEvent);
    const found = state.exists && state.linked && state.listId === listId && state.scim;
    return { state, recorded, found: !!found, revision: recorded.length ? recorded[recorded.length - 1].revision : -1 };
  }

  private async groupsOf(personId: string) {
    const doc = await this.d.readStore.collection('people').findOne({ _id: personId }, { projection: { groups: 1 } });
    const ids = (doc?.groups as string[] | undefined) ?? [];
    if (!ids.length) return [];
    const groups = await this.d.readStore.collection('groups').find({ _id: { $in: ids } }, { projection: { displayName: 1 } });
    return groups.map((g) => ({ value: g._id, display: g.displayName as string }));
  }

  async get(listId: string, id: string): Promise<{ resource: ScimResource; revision: number }> {
    const p = await this.loadPerson(listId, id);
    if (!p.found) throw notFoundError(id);
    const resource = toUserResource(id, p.state.scim!, metaOf(p.recorded[0], p.recorded[p.recorded.length - 1]), this.d.baseUrl(listId), await this.groupsOf(id));
    return { resource, revision: p.revision };
  }

  /** Append one person event with the expected revision; the caller retries on conflict. */
  private async append(personId: string, events: DomainEvent[], revision: number, ctx: CommandContext) {
    const res = await this.d.store.appendToStream(streams.person(personId), toNewEvents(events, ctx), { expectedRevision: revision < 0 ? 'no_stream' : revision });
    return res;
  }

  private async decideAndAppend(personId: string, cmd: PersonCommand, state: PersonState, revision: number, ctx: CommandContext) {
    const events = personDecider.decide(cmd, state);
    if (!events.length) return { event: null, position: null, revision };
    const res = await this.append(personId, events, revision, ctx);
    return { event: events[0], position: res.position, revision: res.nextExpectedRevision };
  }

  private async resourceAfter(listId: string, personId: string): Promise<ScimResource> {
    return (await this.get(listId, personId)).resource;
  }

  async create(list: ListState, body: unknown, ctx: CommandContext): Promise<WriteOutcome> {
    const input = normalizeUserInput(body, this.d.userSchema);
    const keys = keysOf(input, list);
    // an earlier, unlinked person with the same identity is relinked instead of duplicated
    let relink: string | null = null;
    for (const [kind, value] of keys) {
      const { owner } = await ownerOf(this.d.store, list.listId, kind, value);
      if (!owner) continue;
      const other = await this.loadPerson(list.listId, owner);
      if (other.state.exists && other.state.linked) throw conflictError(`a User with this ${KIND_LABEL[kind]} already exists`);
      if (relink && relink !== owner) throw conflictError(`this ${KIND_LABEL[kind]} belongs to a different deprovisioned person than the other identifiers`);
      relink = owner;
    }
    const personId = relink ?? this.d.newId();
    const claimed: Array<[ReservationKind, string]> = [];
    for (const [kind, value] of keys) {
      const owner = await claim(this.d.store, list.listId, kind, value, personId, ctx);
      if (owner !== null) {
        for (const [k, v] of claimed) await release(this.d.store, list.listId, k, v, personId, ctx);
        throw conflictError(`a User with this ${KIND_LABEL[kind]} already exists`);
      }
      if (!relink) claimed.push([kind, value]);
    }
    try {
      const { fields } = await this.d.mapping.map(list.listId, input);
      for (let attempt = 0; ; attempt++) {
        const p = await this.loadPerson(list.listId, personId);
        try {
          const r = await this.decideAndAppend(personId, { type: 'Provision', personId, listId: list.listId, scim: input, fields }, p.state, p.revision, ctx);
          return { resource: await this.resourceAfter(list.listId, personId), event: r.event, position: r.position };
        } catch (err) {
          if (err instanceof WrongExpectedRevisionError && attempt < 4) continue;
          throw err;
        }
      }
    } catch (err) {
      for (const [k, v] of claimed) await release(this.d.store, list.listId, k, v, personId, ctx).catch(() => {});
      if (err instanceof DomainError && err.code === 'conflict') throw conflictError(err.message);
      throw err;
    }
  }

  /** PUT and PATCH: compute the new resource from the current one, then decide; retried on conflict. */
  private async update(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext, next: (current: ScimResource) => ScimResource): Promise<WriteOutcome> {
    for (let attempt = 0; ; attempt++) {
      const p = await this.loadPerson(list.listId, id);
      if (!p.found) throw notFoundError(id);
      if (!etagMatches(ifMatch, p.revision)) throw preconditionFailed();
      const before = p.state.scim!;
      const after = next(before);
      const scimChanges = diffResources(before, after);
      // identifiers that change must be claimed before the change is recorded
      const oldKeys = new Map(keysOf(before, list).map(([k, v]) => [k, v]));
      const newKeys = keysOf(after, list).filter(([k, v]) => oldKeys.get(k)?.toLowerCase() !== v.toLowerCase());
      const claimed: Array<[ReservationKind, string]> = [];
      for (const [kind, value] of newKeys) {
        const owner = await claim(this.d.store, list.listId, kind, value, id, ctx);
        if (owner !== null) {
          for (const [k, v] of claimed) await release(this.d.store, list.listId, k, v, id, ctx);
          throw conflictError(`another User already has this ${KIND_LABEL[kind]}`);
        }
        claimed.push([kind, value]);
      }
      try {
        const { fields } = await this.d.mapping.map(list.listId, after);
        const r = await this.decideAndAppend(id, { type: 'ScimUpdate', scim: after, scimChanges, fields }, p.state, p.revision, ctx);
        for (const [kind] of newKeys) {
          const old = oldKeys.get(kind);
          if (old) await release(this.d.store, list.listId, kind, old, id, ctx);
        }
        const resource = r.event ? await this.resourceAfter(list.listId, id) : toUserResource(id, before, metaOf(p.recorded[0], p.recorded[p.recorded.length - 1]), this.d.baseUrl(list.listId), await this.groupsOf(id));
        return { resource, event: r.event, position: r.position };
      } catch (err) {
        for (const [k, v] of claimed) await release(this.d.store, list.listId, k, v, id, ctx).catch(() => {});
        if (err instanceof WrongExpectedRevisionError && attempt < 4 && !ifMatch) continue;
        if (err instanceof WrongExpectedRevisionError) throw preconditionFailed('the resource changed while this request was applied');
        throw err;
      }
    }
  }

  replace(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    return this.update(list, id, ifMatch, ctx, (current) => normalizeUserInput(body, this.d.userSchema, { existing: current }));
  }

  patch(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    const ops = parsePatchRequest(body);
    return this.update(list, id, ifMatch, ctx, (current) => {
      const patched = applyPatch(current, ops, this.d.userSchema);
      const { id: _id, meta: _meta, schemas: _schemas, groups: _groups, ...rest } = patched as Record<string, unknown>;
      return rest as ScimResource;
    });
  }

  async remove(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext): Promise<WriteOutcome> {
    for (let attempt = 0; ; attempt++) {
      const p = await this.loadPerson(list.listId, id);
      if (!p.found) throw notFoundError(id);
      if (!etagMatches(ifMatch, p.revision)) throw preconditionFailed();
      try {
        const r = await this.decideAndAppend(id, { type: 'Unlink' }, p.state, p.revision, ctx);
        return { resource: null, event: r.event, position: r.position };
      } catch (err) {
        if (err instanceof WrongExpectedRevisionError && attempt < 4 && !ifMatch) continue;
        throw err;
      }
    }
  }

  parseFilter(filter: string | undefined): FilterNode | null {
    if (filter === undefined || filter.trim() === '') return null;
    const node = parseFilter(filter, { maxLength: this.d.maxFilterLength });
    validateFilter(node, this.d.userSchema);
    return node;
  }

  /** GET /Users and POST /Users/.search */
  async query(listId: string, q: { filter?: string; startIndex?: number; count?: number; sortBy?: string; sortOrder?: string }) {
    const node = this.parseFilter(q.filter);
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? this.d.maxResults), this.d.maxResults);
    const people = this.d.readStore.collection('people');
    const base: Record<string, unknown> = { listId, linked: true };
    const conds = node ? filterToQuery(node, this.d.userSchema) : [];
    const indexed = conds !== null ? this.indexFilter(conds) : null;
    const mongoFilter = indexed ? { ...base, ...indexed } : base;
    const exact = node === null || (indexed !== null && this.indexIsExact(conds!));
    if (exact && !q.sortBy) {
      const [total, docs] = await Promise.all([
        people.countDocuments(mongoFilter),
        count === 0 ? Promise.resolve([]) : people.find(mongoFilter, { sort: { createdAt: 1, _id: 1 }, skip: startIndex - 1, limit: count }),
      ]);
      return { total, resources: docs.map((d) => this.fromDoc(listId, d)), startIndex };
    }
    const docs = await people.find(mongoFilter, { sort: { createdAt: 1, _id: 1 } });
    let resources = docs.map((d) => this.fromDoc(listId, d));
    if (node) resources = resources.filter((r) => evaluateFilter(node, r, this.d.userSchema));
    if (q.sortBy) resources = sortResources(resources, q.sortBy, q.sortOrder, this.d.userSchema);
    return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
  }

  /** Equality conditions → read-model filter on indexed summary fields; null when one has no index. */
  private indexFilter(conds: NonNullable<ReturnType<typeof filterToQuery>>): Record<string, unknown> | null {
    const f: Record<string, unknown> = {};
    for (const c of conds) {
      const path = c.attributePath.toLowerCase();
      const v = typeof c.value === 'string' ? c.value : String(c.value);
      if (path === 'username') f['scim.userNameLower'] = v.toLowerCase();
      else if (path === 'externalid') f['scim.externalId'] = v;
      else if (path === 'id') f._id = v;
      else if (path === 'emails.value') f['scim.emailsLower'] = v.toLowerCase();
      else if (path === `${ENTERPRISE_USER_SCHEMA_ID}:employeeNumber`.toLowerCase()) f['scim.employeeNumber'] = v;
      else return null;
    }
    return f;
  }

  /** whether the index filter alone is the whole filter (otherwise results are re-checked) */
  private indexIsExact(conds: NonNullable<ReturnType<typeof filterToQuery>>): boolean {
    return conds.every((c) => !c.typeEquals && (c.attributePath.toLowerCase() !== 'emails.value'));
  }

  private fromDoc(listId: string, d: Record<string, unknown>): ScimResource {
    return toUserResource(String(d._id), (d.scimResource as ScimResource) ?? {}, { created: String(d.createdAt), lastModified: String(d.updatedAt), revision: Number(d.revision ?? 0) }, this.d.baseUrl(listId),
      ((d.groupRefs as Array<{ value: string; display?: string }>) ?? []));
  }
}
