import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AdminRole, FieldMapping, GroupRule, Plan, SchemaField, UniqueIdentifier, streams, toNewEvents,
  type CommandContext, type DomainEvent,
} from '@muster/contracts';
import {
  DomainError, FEATURE_PLAN, fold, generateToken, handleCommand, listDecider, load, organisationDecider, personDecider,
  planAllows, syncedFieldKeys, tokensDecider, type ListState,
} from '@muster/domain';
import { HttpError, waitForCheckpoint } from '@muster/http';
import type { Filter, Sort } from '@muster/read-store';
import type { AdminContext } from './app.ts';
import { DEFAULT_ORG, requireRole, requireWrite, type Principal } from './auth.ts';
import { validateFieldValues } from './fields.ts';
import { AsOfParam, peopleAsOf } from './history.ts';

type App = FastifyInstance<any, any, any, any, ZodTypeProvider>;

const ListParams = z.object({ id: z.string().min(1).max(100) });
const PersonParams = z.object({ id: z.string().min(1).max(100), personId: z.string().min(1).max(100) });
const TokenParams = z.object({ id: z.string().min(1).max(100), tokenId: z.string().min(1).max(100) });
const After = z.coerce.number().int().min(-1).optional().describe('wait until the projection has applied this position (read-your-writes)');
const PROJECTION = 'main';

function escapeRegex(s: string) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

export function scimBaseUrl(ctx: AdminContext, listId: string) {
  return `${ctx.publicUrl}/scim/v2/lists/${listId}`;
}

export async function registerRoutes(api: App, ctx: AdminContext): Promise<void> {
  const { store, readStore } = ctx;

  const cmd = (req: FastifyRequest, p: Principal, now: Date = ctx.now()): CommandContext => ({
    actor: { kind: 'admin', id: p.tokenId }, source: { kind: 'admin-api', requestId: String(req.id), method: req.method, path: req.url.split('?')[0] },
    correlationId: String(req.id), now, newId: ctx.newId, traceparent: req.traceparent,
  });

  /** Wait for the read models: to `after` when given, else to the head at request time (bounded). */
  const consistent = async (after?: number) => {
    const head = await store.headPosition();
    // a position the log has not reached can never be projected: say so now rather than after the wait
    if (after !== undefined && after > head) throw new HttpError(400, 'invalid', `after=${after} is past the end of the event log (its last position is ${head}); use a position a command returned`);
    const target = after ?? head;
    if (target < 0) return;
    const ok = await waitForCheckpoint(readStore, PROJECTION, target, ctx.consistencyTimeoutMs);
    if (!ok && after !== undefined) throw new HttpError(503, 'projection_lagging', `the read models have not reached position ${after} yet; retry shortly`);
  };

  const listFor = async (p: Principal, listId: string): Promise<ListState> => {
    const { state } = await load(store, streams.list(listId), listDecider);
    if (!state.exists || (p.orgId !== null && state.orgId !== p.orgId)) throw new DomainError('not_found', 'list not found');
    return state;
  };

  const orgPlan = async (orgId: string): Promise<Plan> => {
    const { state } = await load(store, streams.organisation(orgId), organisationDecider);
    return state.exists ? state.plan : 'enterprise';
  };

  const gate = async (list: ListState, feature: keyof typeof FEATURE_PLAN) => {
    const plan = await orgPlan(list.orgId);
    if (!planAllows(plan, feature)) throw new HttpError(403, 'plan_required', `${feature === 'scim' ? 'Automated provisioning (SCIM)' : 'Entra directory sync'} needs the ${FEATURE_PLAN[feature]} plan or above; this organisation is on ${plan}`, { requiredPlan: FEATURE_PLAN[feature], plan });
  };

  const listView = (doc: Record<string, unknown> | null, state?: ListState, listId?: string) => {
    if (doc) {
      const { _id, lastPosition, ...rest } = doc;
      return { id: _id, ...rest, scimBaseUrl: (doc.sync as { provider?: string } | null)?.provider === 'scim' ? scimBaseUrl(ctx, String(_id)) : null };
    }
    return { id: listId ?? state!.listId, orgId: state!.orgId, name: state!.name, description: state!.description ?? null, fields: state!.fields, sync: state!.sync, counts: { active: 0, inactive: 0 } };
  };

  api.get('/whoami', { schema: { tags: ['admin'] } }, async (req) => req.principal);

  // ---------- organisations (install-wide admin) ----------
  const OrgBody = z.object({ name: z.string().min(1).max(200), plan: Plan.default('enterprise'), id: z.string().regex(/^[a-z0-9-]{1,64}$/).optional() });
  api.post('/organisations', { schema: { tags: ['organisations'], summary: 'Create an organisation (install-wide admin only)', body: OrgBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can create organisations');
    const orgId = req.body.id ?? ctx.newId();
    const res = await handleCommand(store, streams.organisation(orgId), organisationDecider, { type: 'CreateOrganisation', orgId, name: req.body.name, plan: req.body.plan }, cmd(req, p));
    return reply.status(201).send({ id: orgId, name: req.body.name, plan: req.body.plan, position: res.position });
  });
  api.get('/organisations', { schema: { tags: ['organisations'], summary: 'Organisations this token can see (all of them for the install-wide admin)', querystring: z.object({ after: After }) } }, async (req) => {
    const p = req.principal!;
    await consistent(req.query.after);
    const docs = await readStore.collection('organisations').find(p.orgId === null ? {} : { _id: p.orgId }, { sort: { createdAt: 1, _id: 1 } });
    const items: Array<Record<string, unknown>> = docs.map(({ _id, lastPosition, ...rest }) => ({ id: _id, ...rest }));
    // the default organisation of a self-hosted install has no stream: enterprise plan
    if ((p.orgId === null || p.orgId === DEFAULT_ORG) && !items.some((o) => o.id === DEFAULT_ORG)) items.unshift({ id: DEFAULT_ORG, name: 'Default', plan: 'enterprise' });
    return { items };
  });
  api.get('/organisations/:orgId', { schema: { tags: ['organisations'], summary: 'An organisation, its plan and what the plan unlocks', params: z.object({ orgId: z.string() }) } }, async (req) => {
    const p = req.principal!;
    if (p.orgId !== null && p.orgId !== req.params.orgId) throw new DomainError('not_found', 'organisation not found');
    const { state } = await load(store, streams.organisation(req.params.orgId), organisationDecider);
    if (!state.exists && req.params.orgId !== DEFAULT_ORG) throw new DomainError('not_found', 'organisation not found');
    const org = state.exists ? { id: state.orgId, name: state.name, plan: state.plan } : { id: DEFAULT_ORG, name: 'Default', plan: 'enterprise' as const };
    // what the plan unlocks (seeds: SCIM needs Business or above, Entra directory sync Pro or above)
    const features = Object.fromEntries((Object.keys(FEATURE_PLAN) as Array<keyof typeof FEATURE_PLAN>).map((f) => [f, { allowed: planAllows(org.plan, f), requiredPlan: FEATURE_PLAN[f] }]));
    return { ...org, features };
  });
  api.patch('/organisations/:orgId', { schema: { tags: ['organisations'], summary: "Change an organisation's plan (install-wide admin only)", params: z.object({ orgId: z.string() }), body: z.object({ plan: Plan }) } }, async (req) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can change plans');
    const res = await handleCommand(store, streams.organisation(req.params.orgId), organisationDecider, { type: 'ChangePlan', plan: req.body.plan }, cmd(req, p));
    return { id: req.params.orgId, plan: res.state.plan, position: res.position };
  });
  api.post('/organisations/:orgId/admin-tokens', {
    schema: { tags: ['organisations'], summary: 'Issue an admin token for an organisation (shown once)', params: z.object({ orgId: z.string() }), body: z.object({ role: AdminRole, label: z.string().max(200).optional() }) },
  }, async (req, reply) => {
    const p = requireRole(req.principal, ['owner']);
    if (p.orgId !== null && p.orgId !== req.params.orgId) throw new DomainError('not_found', 'organisation not found');
    const org = await load(store, streams.organisation(req.params.orgId), organisationDecider);
    if (!org.state.exists && req.params.orgId !== DEFAULT_ORG) throw new DomainError('not_found', 'organisation not found');
    const { token, hash, displayPrefix } = generateToken('mat_');
    const tokenId = ctx.newId();
    const ev: DomainEvent = { type: 'AdminTokenIssued', data: { tokenId, orgId: req.params.orgId, role: req.body.role, hash, prefix: displayPrefix, label: req.body.label } };
    const res = await store.appendToStream(streams.adminToken(tokenId), toNewEvents([ev], cmd(req, p)), { expectedRevision: 'no_stream' });
    return reply.status(201).send({ id: tokenId, token, prefix: displayPrefix, role: req.body.role, orgId: req.params.orgId, position: res.position });
  });

  // ---------- lists ----------
  const ListBody = z.object({ name: z.string().trim().min(1).max(200), description: z.string().max(2000).optional(), orgId: z.string().optional() });
  api.post('/lists', { schema: { tags: ['lists'], summary: 'Create a master list', body: ListBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const orgId = p.orgId ?? req.body.orgId ?? DEFAULT_ORG;
    if (p.orgId !== null && req.body.orgId && req.body.orgId !== p.orgId) throw new HttpError(403, 'forbidden', 'an organisation token can only create lists in its own organisation');
    if (orgId !== DEFAULT_ORG && !(await load(store, streams.organisation(orgId), organisationDecider)).state.exists) throw new DomainError('not_found', `organisation ${orgId} not found`);
    const listId = ctx.newId();
    const res = await handleCommand(store, streams.list(listId), listDecider, { type: 'CreateList', listId, orgId, name: req.body.name, description: req.body.description }, cmd(req, p));
    return reply.status(201).send({ ...listView(null, res.state, listId), position: res.position });
  });
  api.get('/lists', { schema: { tags: ['lists'], summary: "Master lists of this token's organisation", querystring: z.object({ after: After }) } }, async (req) => {
    const p = req.principal!;
    await consistent(req.query.after);
    const filter: Filter = p.orgId === null ? {} : { orgId: p.orgId };
    const docs = await readStore.collection('lists').find(filter, { sort: { createdAt: 1, _id: 1 } });
    return { items: docs.map((d) => listView(d)), total: docs.length };
  });
  api.get('/lists/:id', { schema: { tags: ['lists'], summary: 'A master list', params: ListParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const doc = await readStore.collection('lists').findOne({ _id: req.params.id });
    return listView(doc, list, req.params.id);
  });
  api.patch('/lists/:id', { schema: { tags: ['lists'], summary: 'Rename or describe a master list', params: ListParams, body: z.object({ name: z.string().trim().min(1).max(200).optional(), description: z.string().max(2000).optional() }) } }, async (req) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'UpdateList', ...req.body }, cmd(req, p));
    return { ...listView(null, res.state, req.params.id), position: res.position };
  });

  // ---------- fields ----------
  api.get('/lists/:id/fields', { schema: { tags: ['fields'], summary: "A list's schema fields, with the sync that owns each (null: local-only)", params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const synced = syncedFieldKeys(list);
    return { items: list.fields.map((f) => ({ ...f, syncedBy: synced.has(f.key) ? list.sync!.provider : null })) };
  });
  api.post('/lists/:id/fields', { schema: { tags: ['fields'], summary: 'Add a schema field (409 when the key exists)', params: ListParams, body: SchemaField } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    if (req.body.type === 'enum' && !(req.body.enumValues && req.body.enumValues.length)) throw new DomainError('invalid', 'an enum field needs enumValues');
    if (req.body.type !== 'enum' && req.body.enumValues) throw new DomainError('invalid', 'enumValues are only allowed on enum fields');
    if (req.body.enumValues && new Set(req.body.enumValues).size !== req.body.enumValues.length) throw new DomainError('invalid', 'enumValues must be distinct');
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'AddField', field: req.body }, cmd(req, p));
    return reply.status(201).send({ ...req.body, syncedBy: null, position: res.position });
  });

  // ---------- people ----------
  const PeopleQuery = z.object({
    status: z.enum(['active', 'inactive', 'all']).default('all'),
    q: z.string().max(200).optional(),
    sort: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/).optional(),
    order: z.enum(['asc', 'desc']).default('asc'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(200).optional(),
    after: After,
    asOf: AsOfParam,
  }).catchall(z.string());
  api.get('/lists/:id/people', { schema: { tags: ['people'], summary: 'People on a list: status filter, free text, eq./contains. field filters, sort, cursor', params: ListParams, querystring: PeopleQuery } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    if (req.query.asOf) {
      // point in time (history.ts): the roster recomputed from the event log; the people read model,
      // its index of who is on the list, must have projected the log as it stands now (503 if it lags)
      await consistent(req.query.after ?? await store.headPosition());
      return peopleAsOf(store, readStore, list, { ...req.query, asOf: req.query.asOf }, (d) => ({ ...personView(d), uniqueId: uniqueIdOf(list, d.fields as Record<string, unknown>, d.scimResource as Record<string, unknown> | null) }));
    }
    await consistent(req.query.after);
    const { status, q, sort, order, limit, cursor } = req.query;
    const filter: Filter = { listId: list.listId };
    if (status !== 'all') filter.status = status;
    if (q) filter.search = { $regex: escapeRegex(q.toLowerCase()) };
    const fieldKeys = new Set(list.fields.map((f) => f.key));
    for (const [k, v] of Object.entries(req.query)) {
      const m = /^(eq|contains)\.([a-zA-Z][a-zA-Z0-9_]*)$/.exec(k);
      if (!m) continue;
      if (!fieldKeys.has(m[2])) throw new DomainError('invalid', `unknown field "${m[2]}" in filter ${k}`);
      filter[`fields.${m[2]}`] = m[1] === 'eq' ? v : { $regex: escapeRegex(String(v)), $options: 'i' };
    }
    let sortSpec: Sort = { createdAt: 1, _id: 1 };
    if (sort) {
      const key = ['createdAt', 'updatedAt', 'status'].includes(sort) ? sort : fieldKeys.has(sort) ? `fields.${sort}` : null;
      if (!key) throw new DomainError('invalid', `cannot sort by unknown field "${sort}"`);
      sortSpec = { [key]: order === 'asc' ? 1 : -1, _id: 1 };
    }
    let offset = 0;
    if (cursor) {
      try { offset = z.object({ o: z.number().int().min(0) }).parse(JSON.parse(Buffer.from(cursor, 'base64url').toString())).o; } catch { throw new DomainError('invalid', 'bad cursor'); }
    }
    const people = readStore.collection('people');
    const [items, total] = await Promise.all([people.find(filter, { sort: sortSpec, skip: offset, limit }), people.countDocuments(filter)]);
    const next = offset + items.length < total ? Buffer.from(JSON.stringify({ o: offset + items.length })).toString('base64url') : null;
    return { items: items.map((d) => ({ ...personView(d), uniqueId: uniqueIdOf(list, d.fields as Record<string, unknown>, d.scimResource as Record<string, unknown> | null) })), total, nextCursor: next };
  });

  api.post('/lists/:id/people', { schema: { tags: ['people'], summary: 'Add a person by hand (lists with no sync only)', params: ListParams, body: z.object({ fields: z.record(z.string(), z.unknown()) }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync) throw new DomainError('locked', `this list is synced by ${list.sync.provider.toUpperCase()}; people are created by the identity provider`, { sync: list.sync.provider });
    const fields = validateFieldValues(list.fields, req.body.fields, { partial: false });
    const personId = ctx.newId();
    const res = await handleCommand(store, streams.person(personId), personDecider, { type: 'CreatePerson', personId, listId: list.listId, fields }, cmd(req, p));
    return reply.status(201).send({ id: personId, listId: list.listId, status: res.state.status, fields: res.state.fields, position: res.position });
  });

  api.get('/lists/:id/people/:personId', { schema: { tags: ['people'], summary: 'A person: fields, status, sync anchor, unique identifier, groups and history from the event log', params: PersonParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const recorded = await store.readStream(streams.person(req.params.personId));
    if (!recorded.length || (recorded[0].data as { listId?: string }).listId !== list.listId) throw new DomainError('not_found', 'person not found');
    // state and timeline from the same read, so they always agree
    const state = fold(personDecider, recorded.map((r) => ({ type: r.type, data: r.data }) as DomainEvent));
    await consistent(req.query.after);
    const doc = await readStore.collection('people').findOne({ _id: req.params.personId });
    const groupIds = (doc?.groups as string[] | undefined) ?? [];
    const groupDocs = groupIds.length ? await readStore.collection('groups').find({ _id: { $in: groupIds } }, { projection: { displayName: 1 } }) : [];
    const synced = state.linked ? syncedFieldKeys(list) : new Set<string>();
    return {
      id: state.personId, listId: state.listId, status: state.status, fields: state.fields,
      uniqueId: uniqueIdOf(list, state.fields, state.scim),
      // the sync anchor: the IdP's own identifiers, kept apart from the visible unique identifier
      linked: state.linked, syncAnchor: state.scim ? { scimId: state.personId, externalId: state.scim.externalId ?? null, userName: state.scim.userName ?? null } : null,
      lockedFields: [...synced], syncedBy: synced.size ? list.sync!.provider : null,
      groups: groupDocs.map((g) => ({ id: g._id, displayName: g.displayName })),
      createdAt: (recorded[0].metadata as { occurredAt: string }).occurredAt,
      updatedAt: (recorded[recorded.length - 1].metadata as { occurredAt: string }).occurredAt,
      timeline: recorded.map((r) => {
        const m = r.metadata as { occurredAt: string; actor: unknown; source: unknown };
        const d = r.data as { fieldChanges?: unknown; scimChanges?: unknown; cause?: unknown };
        return { position: r.position, revision: r.revision, type: r.type, at: m.occurredAt, actor: m.actor, source: m.source, fieldChanges: d.fieldChanges ?? [], scimChanges: d.scimChanges ?? [], cause: d.cause ?? null };
      }),
    };
  });

  api.patch('/lists/:id/people/:personId', {
    schema: { tags: ['people'], summary: "Edit a person's fields or status (409 naming the sync for fields it owns)", params: PersonParams, body: z.object({ fields: z.record(z.string(), z.unknown()).optional(), status: z.enum(['active', 'inactive']).optional() }).refine((b) => b.fields || b.status, 'give fields or status') },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const existing = await load(store, streams.person(req.params.personId), personDecider);
    if (!existing.state.exists || existing.state.listId !== list.listId) throw new DomainError('not_found', 'person not found');
    const provider = list.sync ? list.sync.provider.toUpperCase() : null;
    // fields a connected sync feeds are locked on the people it provisioned; everything else is local
    const locked: Record<string, string> = existing.state.linked && provider ? Object.fromEntries([...syncedFieldKeys(list)].map((k) => [k, provider])) : {};
    // refusals first (a synced field is named even if its value is also invalid), before anything is appended
    if (req.body.fields) personDecider.decide({ type: 'EditPerson', changes: req.body.fields, lockedFields: locked }, existing.state);
    if (req.body.status) personDecider.decide({ type: 'SetStatus', status: req.body.status, syncProvider: provider }, existing.state);
    let position: number | null = null;
    let state = existing.state;
    if (req.body.fields) {
      const changes = validateFieldValues(list.fields, req.body.fields, { partial: true });
      const res = await handleCommand(store, streams.person(req.params.personId), personDecider, { type: 'EditPerson', changes, lockedFields: locked }, cmd(req, p));
      position = res.position ?? position; state = res.state;
    }
    if (req.body.status) {
      const res = await handleCommand(store, streams.person(req.params.personId), personDecider, { type: 'SetStatus', status: req.body.status, syncProvider: provider }, cmd(req, p));
      position = res.position ?? position; state = res.state;
    }
    return { id: state.personId, listId: state.listId, status: state.status, fields: state.fields, position };
  });

  // ---------- SCIM connection ----------
  api.get('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: "The list's SCIM connection", params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    return { connected: list.sync?.provider === 'scim', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, scimBaseUrl: list.sync?.provider === 'scim' ? scimBaseUrl(ctx, list.listId) : null };
  });
  api.post('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: 'Connect SCIM with a unique identifier (creates the 9 default fields and mappings)', params: ListParams, body: z.object({ uniqueIdentifier: UniqueIdentifier }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    if (list.sync?.provider !== 'scim') {
      // a token issued while a disconnect was under way must not come back to life with the new connection
      await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    }
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectScim', uniqueIdentifier: req.body.uniqueIdentifier, now: ctx.now().getTime() }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'scim', uniqueIdentifier: req.body.uniqueIdentifier, scimBaseUrl: scimBaseUrl(ctx, list.listId),
      fieldsAdded: ev.type === 'ScimConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: 'Disconnect SCIM: every token revoked, people kept, synced fields editable', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'scim') throw new DomainError('conflict', 'SCIM is not connected on this list');
    const revoked = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'DisconnectScim' }, cmd(req, p));
    return { connected: false, revokedTokens: revoked.events.length, peopleKept: true, position: res.position };
  });

  // ---------- Entra directory sync connection ----------
  // Connecting records which tenant and app registration to pull from (Pro plan or above) and
  // creates the default fields and mappings; the pull itself is the entra-sync service's job.
  // Client secrets never enter the event log: the service reads them from its own secret store.
  api.get('/lists/:id/sync/entra', { schema: { tags: ['sync'], summary: 'Entra directory sync status of a list', params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const doc = await readStore.collection('lists').findOne({ _id: list.listId }, { projection: { sync: 1 } });
    const sync = (doc?.sync ?? null) as Record<string, unknown> | null;
    return { connected: list.sync?.provider === 'entra', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, tenantId: sync?.tenantId ?? null, clientId: sync?.clientId ?? null, groupIds: sync?.groupIds ?? [] };
  });
  api.post('/lists/:id/sync/entra', {
    schema: {
      tags: ['sync'], summary: 'Connect Entra directory sync (one sync provider per list)', params: ListParams,
      body: z.object({ tenantId: z.string().uuid(), clientId: z.string().uuid(), groupIds: z.array(z.string().uuid()).max(50).default([]), uniqueIdentifier: UniqueIdentifier.default('email') }),
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'entra');
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectEntra', ...req.body }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'entra', uniqueIdentifier: req.body.uniqueIdentifier, tenantId: req.body.tenantId, clientId: req.body.clientId, groupIds: req.body.groupIds,
      fieldsAdded: ev.type === 'EntraConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/entra', { schema: { tags: ['sync'], summary: 'Disconnect Entra directory sync (people are kept)', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'DisconnectEntra' }, cmd(req, p));
    return { connected: false, peopleKept: true, position: res.position };
  });

  // ---------- SCIM tokens ----------
  // Response schemas here are also a guard: serialisation keeps only these keys, so a listing can never carry a token or hash.
  const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) });
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
  const TokenItem = z.object({
    id: z.string(), prefix: z.string().describe('first characters of the token, e.g. sct_a1b2'), createdAt: z.string(), lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(), revokedAt: z.string().nullable(), rotatedFrom: z.string().nullable(), status: z.enum(['active', 'expired', 'revoked']),
  });
  const IssuedToken = z.object({
    id: z.string(), token: z.string().describe('the bearer token: sct_ + 256 random bits; shown once, only its hash is stored'), prefix: z.string(),
    scimBaseUrl: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), position: z.number().nullable(),
  });
  const tokenStatus = (t: Record<string, unknown>, now: Date) =>
    (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(String(t.expiresAt)) <= now.getTime() ? 'expired' : 'active') as 'active' | 'expired' | 'revoked';
  api.get('/lists/:id/sync/scim/tokens', { schema: { tags: ['tokens'], summary: 'SCIM tokens of a list (prefix, created, last used, expiry; never the token)', params: ListParams, querystring: z.object({ after: After }), response: { 200: z.object({ items: z.array(TokenItem) }), ...errors } } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readStore.collection('tokens').find({ listId: list.listId }, { sort: { createdAt: 1, _id: 1 } });
    const usage = await readStore.collection('token_usage').find({ _id: { $in: docs.map((d) => d._id) } });
    const used = new Map(usage.map((u) => [u._id, u.lastUsedAt as string]));
    const now = ctx.now();
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      items: docs.map((d) => ({
        id: d._id, prefix: String(d.prefix), createdAt: String(d.createdAt), lastUsedAt: used.get(d._id) ?? null, expiresAt: str(d.expiresAt),
        revokedAt: str(d.revokedAt), rotatedFrom: str(d.rotatedFrom), status: tokenStatus(d, now),
      })),
    };
  });
  api.post('/lists/:id/sync/scim/tokens', {
    schema: { tags: ['tokens'], summary: 'Issue a SCIM bearer token (shown once, stored as a hash)', params: ListParams, body: z.object({ expiresInDays: z.number().int().min(1).max(3650).optional().describe('the token stops working after this many days (default: never)') }).nullish(),
      response: { 201: IssuedToken, ...errors } },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    const { token, hash, displayPrefix } = generateToken('sct_');
    const tokenId = ctx.newId();
    const now = ctx.now();
    const expiresAt = req.body?.expiresInDays ? new Date(now.getTime() + req.body.expiresInDays * 86_400_000).toISOString() : null;
    const res = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, {
      type: 'IssueToken', listId: list.listId, tokenId, hash, prefix: displayPrefix, expiresAt, scimConnected: list.sync?.provider === 'scim',
    }, cmd(req, p, now));
    return reply.status(201).send({ id: tokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt, position: res.position });
  });
  api.delete('/lists/:id/sync/scim/tokens/:tokenId', { schema: { tags: ['tokens'], summary: 'Revoke a SCIM token (the next request with it is 401)', params: TokenParams, response: { 204: z.null().describe('revoked'), ...errors } } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeToken', tokenId: req.params.tokenId }, cmd(req, p));
    return reply.status(204).send(null);
  });
  api.post('/lists/:id/sync/scim/tokens/:tokenId/rotate', {
    schema: { tags: ['tokens'], summary: 'Rotate a SCIM token: new token now, the old one works for the overlap window', params: TokenParams, body: z.object({ overlapHours: z.number().min(0).max(24 * 30).default(24).describe('how long the old token keeps working (default 24 h)') }).nullish(),
      response: { 201: IssuedToken.extend({ previous: z.object({ id: z.string(), expiresAt: z.string().nullable().describe('end of the overlap window') }) }), ...errors } },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const { token, hash, displayPrefix } = generateToken('sct_');
    const newTokenId = ctx.newId();
    const now = ctx.now();
    const res = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, {
      type: 'RotateToken', tokenId: req.params.tokenId, newTokenId, hash, prefix: displayPrefix, overlapMs: Math.round((req.body?.overlapHours ?? 24) * 3_600_000), now,
    }, cmd(req, p, now));
    const old = res.state.tokens[req.params.tokenId]; // the decider found it (own entry) or threw 404
    return reply.status(201).send({
      id: newTokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt: null,
      previous: { id: req.params.tokenId, expiresAt: old.expiresAt }, position: res.position,
    });
  });

  // ---------- mappings (owned by the mapping service, reached over the bus) ----------
  api.get('/mappings/catalogue', {
    schema: { tags: ['mappings'], summary: 'The mappable IdP attributes, flat and grouped (Name, Contact, Organisation, Account, Address, Custom)' },
  }, async () => ctx.mapping.catalogue());
  api.get('/lists/:id/mappings', {
    schema: { tags: ['mappings'], summary: 'A list\'s field mappings, group rules and the custom extension attributes its people carry', params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    return ctx.mapping.get(list.listId);
  });
  api.put('/lists/:id/mappings', {
    schema: { tags: ['mappings'], summary: "Replace a list's mappings and group rules, then re-apply them to everyone on the list (202 when that run goes on after the answer)", params: ListParams, body: z.object({ mappings: z.array(FieldMapping), groupRules: z.array(GroupRule).default([]) }) },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const c = cmd(req, p);
    const res = await ctx.mapping.set({
      listId: list.listId, mappings: req.body.mappings, groupRules: req.body.groupRules, actor: c.actor, correlationId: c.correlationId,
      source: { requestId: c.source.requestId, method: c.source.method, path: c.source.path }, ...(c.traceparent ? { traceparent: c.traceparent } : {}),
    });
    // 202: saved, and the remap of a large list goes on after this answer (GET .../mappings shows its progress)
    return reply.status(res.remap.pending ? 202 : 200).send({ mappings: req.body.mappings, groupRules: req.body.groupRules, ...res });
  });

  // ---------- groups the IdP pushed to a list ----------
  api.get('/lists/:id/groups', {
    schema: { tags: ['groups'], summary: 'Groups the identity provider pushed to this list (usable in group rules)', params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readStore.collection('groups').find({ listId: list.listId }, { sort: { displayNameLower: 1, _id: 1 } });
    return {
      items: docs.map((d) => ({ id: d._id, displayName: d.displayName, externalId: d.externalId ?? null, members: (d.members as string[] | undefined) ?? [], memberCount: ((d.members as string[] | undefined) ?? []).length, createdAt: d.createdAt, updatedAt: d.updatedAt })),
      total: docs.length,
    };
  });

  // ---------- provisioning log ----------
  // Every authenticated SCIM write is logged (SUCCESS from its domain event, SKIPPED/FAILED from
  // ScimRequestLogged); reads are logged only when they fail. Newest first, cursor = last position seen.
  const LogQuery = z.object({
    operation: z.string().regex(/^[A-Za-z_]+(,[A-Za-z_]+)*$/).max(200).optional().describe('one operation or a comma-separated list (CREATE, UPDATE, DEACTIVATE, REACTIVATE, DELETE, GROUP_CREATE, GROUP_UPDATE, GROUP_DELETE, READ)'),
    status: z.enum(['SUCCESS', 'SKIPPED', 'FAILED']).optional(),
    personId: z.string().max(100).optional().describe('the person (or group) the entry is about'),
    person: z.string().max(100).optional().describe('alias of personId'),
    from: z.string().datetime({ offset: true }).optional().describe('inclusive lower bound on the entry time'),
    to: z.string().datetime({ offset: true }).optional().describe('inclusive upper bound on the entry time'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.coerce.number().int().min(0).optional().describe('nextCursor of the previous page'),
    after: After,
  });
  api.get('/lists/:id/provisioning-log', {
    schema: { tags: ['provisioning-log'], summary: 'What the identity provider did on this list, newest first', params: ListParams, querystring: LogQuery },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const q = req.query;
    const filter: Filter = { listId: list.listId };
    if (q.operation) {
      const ops = q.operation.toUpperCase().split(',');
      filter.operation = ops.length === 1 ? ops[0] : { $in: ops };
    }
    if (q.status) filter.status = q.status;
    const resource = q.personId ?? q.person;
    if (resource) filter.resourceId = resource;
    if (q.from || q.to) filter.at = { ...(q.from ? { $gte: new Date(q.from).toISOString() } : {}), ...(q.to ? { $lte: new Date(q.to).toISOString() } : {}) };
    if (q.cursor !== undefined) filter.position = { $lt: q.cursor };
    const page = await readStore.collection('provisioning_log').find(filter, { sort: { position: -1 }, limit: q.limit + 1 });
    const items = page.slice(0, q.limit);
    // name the person or group each entry is about, for display
    const userIds = [...new Set(items.filter((i) => i.resourceType === 'User' && i.resourceId).map((i) => String(i.resourceId)))];
    const groupIds = [...new Set(items.filter((i) => i.resourceType === 'Group' && i.resourceId).map((i) => String(i.resourceId)))];
    const [people, groups] = await Promise.all([
      userIds.length ? readStore.collection('people').find({ _id: { $in: userIds } }, { projection: { fields: 1, scim: 1 } }) : [],
      groupIds.length ? readStore.collection('groups').find({ _id: { $in: groupIds } }, { projection: { displayName: 1 } }) : [],
    ]);
    const names = new Map<string, string>();
    for (const d of people) {
      const f = (d.fields ?? {}) as Record<string, unknown>;
      const name = f.displayName ?? ([f.firstName, f.lastName].filter(Boolean).join(' ') || (d.scim as { userName?: string } | null)?.userName);
      if (typeof name === 'string' && name) names.set(d._id, name);
    }
    for (const g of groups) names.set(g._id, String(g.displayName));
    return {
      items: items.map(({ _id, lastPosition, ...rest }) => ({ id: _id, ...rest, resourceName: rest.resourceId ? names.get(String(rest.resourceId)) ?? null : null })),
      nextCursor: page.length > q.limit ? items[items.length - 1].position : null,
    };
  });
}

function personView(d: Record<string, unknown>) {
  const { _id, lastPosition, search, ...rest } = d;
  return { id: _id, ...rest };
}

const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * The visible unique identifier of a person under the list's SCIM choice (employee number,
 * username or email), read from what the IdP sent, else from the mapped field. It is shown
 * beside the sync anchor (the IdP's own id), never instead of it.
 */
export function uniqueIdOf(list: ListState, fields: Record<string, unknown> | undefined, scim: Record<string, unknown> | null | undefined): { kind: string; value: string | null } | null {
  const choice = list.sync?.uniqueIdentifier;
  if (!choice) return null;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const f = fields ?? {};
  switch (choice) {
    case 'employeeNumber':
      return { kind: choice, value: str((scim?.[ENTERPRISE_USER] as Record<string, unknown> | undefined)?.employeeNumber) ?? str(f.employeeNumber) };
    case 'userName':
      return { kind: choice, value: str(scim?.userName) };
    case 'email': {
      const emails = Array.isArray(scim?.emails) ? (scim!.emails as Array<Record<string, unknown>>) : [];
      const e = emails.find((x) => x.primary === true) ?? emails.find((x) => String(x.type).toLowerCase() === 'work') ?? emails[0];
      return { kind: choice, value: str(e?.value) ?? str(f.primaryEmail) ?? str(f.email) };
    }
    default:
      return null;
  }
}
