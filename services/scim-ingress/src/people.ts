import { streams, toNewEvents, type CommandContext, type DomainEvent, type UniqueIdentifier } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '@muster/event-store';
import { DomainError, personDecider, type ListState, type PersonCommand, type PersonState } from '@muster/domain';
import type { MappingClient } from '@muster/mapping-contract';
import type { ReadStore } from '@muster/read-store';
import {
  ENTERPRISE_USER_SCHEMA_ID, ScimError, USER_SCHEMA_ID, applyPatch, diffResources, evaluateFilter, filterToQuery, normalizeUserInput,
  parseFilter, parsePatchRequest, sortResources, validateFilter, type FilterNode, type ResourceSchema, type ScimResource,
} from '@muster/scim';
import { claim, ownerOf, release, reservationStream, reservedEvents, type Owner, type ReservationKind } from './reservations.ts';
import { checkIdentifierLengths } from './identifier-limits.ts';
import type { UserNameAnswers } from './user-name-answers.ts';

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
  maxFilterDepth: number;
  maxResults: number;
  /** serialized answers to `userName eq` kept on this thread (user-name-answers.ts) */
  answers: UserNameAnswers;
}

export interface WriteOutcome {
  resource: ScimResource | null;
  /** the domain event appended, or null when the request changed nothing */
  event: DomainEvent | null;
  position: number | null;
}

export interface ListQuery { filter?: string; startIndex?: number; count?: number; sortBy?: string; sortOrder?: string }

type Meta = { created: string; lastModified: string; revision: number };

/** Conflicting writes to one stream are retried (reload, re-apply, append): at most this many attempts. */
export const MAX_WRITE_ATTEMPTS = 12;
/** A reservation whose owner stream was never written (a crash between the two appends) is stale after this. */
const STALE_RESERVATION_MS = 30_000;

const conflictError = (detail: string) => new ScimError({ status: 409, scimType: 'uniqueness', detail });
const notFoundError = (id: string) => new ScimError({ status: 404, detail: `User ${id} not found` });
export const preconditionFailed = (detail = 'resource version does not match If-Match') => new ScimError({ status: 412, detail });
export const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(2 + attempt * 3, 25)));

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

/**
 * Identifiers that must be unique on a list: userName (RFC 7643 uniqueness=server) and the
 * list's unique identifier. externalId is not unique (RFC 7643: uniqueness none); it is
 * reserved only when a person is deprovisioned, as the anchor a later POST relinks to.
 */
function keysOf(resource: ScimResource, list: ListState): Array<[ReservationKind, string]> {
  const keys: Array<[ReservationKind, string]> = [];
  if (typeof resource.userName === 'string' && resource.userName) keys.push(['userName', resource.userName]);
  const uid = uniqueIdOf(resource, list.sync?.uniqueIdentifier);
  if (uid && list.sync?.uniqueIdentifier !== 'userName') keys.push(['uid', uid]);
  return keys;
}
/** identifiers longer than IdPs can filter on are refused when a write sets them (identifier-limits.ts) */
function checkUserIdentifiers(resource: ScimResource, list: ListState, before?: ScimResource): void {
  const choice = list.sync?.uniqueIdentifier;
  checkIdentifierLengths([
    ['userName', resource.userName, before?.userName],
    ['externalId', resource.externalId, before?.externalId],
    [`the unique identifier (${choice})`, uniqueIdOf(resource, choice), before && uniqueIdOf(before, choice)],
  ]);
}
const externalIdOf = (r: ScimResource) => (typeof r.externalId === 'string' && r.externalId ? r.externalId : undefined);

const KIND_LABEL: Record<ReservationKind, string> = { userName: 'userName', uid: 'unique identifier', externalId: 'externalId', groupName: 'displayName' };

/** the parts of a people document a SCIM resource is built from (fromDocs); reads fetch only these */
const RESOURCE_FIELDS = { scimResource: 1, createdAt: 1, updatedAt: 1, revision: 1, groups: 1 } as const;

/** `userName eq "…"` exactly (any case of the name and operator), with a JSON string value */
const USERNAME_EQ = /^\s*(?:urn:ietf:params:scim:schemas:core:2\.0:User:)?userName\s+eq\s+"((?:[^"\\]|\\.){0,1024})"\s*$/i;

export interface GroupRef { value: string; display?: string }

/** The SCIM User resource we return: stored attributes + id + groups + meta. */
export function toUserResource(personId: string, scim: ScimResource, meta: Meta, baseUrl: string, groups: GroupRef[] = []): ScimResource {
  const { schemas: _s, id: _i, meta: _m, groups: _g, password: _p, ...attrs } = scim as Record<string, unknown>;
  const schemas = [USER_SCHEMA_ID];
  for (const k in attrs) if (k.charCodeAt(0) === 117 /* u */ && k.startsWith('urn:')) schemas.push(k);
  const out: ScimResource = { schemas, id: personId, ...attrs };
  if (groups.length) out.groups = groups.map((g) => ({ value: g.value, ...(g.display !== undefined ? { display: g.display } : {}), $ref: `${baseUrl}/Groups/${g.value}`, type: 'direct' }));
  out.meta = { resourceType: 'User', created: meta.created, lastModified: meta.lastModified, location: `${baseUrl}/Users/${personId}`, version: etagOf(meta.revision) };
  return out;
}

interface Snapshot { state: PersonState; revision: number; created: string; lastModified: string }

const occurredAt = (r: RecordedEvent) => String((r.metadata as { occurredAt: string }).occurredAt);

/**
 * Folded person streams, kept consistent: every load asks the store for events after the cached
 * revision (an index lookup, no disk read when there are none), so writes by other services are
 * picked up. Bounded; the least recently used entries go first.
 */
class PersonCache {
  private readonly map = new Map<string, Snapshot>();
  constructor(private readonly store: EventStore, private readonly max = 20_000) {}

  async load(personId: string): Promise<Snapshot | null> {
    const stream = streams.person(personId);
    const cached = this.map.get(personId);
    const recorded = await this.store.readStream(stream, cached ? { fromRevision: cached.revision + 1 } : {});
    if (!cached && !recorded.length) return null;
    let snap: Snapshot = cached ?? { state: personDecider.initialState(), revision: -1, created: occurredAt(recorded[0]), lastModified: '' };
    if (recorded.length) {
      let state = snap.state;
      for (const r of recorded) state = personDecider.evolve(state, { type: r.type, data: r.data } as DomainEvent);
      const last = recorded[recorded.length - 1];
      snap = { state, revision: last.revision, created: snap.created, lastModified: occurredAt(last) };
    }
    this.put(personId, snap);
    return snap;
  }

  put(personId: string, snap: Snapshot): void {
    this.map.delete(personId);
    this.map.set(personId, snap);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class UserService {
  private readonly cache: PersonCache;

  constructor(private readonly d: IngressDeps) {
    this.cache = new PersonCache(d.store);
  }

  private async loadPerson(listId: string, id: string) {
    const snap = typeof id === 'string' && id.length <= 200 ? await this.cache.load(id) : null;
    const found = !!snap && snap.state.exists && snap.state.linked && snap.state.listId === listId && !!snap.state.scim;
    return { snap, found };
  }

  /** Group memberships from the read model (the groups stream is the source; the people doc lists them). */
  async groupsOf(personId: string): Promise<GroupRef[]> {
    const doc = await this.d.readStore.collection('people').findOne({ _id: personId }, { projection: { groups: 1 } });
    const ids = (doc?.groups as string[] | undefined) ?? [];
    if (!ids.length) return [];
    const groups = await this.d.readStore.collection('groups').find({ _id: { $in: ids } }, { projection: { displayName: 1 } });
    return groups.map((g) => ({ value: g._id, display: g.displayName as string }));
  }

  private resourceOf(listId: string, personId: string, snap: Snapshot, groups: GroupRef[]): ScimResource {
    return toUserResource(personId, snap.state.scim!, { created: snap.created, lastModified: snap.lastModified, revision: snap.revision }, this.d.baseUrl(listId), groups);
  }

  async get(listId: string, id: string): Promise<{ resource: ScimResource; revision: number }> {
    const p = await this.loadPerson(listId, id);
    if (!p.found) throw notFoundError(id);
    return { resource: await this.current(listId, id, p.snap!), revision: p.snap!.revision };
  }

  /**
   * The resource of a linked person at `snap`, with group memberships from the read model (none for
   * a person just created), kept as the answer to `userName eq` when its groups are known current.
   */
  private async current(listId: string, personId: string, snap: Snapshot, isNew = false): Promise<ScimResource> {
    const answers = this.d.answers;
    const stamp = answers.groupStamp(listId);
    const keep = isNew || (await answers.projectedThrough(stamp));
    const resource = this.resourceOf(listId, personId, snap, isNew ? [] : await this.groupsOf(personId));
    if (keep) answers.remember(listId, personId, snap.revision, resource, stamp);
    return resource;
  }

  /** Append the decided events with the expected revision; updates the cache. */
  private async decideAndAppend(personId: string, cmd: PersonCommand, snap: Snapshot | null, ctx: CommandContext) {
    const state = snap?.state ?? personDecider.initialState();
    const revision = snap?.revision ?? -1;
    const events = personDecider.decide(cmd, state);
    if (!events.length) return { event: null, position: null, snap };
    const res = await this.d.store.appendToStream(streams.person(personId), toNewEvents(events, ctx), { expectedRevision: revision < 0 ? 'no_stream' : revision });
    return { event: events[0], position: res.position, snap: this.appended(personId, events, state, snap, res.nextExpectedRevision, ctx) };
  }

  /** the person's snapshot after its events were appended at `revision`, kept in the cache */
  private appended(personId: string, events: DomainEvent[], state: PersonState, snap: Snapshot | null, revision: number, ctx: CommandContext): Snapshot {
    const at = ctx.now.toISOString();
    const next: Snapshot = {
      state: events.reduce((s, e) => personDecider.evolve(s, e), state), revision,
      created: snap?.created ?? at, lastModified: at,
    };
    this.cache.put(personId, next);
    return next;
  }

  /**
   * A new person and the reservations of its identifiers in one atomic append (stores with
   * appendToStreams). Null when a reservation stream already exists: the claim-by-claim path
   * then decides (taken, released earlier, stale, or a relink).
   */
  private async provisionAtomically(list: ListState, personId: string, input: ScimResource, fields: Record<string, unknown>,
    keys: Array<[ReservationKind, string]>, ctx: CommandContext): Promise<WriteOutcome | null> {
    const state = personDecider.initialState();
    const events = personDecider.decide({ type: 'Provision', personId, listId: list.listId, scim: input, fields }, state);
    const appends = keys.map(([kind, value]) => ({
      streamId: reservationStream(list.listId, kind, value),
      events: reservedEvents(list.listId, kind, value, personId, ctx),
      expectedRevision: 'no_stream' as const,
    }));
    appends.push({ streamId: streams.person(personId), events: toNewEvents(events, ctx), expectedRevision: 'no_stream' });
    let results;
    try {
      results = await this.d.store.appendToStreams!(appends);
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError) return null;
      throw err;
    }
    const res = results[results.length - 1];
    const snap = this.appended(personId, events, state, null, res.nextExpectedRevision, ctx);
    return { resource: await this.current(list.listId, personId, snap, true), event: events[0], position: res.position };
  }

  /** The deprovisioned person of this list whose externalId anchor is `externalId`, if any. */
  private async deprovisionedByExternalId(listId: string, externalId: string): Promise<string | null> {
    const { owner } = await ownerOf(this.d.store, listId, 'externalId', externalId);
    if (!owner) return null;
    const p = await this.cache.load(owner);
    return p && p.state.exists && !p.state.linked && p.state.listId === listId ? owner : null;
  }

  /** A reservation whose person was never written (crash between the appends) may be taken over. */
  private staleOwner = async (o: Owner): Promise<boolean> => {
    if (!o.owner || Date.now() - o.at < STALE_RESERVATION_MS) return false;
    const head = await this.d.store.readStream(streams.person(o.owner), { maxCount: 1 });
    const groupHead = head.length ? head : await this.d.store.readStream(streams.group(o.owner), { maxCount: 1 });
    return groupHead.length === 0;
  };

  async create(list: ListState, body: unknown, ctx: CommandContext): Promise<WriteOutcome> {
    const input = normalizeUserInput(body, this.d.userSchema);
    checkUserIdentifiers(input, list);
    const keys = keysOf(input, list);
    const personId = this.d.newId();
    // the mapping round trip runs while the identifiers are claimed
    const mapping = this.d.mapping.map(list.listId, input);
    mapping.catch(() => {});
    const extId = externalIdOf(input);
    // read once: the atomic path and the claim-by-claim path below both need it
    const anchored = extId ? this.deprovisionedByExternalId(list.listId, extId) : Promise.resolve(null);
    anchored.catch(() => {});
    if (this.d.store.appendToStreams) {
      // one durable write: the reservations and the person in one atomic append (no_stream on each);
      // anything unusual (a value reserved before, a deprovisioned anchor) takes the path below
      const [anchor, { fields }] = await Promise.all([anchored, mapping]);
      if (!anchor) {
        const fast = await this.provisionAtomically(list, personId, input, fields, keys, ctx);
        if (fast) return fast;
      }
    }
    const [owners, anchor] = await Promise.all([
      Promise.all(keys.map(([kind, value]) => claim(this.d.store, list.listId, kind, value, personId, ctx, this.staleOwner))),
      anchored,
    ]);
    const taken = owners.flatMap((o, i) => (o ? [[keys[i], o] as const] : []));
    if (anchor) taken.push([['externalId', extId!], { owner: anchor, revision: 0, at: 0 }]);
    if (taken.length) {
      const claimed = keys.filter((_, i) => owners[i] === null);
      await Promise.all(claimed.map(([k, v]) => release(this.d.store, list.listId, k, v, personId, ctx).catch(() => {})));
      return this.relink(list, input, keys, taken.map(([[kind], o]) => [kind, o.owner!] as [ReservationKind, string]), mapping, ctx);
    }
    try {
      const { fields } = await mapping;
      const r = await this.decideAndAppend(personId, { type: 'Provision', personId, listId: list.listId, scim: input, fields }, null, ctx);
      return { resource: await this.current(list.listId, personId, r.snap!, true), event: r.event, position: r.position };
    } catch (err) {
      await Promise.all(keys.map(([k, v]) => release(this.d.store, list.listId, k, v, personId, ctx).catch(() => {})));
      throw err;
    }
  }

  /**
   * POST of an identity that is already reserved: when every reserved identifier belongs to one
   * person who was deprovisioned (SCIM DELETE), that person is relinked and reactivated instead
   * of creating a duplicate; otherwise 409.
   */
  private async relink(list: ListState, input: ScimResource, keys: Array<[ReservationKind, string]>, taken: Array<[ReservationKind, string]>,
    mapping: Promise<{ fields: Record<string, unknown> }>, ctx: CommandContext): Promise<WriteOutcome> {
    let target: string | null = null;
    for (const [kind, owner] of taken) {
      const other = await this.cache.load(owner);
      if (!other || !other.state.exists || other.state.listId !== list.listId || other.state.linked) throw conflictError(`a User with this ${KIND_LABEL[kind]} already exists`);
      if (target && target !== owner) throw conflictError(`this ${KIND_LABEL[kind]} belongs to a different deprovisioned person than the other identifiers`);
      target = owner;
    }
    const personId = target!;
    const claimed: Array<[ReservationKind, string]> = [];
    for (const [kind, value] of keys) {
      const o = await claim(this.d.store, list.listId, kind, value, personId, ctx, this.staleOwner);
      if (o) {
        await Promise.all(claimed.map(([k, v]) => release(this.d.store, list.listId, k, v, personId, ctx).catch(() => {})));
        throw conflictError(`a User with this ${KIND_LABEL[kind]} already exists`);
      }
      claimed.push([kind, value]);
    }
    const { fields } = await mapping;
    for (let attempt = 1; ; attempt++) {
      const snap = await this.cache.load(personId);
      try {
        const r = await this.decideAndAppend(personId, { type: 'Provision', personId, listId: list.listId, scim: input, fields }, snap, ctx);
        return { resource: await this.current(list.listId, personId, r.snap!), event: r.event, position: r.position };
      } catch (err) {
        if (err instanceof WrongExpectedRevisionError && attempt < MAX_WRITE_ATTEMPTS) { await backoff(attempt); continue; }
        if (err instanceof DomainError && err.code === 'conflict') throw conflictError(err.message);
        throw err;
      }
    }
  }

  /** PUT and PATCH: compute the new resource from the current one, then decide; retried on conflict (bounded). */
  private async update(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext, next: (current: ScimResource) => ScimResource): Promise<WriteOutcome> {
    for (let attempt = 1; ; attempt++) {
      const p = await this.loadPerson(list.listId, id);
      if (!p.found) throw notFoundError(id);
      const snap = p.snap!;
      if (!etagMatches(ifMatch, snap.revision)) throw preconditionFailed();
      const before = snap.state.scim!;
      const after = next(before);
      checkUserIdentifiers(after, list, before);
      // the event contract's AttributeChange is { path, old, new }
      const scimChanges = diffResources(before, after).map((ch) => ({ path: ch.path, old: ch.oldValue, new: ch.newValue }));
      const statusChanges = (snap.state.status === 'active') !== (after.active !== false);
      if (!scimChanges.length && !statusChanges) {
        return { resource: await this.current(list.listId, id, snap), event: null, position: null };
      }
      // identifiers that change must be claimed before the change is recorded
      const oldKeys = new Map(keysOf(before, list).map(([k, v]) => [k, v]));
      const newKeys = keysOf(after, list).filter(([k, v]) => oldKeys.get(k)?.toLowerCase() !== v.toLowerCase());
      const mapping = this.d.mapping.map(list.listId, after);
      mapping.catch(() => {});
      const owners = await Promise.all(newKeys.map(([kind, value]) => claim(this.d.store, list.listId, kind, value, id, ctx, this.staleOwner)));
      const claimed = newKeys.filter((_, i) => owners[i] === null);
      const clash = owners.findIndex((o) => o !== null);
      if (clash >= 0) {
        await Promise.all(claimed.map(([k, v]) => release(this.d.store, list.listId, k, v, id, ctx).catch(() => {})));
        throw conflictError(`another User already has this ${KIND_LABEL[newKeys[clash][0]]}`);
      }
      try {
        const { fields } = await mapping;
        const r = await this.decideAndAppend(id, { type: 'ScimUpdate', scim: after, scimChanges, fields }, snap, ctx);
        await Promise.all(newKeys.map(([kind]) => {
          const old = oldKeys.get(kind);
          return old ? release(this.d.store, list.listId, kind, old, id, ctx) : undefined;
        }));
        return { resource: await this.current(list.listId, id, r.snap ?? snap), event: r.event, position: r.position };
      } catch (err) {
        await Promise.all(claimed.map(([k, v]) => release(this.d.store, list.listId, k, v, id, ctx).catch(() => {})));
        if (err instanceof WrongExpectedRevisionError && !ifMatch && attempt < MAX_WRITE_ATTEMPTS) { await backoff(attempt); continue; }
        if (err instanceof WrongExpectedRevisionError) throw preconditionFailed(ifMatch ? 'the resource changed while this request was applied' : 'the resource kept changing; retry the request');
        throw err;
      }
    }
  }

  replace(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    return this.update(list, id, ifMatch, ctx, (current) => {
      const out = normalizeUserInput(body, this.d.userSchema, { existing: current });
      if (isObject(body) && typeof body.id === 'string' && body.id !== id) throw ScimError.badRequest('mutability', `"id" is readOnly: the body names ${body.id}, the URL ${id}`);
      return out;
    });
  }

  patch(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    const ops = parsePatchRequest(body);
    return this.update(list, id, ifMatch, ctx, (current) => {
      const patched = applyPatch({ ...current, id }, ops, this.d.userSchema);
      const { id: _id, meta: _meta, groups: _groups, ...rest } = patched as Record<string, unknown>;
      return rest as ScimResource;
    });
  }

  async remove(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext): Promise<WriteOutcome> {
    for (let attempt = 1; ; attempt++) {
      const p = await this.loadPerson(list.listId, id);
      if (!p.found) throw notFoundError(id);
      if (!etagMatches(ifMatch, p.snap!.revision)) throw preconditionFailed();
      try {
        const scim = p.snap!.state.scim!;
        const r = await this.decideAndAppend(id, { type: 'Unlink' }, p.snap, ctx);
        // the externalId stays the anchor a later POST of the same person relinks to (bookkeeping, not a domain event)
        const extId = externalIdOf(scim);
        if (extId) await claim(this.d.store, list.listId, 'externalId', extId, id, ctx, async () => true).catch(() => {});
        return { resource: null, event: r.event, position: r.position };
      } catch (err) {
        if (err instanceof WrongExpectedRevisionError && attempt < MAX_WRITE_ATTEMPTS && !ifMatch) { await backoff(attempt); continue; }
        if (err instanceof WrongExpectedRevisionError) throw preconditionFailed('the resource changed while this request was applied');
        throw err;
      }
    }
  }

  parseFilter(filter: string | undefined): FilterNode | null {
    if (filter === undefined || filter.trim() === '') return null;
    const node = parseFilter(filter, { maxLength: this.d.maxFilterLength, maxDepth: this.d.maxFilterDepth });
    validateFilter(node, this.d.userSchema);
    return node;
  }

  /**
   * `userName eq "…"` (no sortBy) answered on this thread from the kept answers, as the ListResponse
   * body; null when the read store has to answer it.
   */
  answerFromCache(listId: string, q: ListQuery): string | null | Promise<string | null> {
    const lookup = this.userNameLookup(q);
    return lookup ? this.d.answers.answer(listId, lookup.value, lookup.startIndex, lookup.count) : null;
  }

  /** `userName eq "…"` without sortBy: the value and the page asked for (capped as every list query is); else null */
  private userNameLookup(q: ListQuery): { value: string; startIndex: number; count: number } | null {
    const byName = q.filter !== undefined && !q.sortBy ? USERNAME_EQ.exec(q.filter) : null;
    if (!byName) return null;
    let value: unknown;
    try { value = JSON.parse(`"${byName[1]}"`); } catch { return null; }
    if (typeof value !== 'string') return null;
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? this.d.maxResults), this.d.maxResults);
    return { value, startIndex, count };
  }

  /** GET /Users/{id} from the kept answers (see answerFromCache): the resource's JSON and revision, or null */
  keptById(listId: string, id: string) {
    return typeof id === 'string' && id.length <= 200 ? this.d.answers.resource(listId, id) : null;
  }

  /** GET /Users and POST /Users/.search */
  async query(listId: string, q: ListQuery) {
    // the lookup every IdP makes before a write (`userName eq "…"`): straight to the index, no parse
    const lookup = this.userNameLookup(q);
    if (lookup) {
      const { value, startIndex, count } = lookup;
      // the group stamp is taken, and the projection's progress checked, before the documents are read
      const stamp = this.d.answers.groupStamp(listId);
      const keep = await this.d.answers.projectedThrough(stamp);
      // userName is unique among linked users: at most one document, so no sort is needed
      const docs = await this.d.readStore.collection('people').find({ listId, linked: true, 'scim.userNameLower': value.toLowerCase() }, { projection: RESOURCE_FIELDS });
      const resources = docs.length ? await this.fromDocs(listId, docs) : [];
      if (keep && docs.length === 1) this.d.answers.remember(listId, String(docs[0]._id), Number(docs[0].revision ?? 0), resources[0], stamp);
      return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
    }
    const node = this.parseFilter(q.filter);
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? this.d.maxResults), this.d.maxResults);
    const people = this.d.readStore.collection('people');
    const base: Record<string, unknown> = { listId, linked: true };
    const conds = node ? filterToQuery(node, this.d.userSchema) : null;
    const indexed = conds ? this.indexFilter(conds) : null;
    const sort = { createdAt: 1 as const, _id: 1 as const };
    if (node === null && !q.sortBy) {
      const [total, docs] = await Promise.all([
        people.countDocuments(base),
        count === 0 ? Promise.resolve([]) : people.find(base, { sort, skip: startIndex - 1, limit: count, projection: RESOURCE_FIELDS }),
      ]);
      return { total, resources: await this.fromDocs(listId, docs), startIndex };
    }
    const docs = await people.find(indexed ? { ...base, ...indexed } : base, { sort, projection: RESOURCE_FIELDS });
    const exact = indexed !== null && this.indexIsExact(conds!);
    let resources = await this.fromDocs(listId, docs);
    if (node && !exact) resources = resources.filter((r) => evaluateFilter(node, r, this.d.userSchema));
    if (q.sortBy) resources = sortResources(resources, q.sortBy, q.sortOrder, this.d.userSchema);
    return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
  }

  /** Equality conditions → read-model filter on indexed summary fields; null when one has no index. */
  private indexFilter(conds: NonNullable<ReturnType<typeof filterToQuery>>): Record<string, unknown> | null {
    const f: Record<string, unknown> = {};
    for (const c of conds) {
      const path = c.attributePath.toLowerCase();
      if (c.value === null || typeof c.value === 'boolean') return null;
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
    return conds.every((c) => !c.typeEquals && c.attributePath.toLowerCase() !== 'emails.value');
  }

  /** Read-model documents (RESOURCE_FIELDS of them) → resources, with group memberships (one lookup for the whole page). */
  async fromDocs(listId: string, docs: Array<Record<string, unknown>>): Promise<ScimResource[]> {
    const groupIds = new Set<string>();
    for (const d of docs) for (const g of (d.groups as string[] | undefined) ?? []) groupIds.add(g);
    const names = new Map<string, string>();
    if (groupIds.size) {
      const groups = await this.d.readStore.collection('groups').find({ _id: { $in: [...groupIds] } }, { projection: { displayName: 1 } });
      for (const g of groups) names.set(g._id, String(g.displayName));
    }
    const base = this.d.baseUrl(listId);
    return docs.map((d) => toUserResource(String(d._id), (d.scimResource as ScimResource) ?? {},
      { created: String(d.createdAt), lastModified: String(d.updatedAt), revision: Number(d.revision ?? 0) }, base,
      ((d.groups as string[] | undefined) ?? []).filter((g) => names.has(g)).map((g) => ({ value: g, display: names.get(g) }))));
  }

  /** exported for tests: who holds a reserved identifier */
  ownerOf(listId: string, kind: ReservationKind, value: string) { return ownerOf(this.d.store, listId, kind, value); }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
