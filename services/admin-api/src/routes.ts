import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AdminRole, FieldMapping, GroupRule, Plan, SchemaField, UniqueIdentifier, streams, toNewEvents,
  type CommandContext, type DomainEvent,
} from '@muster/contracts';
import {
  DomainError, FEATURE_PLAN, generateToken, handleCommand, listDecider, load, organisationDecider, personDecider,
  planAllows, syncedFieldKeys, tokensDecider, type ListState,
} from '@muster/domain';
import { HttpError, waitForCheckpoint } from '@muster/http';
import type { Filter, Sort } from '@muster/read-store';
import type { AdminContext } from './app.ts';
import { DEFAULT_ORG, requireRole, requireWrite, type Principal } from './auth.ts';
import { validateFieldValues } from './fields.ts';

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

  const cmd = (req: FastifyRequest, p: Principal): CommandContext => ({
    actor: { kind: 'admin', id: p.tokenId }, source: { kind: 'admin-api', requestId: String(req.id), method: req.method, path: req.url.split('?')[0] },
    correlationId: String(req.id), now: ctx.now(), newId: ctx.newId,
  });

  /** Wait for the read models: to `after` when given, else to the head at request time (bounded). */
  const consistent = async (after?: number) => {
    const target = after ?? (await store.headPosition());
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
  api.post('/organisations', { schema: { tags: ['organisations'], body: OrgBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can create organisations');
    const orgId = req.body.id ?? ctx.newId();
    const res = await handleCommand(store, streams.organisation(orgId), organisationDecider, { type: 'CreateOrganisation', orgId, name: req.body.name, plan: req.body.plan }, cmd(req, p));
    return reply.status(201).send({ id: orgId, name: req.body.name, plan: req.body.plan, position: res.position });
  });
  api.patch('/organisations/:orgId', { schema: { tags: ['organisations'], params: z.object({ orgId: z.string() }), body: z.object({ plan: Plan }) } }, async (req) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can change plans');
    const res = await handleCommand(store, streams.organisation(req.params.orgId), organisationDecider, { type: 'ChangePlan', plan: req.body.plan }, cmd(req, p));
    return { id: req.params.orgId, plan: res.state.plan, position: res.position };
  });
  api.post('/organisations/:orgId/admin-tokens', {
    schema: { tags: ['organisations'], params: z.object({ orgId: z.string() }), body: z.object({ role: AdminRole, label: z.string().max(200).optional() }) },
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
  api.post('/lists', { schema: { tags: ['lists'], body: ListBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const orgId = p.orgId ?? req.body.orgId ?? DEFAULT_ORG;
    if (p.orgId !== null && req.body.orgId && req.body.orgId !== p.orgId) throw new HttpError(403, 'forbidden', 'an organisation token can only create lists in its own organisation');
    const listId = ctx.newId();
    const res = await handleCommand(store, streams.list(listId), listDecider, { type: 'CreateList', listId, orgId, name: req.body.name, description: req.body.description }, cmd(req, p));
    return reply.status(201).send({ ...listView(null, res.state, listId), position: res.position });
  });
  api.get('/lists', { schema: { tags: ['lists'], querystring: z.object({ after: After }) } }, async (req) => {
    const p = req.principal!;
    await consistent(req.query.after);
    const filter: Filter = p.orgId === null ? {} : { orgId: p.orgId };
    const docs = await readStore.collection('lists').find(filter, { sort: { createdAt: 1, _id: 1 } });
    return { items: docs.map((d) => listView(d)), total: docs.length };
  });
  api.get('/lists/:id', { schema: { tags: ['lists'], params: ListParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const doc = await readStore.collection('lists').findOne({ _id: req.params.id });
    return listView(doc, list, req.params.id);
  });
  api.patch('/lists/:id', { schema: { tags: ['lists'], params: ListParams, body: z.object({ name: z.string().trim().min(1).max(200).optional(), description: z.string().max(2000).optional() }) } }, async (req) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'UpdateList', ...req.body }, cmd(req, p));
    return { ...listView(null, res.state, req.params.id), position: res.position };
  });

  // ---------- fields ----------
  api.get('/lists/:id/fields', { schema: { tags: ['fields'], params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const synced = syncedFieldKeys(list);
    return { items: list.fields.map((f) => ({ ...f, syncedBy: synced.has(f.key) ? list.sync!.provider : null })) };
  });
  api.post('/lists/:id/fields', { schema: { tags: ['fields'], params: ListParams, body: SchemaField } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    if (req.body.type === 'enum' && !(req.body.enumValues && req.body.enumValues.length)) throw new DomainError('invalid', 'an enum field needs enumValues');
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'AddField', field: req.body }, cmd(req, p));
    return reply.status(201).send({ ...req.body, position: res.position });
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
  }).catchall(z.string());
  api.get('/lists/:id/people', { schema: { tags: ['people'], params: ListParams, querystring: PeopleQuery } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
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
    return { items: items.map(personView), total, nextCursor: next };
  });

  api.post('/lists/:id/people', { schema: { tags: ['people'], params: ListParams, body: z.object({ fields: z.record(z.string(), z.unknown()) }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync) throw new DomainError('locked', `this list is synced by ${list.sync.provider.toUpperCase()}; people are created by the identity provider`, { sync: list.sync.provider });
    const fields = validateFieldValues(list.fields, req.body.fields, { partial: false });
    const personId = ctx.newId();
    const res = await handleCommand(store, streams.person(personId), personDecider, { type: 'CreatePerson', personId, listId: list.listId, fields }, cmd(req, p));
    return reply.status(201).send({ id: personId, listId: list.listId, status: res.state.status, fields: res.state.fields, position: res.position });
  });

  api.get('/lists/:id/people/:personId', { schema: { tags: ['people'], params: PersonParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const recorded = await store.readStream(streams.person(req.params.personId));
    if (!recorded.length || (recorded[0].data as { listId?: string }).listId !== list.listId) throw new DomainError('not_found', 'person not found');
    const { state } = await load(store, streams.person(req.params.personId), personDecider);
    await consistent(req.query.after);
    const doc = await readStore.collection('people').findOne({ _id: req.params.personId });
    const synced = syncedFieldKeys(list);
    return {
      id: state.personId, listId: state.listId, status: state.status, fields: state.fields,
      linked: state.linked, syncAnchor: state.linked && state.scim ? { scimId: state.personId, externalId: state.scim.externalId ?? null, userName: state.scim.userName ?? null } : null,
      lockedFields: [...synced], groups: (doc?.groups as string[] | undefined) ?? [],
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
    schema: { tags: ['people'], params: PersonParams, body: z.object({ fields: z.record(z.string(), z.unknown()).optional(), status: z.enum(['active', 'inactive']).optional() }).refine((b) => b.fields || b.status, 'give fields or status') },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const existing = await load(store, streams.person(req.params.personId), personDecider);
    if (!existing.state.exists || existing.state.listId !== list.listId) throw new DomainError('not_found', 'person not found');
    const provider = list.sync ? list.sync.provider.toUpperCase() : null;
    let position: number | null = null;
    let state = existing.state;
    if (req.body.fields) {
      const locked = Object.fromEntries([...syncedFieldKeys(list)].map((k) => [k, provider!]));
      const changes = validateFieldValues(list.fields, req.body.fields, { partial: true });
      // locked check first, so a synced field is named even if its value is also invalid
      const res = await handleCommand(store, streams.person(req.params.personId), personDecider, { type: 'EditPerson', changes: { ...req.body.fields, ...changes }, lockedFields: locked }, cmd(req, p));
      position = res.position ?? position; state = res.state;
    }
    if (req.body.status) {
      const res = await handleCommand(store, streams.person(req.params.personId), personDecider, { type: 'SetStatus', status: req.body.status, syncProvider: provider }, cmd(req, p));
      position = res.position ?? position; state = res.state;
    }
    return { id: state.personId, listId: state.listId, status: state.status, fields: state.fields, position };
  });

  // ---------- SCIM connection ----------
  api.get('/lists/:id/sync/scim', { schema: { tags: ['sync'], params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    return { connected: list.sync?.provider === 'scim', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, scimBaseUrl: list.sync?.provider === 'scim' ? scimBaseUrl(ctx, list.listId) : null };
  });
  api.post('/lists/:id/sync/scim', { schema: { tags: ['sync'], params: ListParams, body: z.object({ uniqueIdentifier: UniqueIdentifier }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectScim', uniqueIdentifier: req.body.uniqueIdentifier, now: ctx.now().getTime() }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'scim', uniqueIdentifier: req.body.uniqueIdentifier, scimBaseUrl: scimBaseUrl(ctx, list.listId),
      fieldsAdded: ev.type === 'ScimConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/scim', { schema: { tags: ['sync'], params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'scim') throw new DomainError('conflict', 'SCIM is not connected on this list');
    const revoked = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'DisconnectScim' }, cmd(req, p));
    return { connected: false, revokedTokens: revoked.events.length, peopleKept: true, position: res.position };
  });

  // ---------- SCIM tokens ----------
  const tokenStatus = (t: Record<string, unknown>, now: Date) =>
    t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(String(t.expiresAt)) <= now.getTime() ? 'expired' : 'active';
  api.get('/lists/:id/sync/scim/tokens', { schema: { tags: ['tokens'], params: ListParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readStore.collection('tokens').find({ listId: list.listId }, { sort: { createdAt: 1, _id: 1 } });
    const usage = await readStore.collection('token_usage').find({ _id: { $in: docs.map((d) => d._id) } });
    const used = new Map(usage.map((u) => [u._id, u.lastUsedAt]));
    const now = ctx.now();
    return {
      items: docs.map((d) => ({
        id: d._id, prefix: d.prefix, createdAt: d.createdAt, lastUsedAt: used.get(d._id) ?? null, expiresAt: d.expiresAt ?? null,
        revokedAt: d.revokedAt ?? null, rotatedFrom: d.rotatedFrom ?? null, status: tokenStatus(d, now),
      })),
    };
  });
  api.post('/lists/:id/sync/scim/tokens', {
    schema: { tags: ['tokens'], params: ListParams, body: z.object({ expiresInDays: z.number().int().min(1).max(3650).optional() }).optional() },
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
    }, cmd(req, p));
    return reply.status(201).send({ id: tokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt, position: res.position });
  });
  api.delete('/lists/:id/sync/scim/tokens/:tokenId', { schema: { tags: ['tokens'], params: TokenParams } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeToken', tokenId: req.params.tokenId }, cmd(req, p));
    return reply.status(204).send();
  });
  api.post('/lists/:id/sync/scim/tokens/:tokenId/rotate', {
    schema: { tags: ['tokens'], params: TokenParams, body: z.object({ overlapHours: z.number().min(0).max(24 * 30).default(24) }).default({ overlapHours: 24 }) },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const { token, hash, displayPrefix } = generateToken('sct_');
    const newTokenId = ctx.newId();
    const now = ctx.now();
    const res = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, {
      type: 'RotateToken', tokenId: req.params.tokenId, newTokenId, hash, prefix: displayPrefix, overlapMs: req.body.overlapHours * 3_600_000, now,
    }, cmd(req, p));
    const old = res.state.tokens[req.params.tokenId];
    return reply.status(201).send({
      id: newTokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt: null,
      previous: { id: req.params.tokenId, expiresAt: old.expiresAt }, position: res.position,
    });
  });

  // ---------- mappings (owned by the mapping service, reached over the bus) ----------
  api.get('/mappings/catalogue', { schema: { tags: ['mappings'] } }, async () => ctx.mapping.catalogue());
  api.get('/lists/:id/mappings', { schema: { tags: ['mappings'], params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    return ctx.mapping.get(list.listId);
  });
  api.put('/lists/:id/mappings', {
    schema: { tags: ['mappings'], params: ListParams, body: z.object({ mappings: z.array(FieldMapping), groupRules: z.array(GroupRule).default([]) }) },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const res = await ctx.mapping.set({ listId: list.listId, mappings: req.body.mappings, groupRules: req.body.groupRules, actor: { kind: 'admin', id: p.tokenId }, correlationId: String(req.id) });
    return { mappings: req.body.mappings, groupRules: req.body.groupRules, ...res };
  });

  // ---------- provisioning log ----------
  const LogQuery = z.object({
    operation: z.string().max(40).optional(), status: z.enum(['SUCCESS', 'SKIPPED', 'FAILED']).optional(),
    personId: z.string().max(100).optional(), from: z.string().datetime({ offset: true }).optional(), to: z.string().datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50), cursor: z.coerce.number().int().optional(), after: After,
  });
  api.get('/lists/:id/provisioning-log', { schema: { tags: ['provisioning-log'], params: ListParams, querystring: LogQuery } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const q = req.query;
    const filter: Filter = { listId: list.listId };
    if (q.operation) filter.operation = q.operation.toUpperCase();
    if (q.status) filter.status = q.status;
    if (q.personId) filter.resourceId = q.personId;
    if (q.from || q.to) filter.at = { ...(q.from ? { $gte: new Date(q.from).toISOString() } : {}), ...(q.to ? { $lte: new Date(q.to).toISOString() } : {}) };
    if (q.cursor !== undefined) filter.position = { $lt: q.cursor };
    const items = await readStore.collection('provisioning_log').find(filter, { sort: { position: -1 }, limit: q.limit });
    return {
      items: items.map(({ _id, lastPosition, ...rest }) => ({ id: _id, ...rest })),
      nextCursor: items.length === q.limit ? items[items.length - 1].position : null,
    };
  });
}

function personView(d: Record<string, unknown>) {
  const { _id, lastPosition, search, ...rest } = d;
  return { id: _id, ...rest };
}
