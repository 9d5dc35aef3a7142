import type { CommandContext } from '@muster/contracts';
import { GroupProvisioning, Reservations, commandHandlerFor, type GroupState, type ListState, type StreamSnapshot } from '@muster/domain';
import {
  GROUP_RESOURCE_SCHEMA, GROUP_SCHEMA_ID, ScimError, applyPatch, etagMatches, etagOf, evaluateFilter, filterToQuery, normalizeResourceInput,
  parseFilter, parsePatchRequest, sortResources, validateFilter, type ScimResource,
} from '@muster/scim';
import { streams } from '@muster/contracts';
import { readModel } from '@muster/read-models';
import { concurrencyAsPrecondition, preconditionFailed, type IngressDeps, type ListQuery, type WriteOutcome } from './people.ts';
import { checkIdentifierLengths, checkIdentifierText, checkStringLengths } from './identifier-limits.ts';

const notFound = (id: string) => new ScimError({ status: 404, detail: `Group ${id} not found` });

export class GroupService {
  private readonly groups: GroupProvisioning;

  constructor(private readonly d: IngressDeps) {
    const handler = commandHandlerFor(d.store);
    this.groups = new GroupProvisioning(handler, new Reservations(handler));
  }

  private async loadGroup(listId: string, id: string) {
    const snap = typeof id === 'string' && id.length <= 200 ? await this.groups.load(id) : null;
    return { snap, found: isGroupOf(snap, listId) };
  }

  private async displayNames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const docs = await readModel(this.d.readStore, 'people').find({ _id: { $in: ids } }, { projection: { scim: 1, scimResource: 1 } });
    return new Map(docs.map((d) => {
      const shown = d.scimResource?.displayName;
      return [d._id, String(typeof shown === 'string' && shown ? shown : d.scim?.userName ?? '')];
    }));
  }

  private async toResource(listId: string, state: GroupState, first: { created: string }, last: { lastModified: string; revision: number }): Promise<ScimResource> {
    const base = this.d.baseUrl(listId);
    // members' display names come from the people read model: it must hold the people this ingress just wrote
    if (state.members.length) await this.d.waitForOwnWrites(listId);
    const names = await this.displayNames(state.members);
    return {
      schemas: [GROUP_SCHEMA_ID], id: state.groupId, displayName: state.displayName,
      ...(state.externalId ? { externalId: state.externalId } : {}),
      members: state.members.map((m) => ({ value: m, $ref: `${base}/Users/${m}`, type: 'User', ...(names.get(m) ? { display: names.get(m) } : {}) })),
      meta: { resourceType: 'Group', created: first.created, lastModified: last.lastModified, location: `${base}/Groups/${state.groupId}`, version: etagOf(last.revision) },
    };
  }

  private resourceAt(listId: string, snap: StreamSnapshot<GroupState>) {
    return this.toResource(listId, snap.state, snap, snap);
  }

  async get(listId: string, id: string) {
    const g = await this.loadGroup(listId, id);
    if (!g.found) throw notFound(id);
    return { resource: await this.resourceAt(listId, g.snap!), revision: g.snap!.revision };
  }

  /** Members must be Users provisioned on this list. */
  private async checkMembers(listId: string, members: string[]): Promise<void> {
    const unique = [...new Set(members)];
    const missing: string[] = [];
    const firsts = await Promise.all(unique.map((m) => (m.length <= 200 ? this.d.store.readStream(streams.person(m), { maxCount: 1 }) : Promise.resolve([]))));
    unique.forEach((m, i) => {
      const first = firsts[i];
      if (!first.length || (first[0].data as { listId?: string }).listId !== listId) missing.push(m);
    });
    if (missing.length) throw ScimError.badRequest('invalidValue', `members not found on this list: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  }

  private membersOf(resource: ScimResource): string[] {
    const members = Array.isArray(resource.members) ? (resource.members as Array<{ value?: unknown }>) : [];
    return members.map((m) => String(m.value ?? '')).filter(Boolean);
  }

  /** POST /Groups: a new group with its name reserved on the list (domain provisioning). */
  async create(list: ListState, body: unknown, ctx: CommandContext): Promise<WriteOutcome> {
    const input = normalizeResourceInput(body, GROUP_RESOURCE_SCHEMA);
    checkIdentifierLengths([['displayName', input.displayName], ['externalId', input.externalId]]);
    checkIdentifierText([['displayName', input.displayName], ['externalId', input.externalId]]);
    checkStringLengths(input);
    const displayName = String(input.displayName ?? '');
    const members = this.membersOf(input);
    await this.checkMembers(list.listId, members);
    const groupId = this.d.newId();
    const done = await this.groups.create({ type: 'CreateGroup', groupId, listId: list.listId, displayName, externalId: typeof input.externalId === 'string' ? input.externalId : undefined, members }, ctx);
    return { resource: await this.resourceAt(list.listId, done.snapshot), event: done.events[0] ?? null, position: done.position };
  }

  /** PUT and PATCH: `next` computes the desired group from the current one (again after a concurrent write). */
  private async update(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext, next: (current: ScimResource) => ScimResource): Promise<WriteOutcome> {
    try {
      const done = await this.groups.change(list.listId, id, async (snap) => {
        if (!isGroupOf(snap, list.listId)) throw notFound(id);
        if (!etagMatches(ifMatch, snap!.revision)) throw preconditionFailed();
        const g = snap!.state;
        const current: ScimResource = { schemas: [GROUP_SCHEMA_ID], id, displayName: g.displayName, ...(g.externalId ? { externalId: g.externalId } : {}), members: g.members.map((m) => ({ value: m })) };
        const after = next(current);
        checkIdentifierLengths([['displayName', after.displayName, current.displayName], ['externalId', after.externalId, current.externalId]]);
        checkIdentifierText([['displayName', after.displayName, current.displayName], ['externalId', after.externalId, current.externalId]]);
        checkStringLengths(after, current);
        const displayName = String(after.displayName ?? '');
        if (!displayName) throw ScimError.badRequest('invalidValue', 'displayName is required');
        const members = this.membersOf(after);
        await this.checkMembers(list.listId, members.filter((m) => !g.members.includes(m)));
        return { type: 'UpdateGroup', displayName, externalId: typeof after.externalId === 'string' ? after.externalId : undefined, members };
      }, ctx, { retry: !ifMatch });
      return { resource: await this.resourceAt(list.listId, done.snapshot), event: done.events[0] ?? null, position: done.position };
    } catch (err) {
      throw concurrencyAsPrecondition(err, 'the resource changed while this request was applied');
    }
  }

  replace(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    return this.update(list, id, ifMatch, ctx, () => normalizeResourceInput(body, GROUP_RESOURCE_SCHEMA));
  }

  patch(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    const ops = parsePatchRequest(body);
    return this.update(list, id, ifMatch, ctx, (current) => applyPatch(current, ops, GROUP_RESOURCE_SCHEMA));
  }

  /** DELETE /Groups/{id}: the group is deleted and its name released. */
  async remove(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext): Promise<WriteOutcome> {
    try {
      const done = await this.groups.delete(list.listId, id, (snap) => {
        if (!isGroupOf(snap, list.listId)) throw notFound(id);
        if (!etagMatches(ifMatch, snap!.revision)) throw preconditionFailed();
      }, ctx, { retry: !ifMatch });
      return { resource: null, event: done.events[0] ?? null, position: done.position };
    } catch (err) {
      throw concurrencyAsPrecondition(err, 'the resource changed while this request was applied');
    }
  }

  async query(listId: string, q: ListQuery, opts: { members?: boolean } = {}) {
    let node = null;
    if (q.filter && q.filter.trim()) {
      node = parseFilter(q.filter, { maxLength: this.d.maxFilterLength, maxDepth: this.d.maxFilterDepth });
      validateFilter(node, GROUP_RESOURCE_SCHEMA);
    }
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? this.d.maxResults), this.d.maxResults);
    const filter: Record<string, unknown> = { listId };
    const conds = node ? filterToQuery(node, GROUP_RESOURCE_SCHEMA, { indexable: ['displayName', 'id', 'externalId'] }) : null;
    if (conds && conds.length === 1 && conds[0].attributePath.toLowerCase() === 'displayname') filter.displayNameLower = String(conds[0].value).toLowerCase();
    const docs = await readModel(this.d.readStore, 'groups').find(filter, { sort: { createdAt: 1, _id: 1 } });
    let resources: ScimResource[] = [];
    for (const d of docs) {
      const state: GroupState = { exists: true, deleted: false, groupId: d._id, listId, displayName: d.displayName, externalId: d.externalId ?? undefined, members: d.members ?? [] };
      if (opts.members === false) state.members = [];
      resources.push(await this.toResource(listId, state, { created: d.createdAt }, { lastModified: d.updatedAt, revision: d.revision ?? d.lastPosition ?? 0 }));
    }
    if (node) resources = resources.filter((r) => evaluateFilter(node!, r, GROUP_RESOURCE_SCHEMA));
    if (q.sortBy) resources = sortResources(resources, q.sortBy, q.sortOrder, GROUP_RESOURCE_SCHEMA);
    return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
  }
}

/** a group stream that is a live group of this list */
function isGroupOf(snap: StreamSnapshot<GroupState> | null, listId: string): boolean {
  return !!snap && snap.state.exists && !snap.state.deleted && snap.state.listId === listId;
}
