import type { CommandContext, DomainEvent } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@muster/event-store';
import {
  PersonProvisioning, Reservations, commandHandlerFor, uniqueIdOf,
  type ListState, type PersonState, type StreamSnapshot,
} from '@muster/domain';
import type { MappingClient } from '@muster/mapping-contract';
import type { ReadStore } from '@muster/read-store';
import { readModel, type PersonDoc } from '@muster/read-models';
import {
  ENTERPRISE_USER_SCHEMA_ID, ScimError, USER_SCHEMA_ID, applyPatch, etagMatches, etagOf, isPlainObject, diffResources, evaluateFilter, filterToQuery, normalizeUserInput,
  parseFilter, parsePatchRequest, sortResources, validateFilter, type FilterNode, type ResourceSchema, type ScimResource,
} from '@muster/scim';
import { checkIdentifierLengths, checkIdentifierText, checkStringLengths } from './identifier-limits.ts';
import type { UserNameAnswers } from './user-name-answers.ts';

export interface IngressDeps {
  store: EventStore;
  readStore: ReadStore;
  mapping: MappingClient;
  now: () => Date;
  newId: () => string;
  baseUrl: (listId: string) => string;
  userSchema: ResourceSchema;
  maxFilterLength: number;
  maxFilterDepth: number;
  maxResults: number;
  /** read-your-writes: wait (bounded) until the read models hold this ingress's writes to the list */
  waitForOwnWrites: (listId: string) => Promise<void>;
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

const notFoundError = (id: string) => new ScimError({ status: 404, detail: `User ${id} not found` });
export const preconditionFailed = (detail = 'resource version does not match If-Match') => new ScimError({ status: 412, detail });


/** where each unique-identifier choice lives in a SCIM user, as the error names it */
const UNIQUE_ATTRIBUTE: Record<string, string> = {
  employeeNumber: `${ENTERPRISE_USER_SCHEMA_ID}:employeeNumber`, email: 'emails (a primary or work address)', userName: 'userName',
};

/**
 * What every write of a user must leave true (POST, PUT and PATCH alike), checked on the resource
 * the write would store: userName present and not blank; identifiers printable and within the
 * length IdPs can filter on; every string within MAX_STRING_LENGTH; the list's unique identifier
 * present (a person stored without it before keeps being writable until it is set).
 */
function checkUser(resource: ScimResource, list: ListState, before?: ScimResource): void {
  if (typeof resource.userName !== 'string' || resource.userName.trim() === '') {
    throw ScimError.badRequest('invalidValue', 'Attribute "userName" is required and must not be empty');
  }
  const choice = list.sync?.uniqueIdentifier;
  const uid = uniqueIdOf(resource, choice);
  const identifiers = [
    ['userName', resource.userName, before?.userName],
    ['externalId', resource.externalId, before?.externalId],
    [`the unique identifier (${choice})`, uid, before && uniqueIdOf(before, choice)],
  ] as const;
  checkIdentifierLengths(identifiers);
  checkIdentifierText(identifiers);
  checkStringLengths(resource, before);
  if (choice && uid === undefined && (!before || uniqueIdOf(before, choice) !== undefined)) {
    throw ScimError.badRequest('invalidValue', `This list tells people apart by ${choice}, so every user needs ${UNIQUE_ATTRIBUTE[choice] ?? choice}; this one has none`);
  }
}
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

type Snapshot = StreamSnapshot<PersonState>;

export class UserService {
  private readonly people: PersonProvisioning;

  constructor(private readonly d: IngressDeps) {
    const handler = commandHandlerFor(d.store);
    this.people = new PersonProvisioning(handler, new Reservations(handler));
  }

  private async loadPerson(listId: string, id: string) {
    const snap = typeof id === 'string' && id.length <= 200 ? await this.people.load(id) : null;
    return { snap, found: isLinkedUser(snap, listId) };
  }

  /** Group memberships from the read model (the groups stream is the source; the people doc lists them). */
  async groupsOf(personId: string): Promise<GroupRef[]> {
    const doc = await readModel(this.d.readStore, 'people').findOne({ _id: personId }, { projection: { groups: 1 } });
    const ids = doc?.groups ?? [];
    if (!ids.length) return [];
    const groups = await readModel(this.d.readStore, 'groups').find({ _id: { $in: ids } }, { projection: { displayName: 1 } });
    return groups.map((g) => ({ value: g._id, display: g.displayName }));
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

  /** POST /Users: a new person, or the relink of the deprovisioned person holding its identifiers (domain provisioning). */
  async create(list: ListState, body: unknown, ctx: CommandContext): Promise<WriteOutcome> {
    const input = normalizeUserInput(body, this.d.userSchema);
    checkUser(input, list);
    // the mapping round trip runs while the identifiers are claimed
    const fields = this.d.mapping.map(list.listId, input).then((m) => m.fields);
    fields.catch(() => {});
    const done = await this.people.provision(list, this.d.newId(), input, fields, ctx);
    return { resource: await this.current(list.listId, done.personId, done.snapshot, done.created), event: done.events[0] ?? null, position: done.position };
  }

  /** PUT and PATCH: `next` computes the new resource from the current one (again after a concurrent write). */
  private async update(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext, next: (current: ScimResource) => ScimResource): Promise<WriteOutcome> {
    try {
      const done = await this.people.change(list, id, (snap) => {
        if (!isLinkedUser(snap, list.listId)) throw notFoundError(id);
        if (!etagMatches(ifMatch, snap!.revision)) throw preconditionFailed();
        const before = snap!.state.scim!;
        const after = next(before);
        checkUser(after, list, before);
        // the event contract's AttributeChange is { path, old, new }
        return { scim: after, scimChanges: diffResources(before, after).map((ch) => ({ path: ch.path, old: ch.oldValue, new: ch.newValue })) };
      }, (scim) => this.d.mapping.map(list.listId, scim).then((m) => m.fields), ctx, { retry: !ifMatch });
      return { resource: await this.current(list.listId, id, done.snapshot), event: done.events[0] ?? null, position: done.position };
    } catch (err) {
      throw concurrencyAsPrecondition(err, ifMatch ? 'the resource changed while this request was applied' : 'the resource kept changing; retry the request');
    }
  }

  replace(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    return this.update(list, id, ifMatch, ctx, (current) => {
      const out = normalizeUserInput(body, this.d.userSchema, { existing: current });
      if (isPlainObject(body) && typeof body.id === 'string' && body.id !== id) throw ScimError.badRequest('mutability', `"id" is readOnly: the body names ${body.id}, the URL ${id}`);
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

  /** DELETE /Users/{id}: the person is deprovisioned (unlinked, inactive), never erased. */
  async remove(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext): Promise<WriteOutcome> {
    try {
      const done = await this.people.unlink(list, id, (snap) => {
        if (!isLinkedUser(snap, list.listId)) throw notFoundError(id);
        if (!etagMatches(ifMatch, snap!.revision)) throw preconditionFailed();
      }, ctx, { retry: !ifMatch });
      return { resource: null, event: done.events[0] ?? null, position: done.position };
    } catch (err) {
      throw concurrencyAsPrecondition(err, 'the resource changed while this request was applied');
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
      const docs = await readModel(this.d.readStore, 'people').find({ listId, linked: true, 'scim.userNameLower': value.toLowerCase() }, { projection: RESOURCE_FIELDS });
      const resources = docs.length ? await this.fromDocs(listId, docs) : [];
      if (keep && docs.length === 1) this.d.answers.remember(listId, String(docs[0]._id), Number(docs[0].revision ?? 0), resources[0], stamp);
      return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
    }
    const node = this.parseFilter(q.filter);
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? this.d.maxResults), this.d.maxResults);
    const people = readModel(this.d.readStore, 'people');
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
  async fromDocs(listId: string, docs: PersonDoc[]): Promise<ScimResource[]> {
    const groupIds = new Set<string>();
    for (const d of docs) for (const g of d.groups ?? []) groupIds.add(g);
    const names = new Map<string, string>();
    if (groupIds.size) {
      const groups = await readModel(this.d.readStore, 'groups').find({ _id: { $in: [...groupIds] } }, { projection: { displayName: 1 } });
      for (const g of groups) names.set(g._id, String(g.displayName));
    }
    const base = this.d.baseUrl(listId);
    return docs.map((d) => toUserResource(d._id, d.scimResource ?? {},
      { created: d.createdAt, lastModified: d.updatedAt, revision: d.revision ?? 0 }, base,
      (d.groups ?? []).filter((g) => names.has(g)).map((g) => ({ value: g, display: names.get(g) }))));
  }

}

/** a person stream that is a linked SCIM user of this list */
function isLinkedUser(snap: Snapshot | null, listId: string): boolean {
  return !!snap && snap.state.exists && snap.state.linked && snap.state.listId === listId && !!snap.state.scim;
}

/** a write that lost to concurrent writes (or to the revision If-Match named) is a 412 */
export function concurrencyAsPrecondition(err: unknown, detail: string): unknown {
  return err instanceof WrongExpectedRevisionError ? preconditionFailed(detail) : err;
}

