import { streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { WrongExpectedRevisionError, type RecordedEvent } from '@muster/event-store';
import { groupDecider, type GroupCommand, type GroupState, type ListState } from '@muster/domain';
import {
  GROUP_RESOURCE_SCHEMA, GROUP_SCHEMA_ID, ScimError, applyPatch, evaluateFilter, filterToQuery, normalizeResourceInput,
  parseFilter, parsePatchRequest, sortResources, validateFilter, type ScimResource,
} from '@muster/scim';
import { MAX_WRITE_ATTEMPTS, backoff, etagMatches, etagOf, preconditionFailed, type IngressDeps, type ListQuery, type WriteOutcome } from './people.ts';
import { claim, ownerOf, release, reservationStream, reservedEvents } from './reservations.ts';
import { checkIdentifierLengths } from './identifier-limits.ts';

const notFound = (id: string) => new ScimError({ status: 404, detail: `Group ${id} not found` });

export class GroupService {
  constructor(private readonly d: IngressDeps) {}

  private async loadGroup(listId: string, id: string) {
    const recorded = typeof id === 'string' && id.length <= 200 ? await this.d.store.readStream(streams.group(id)) : [];
    let state: GroupState = groupDecider.initialState();
    for (const r of recorded) state = groupDecider.evolve(state, { type: r.type, data: r.data } as DomainEvent);
    return { state, recorded, found: state.exists && !state.deleted && state.listId === listId, revision: recorded.length ? recorded[recorded.length - 1].revision : -1 };
  }

  private async displayNames(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const docs = await this.d.readStore.collection('people').find({ _id: { $in: ids } }, { projection: { scim: 1, scimResource: 1 } });
    return new Map(docs.map((d) => {
      const r = d.scimResource as { displayName?: unknown } | null;
      return [d._id, String(typeof r?.displayName === 'string' && r.displayName ? r.displayName : (d.scim as { userName?: string } | null)?.userName ?? '')];
    }));
  }

  private async toResource(listId: string, state: GroupState, first: { created: string }, last: { lastModified: string; revision: number }): Promise<ScimResource> {
    const base = this.d.baseUrl(listId);
    const names = await this.displayNames(state.members);
    return {
      schemas: [GROUP_SCHEMA_ID], id: state.groupId, displayName: state.displayName,
      ...(state.externalId ? { externalId: state.externalId } : {}),
      members: state.members.map((m) => ({ value: m, $ref: `${base}/Users/${m}`, type: 'User', ...(names.get(m) ? { display: names.get(m) } : {}) })),
      meta: { resourceType: 'Group', created: first.created, lastModified: last.lastModified, location: `${base}/Groups/${state.groupId}`, version: etagOf(last.revision) },
    };
  }

  private meta(recorded: RecordedEvent[]) {
    const f = recorded[0].metadata as { occurredAt: string };
    const l = recorded[recorded.length - 1];
    return [{ created: f.occurredAt }, { lastModified: (l.metadata as { occurredAt: string }).occurredAt, revision: l.revision }] as const;
  }

  async get(listId: string, id: string) {
    const g = await this.loadGroup(listId, id);
    if (!g.found) throw notFound(id);
    const [first, last] = this.meta(g.recorded);
    return { resource: await this.toResource(listId, g.state, first, last), revision: g.revision };
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

  private async append(id: string, events: DomainEvent[], revision: number, ctx: CommandContext) {
    return this.d.store.appendToStream(streams.group(id), toNewEvents(events, ctx), { expectedRevision: revision < 0 ? 'no_stream' : revision });
  }

  async create(list: ListState, body: unknown, ctx: CommandContext): Promise<WriteOutcome> {
    const input = normalizeResourceInput(body, GROUP_RESOURCE_SCHEMA);
    checkIdentifierLengths([['displayName', input.displayName], ['externalId', input.externalId]]);
    const displayName = String(input.displayName ?? '');
    const members = this.membersOf(input);
    await this.checkMembers(list.listId, members);
    const groupId = this.d.newId();
    const cmd: GroupCommand = { type: 'CreateGroup', groupId, listId: list.listId, displayName, externalId: typeof input.externalId === 'string' ? input.externalId : undefined, members };
    const events = groupDecider.decide(cmd, groupDecider.initialState());
    if (this.d.store.appendToStreams) {
      // one atomic append of the name's reservation and the group (no_stream on both): a crash keeps
      // both or neither. A name reserved before (taken, released, stale) takes the claim path below.
      try {
        const [, res] = await this.d.store.appendToStreams([
          { streamId: reservationStream(list.listId, 'groupName', displayName), events: reservedEvents(list.listId, 'groupName', displayName, groupId, ctx), expectedRevision: 'no_stream' },
          { streamId: streams.group(groupId), events: toNewEvents(events, ctx), expectedRevision: 'no_stream' },
        ]);
        return { resource: (await this.get(list.listId, groupId)).resource, event: events[0], position: res.position };
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
      }
    }
    const owner = await claim(this.d.store, list.listId, 'groupName', displayName, groupId, ctx, this.staleOwner);
    if (owner !== null) throw new ScimError({ status: 409, scimType: 'uniqueness', detail: `a Group named "${displayName}" already exists` });
    try {
      const res = await this.append(groupId, events, -1, ctx);
      return { resource: (await this.get(list.listId, groupId)).resource, event: events[0], position: res.position };
    } catch (err) {
      await release(this.d.store, list.listId, 'groupName', displayName, groupId, ctx).catch(() => {});
      throw err;
    }
  }

  private async update(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext, next: (current: ScimResource) => ScimResource): Promise<WriteOutcome> {
    for (let attempt = 1; ; attempt++) {
      const g = await this.loadGroup(list.listId, id);
      if (!g.found) throw notFound(id);
      if (!etagMatches(ifMatch, g.revision)) throw preconditionFailed();
      const current: ScimResource = { schemas: [GROUP_SCHEMA_ID], id, displayName: g.state.displayName, ...(g.state.externalId ? { externalId: g.state.externalId } : {}), members: g.state.members.map((m) => ({ value: m })) };
      const after = next(current);
      checkIdentifierLengths([['displayName', after.displayName, current.displayName], ['externalId', after.externalId, current.externalId]]);
      const displayName = String(after.displayName ?? '');
      if (!displayName) throw ScimError.badRequest('invalidValue', 'displayName is required');
      const members = this.membersOf(after);
      const added = members.filter((m) => !g.state.members.includes(m));
      await this.checkMembers(list.listId, added);
      const renamed = displayName.toLowerCase() !== g.state.displayName.toLowerCase();
      const events = groupDecider.decide({ type: 'UpdateGroup', displayName, externalId: typeof after.externalId === 'string' ? after.externalId : undefined, members }, g.state);
      if (!events.length) return { resource: (await this.get(list.listId, id)).resource, event: null, position: null };
      if (renamed) {
        const owner = await claim(this.d.store, list.listId, 'groupName', displayName, id, ctx, this.staleOwner);
        if (owner !== null) throw new ScimError({ status: 409, scimType: 'uniqueness', detail: `a Group named "${displayName}" already exists` });
      }
      try {
        const res = await this.append(id, events, g.revision, ctx);
        if (renamed) await release(this.d.store, list.listId, 'groupName', g.state.displayName, id, ctx);
        return { resource: (await this.get(list.listId, id)).resource, event: events[0], position: res.position };
      } catch (err) {
        if (renamed) await release(this.d.store, list.listId, 'groupName', displayName, id, ctx).catch(() => {});
        if (err instanceof WrongExpectedRevisionError && attempt < MAX_WRITE_ATTEMPTS && !ifMatch) { await backoff(attempt); continue; }
        if (err instanceof WrongExpectedRevisionError) throw preconditionFailed('the resource changed while this request was applied');
        throw err;
      }
    }
  }

  replace(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    return this.update(list, id, ifMatch, ctx, () => normalizeResourceInput(body, GROUP_RESOURCE_SCHEMA));
  }

  patch(list: ListState, id: string, body: unknown, ifMatch: string | undefined, ctx: CommandContext) {
    const ops = parsePatchRequest(body);
    return this.update(list, id, ifMatch, ctx, (current) => applyPatch(current, ops, GROUP_RESOURCE_SCHEMA));
  }

  async remove(list: ListState, id: string, ifMatch: string | undefined, ctx: CommandContext): Promise<WriteOutcome> {
    for (let attempt = 1; ; attempt++) {
      const g = await this.loadGroup(list.listId, id);
      if (!g.found) throw notFound(id);
      if (!etagMatches(ifMatch, g.revision)) throw preconditionFailed();
      const events = groupDecider.decide({ type: 'DeleteGroup' }, g.state);
      try {
        const res = await this.append(id, events, g.revision, ctx);
        await release(this.d.store, list.listId, 'groupName', g.state.displayName, id, ctx);
        return { resource: null, event: events[0], position: res.position };
      } catch (err) {
        if (err instanceof WrongExpectedRevisionError && attempt < MAX_WRITE_ATTEMPTS && !ifMatch) { await backoff(attempt); continue; }
        if (err instanceof WrongExpectedRevisionError) throw preconditionFailed('the resource changed while this request was applied');
        throw err;
      }
    }
  }

  /** A name reservation whose group was never written (crash between the appends) may be taken over. */
  private staleOwner = async (o: { owner: string | null; at: number }): Promise<boolean> => {
    if (!o.owner || Date.now() - o.at < 30_000) return false;
    return (await this.d.store.readStream(streams.group(o.owner), { maxCount: 1 })).length === 0;
  };

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
    const docs = await this.d.readStore.collection('groups').find(filter, { sort: { createdAt: 1, _id: 1 } });
    let resources: ScimResource[] = [];
    for (const d of docs) {
      const state: GroupState = { exists: true, deleted: false, groupId: d._id, listId, displayName: String(d.displayName), externalId: (d.externalId as string | null) ?? undefined, members: (d.members as string[]) ?? [] };
      if (opts.members === false) state.members = [];
      resources.push(await this.toResource(listId, state, { created: String(d.createdAt) }, { lastModified: String(d.updatedAt), revision: Number(d.revision ?? d.lastPosition ?? 0) }));
    }
    if (node) resources = resources.filter((r) => evaluateFilter(node!, r, GROUP_RESOURCE_SCHEMA));
    if (q.sortBy) resources = sortResources(resources, q.sortBy, q.sortOrder, GROUP_RESOURCE_SCHEMA);
    return { total: resources.length, resources: count === 0 ? [] : resources.slice(startIndex - 1, startIndex - 1 + count), startIndex };
  }

  /** exported for the reservation check in tests */
  ownerOfName(listId: string, name: string) { return ownerOf(this.d.store, listId, 'groupName', name); }
}
