/** People on a list: the roster query (and the roster as it was, asOf), adding by hand, a person with their timeline, edits. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streamPrefixes, streams, toDomainEvent, type CommandContext } from '@muster/contracts';
import { exportEvents } from '@muster/audit';
import type { RecordedEvent } from '@muster/event-store';
import { DomainError, PersonProvisioning, Reservations, commandHandlerFor, fold, handleCommand, load, personDecider, syncedFieldKeys } from '@muster/domain';
import { After, helpers, ListParams, PersonParams, personView, uniqueIdOf } from '../context.ts';
import { requireRole, requireWrite, type Principal } from '../auth.ts';
import { validateFieldValues } from '../fields.ts';
import { AsOfParam, peopleAsOf } from '../history.ts';
import { decodeCursor, nextCursor, RosterQuery, rosterFilter, rosterSort } from '../roster-query.ts';
import * as R from '../responses.ts';

/** a person's values of the list's fields (a removed field's value stays in the log only) */
function onList(list: { fields: Array<{ key: string }> }, fields: Record<string, unknown>): Record<string, unknown> {
  const keys = new Set(list.fields.map((f) => f.key));
  return Object.fromEntries(Object.entries(fields).filter(([k]) => keys.has(k)));
}

export const peopleRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, writable } = helpers(ctx);
  const handler = commandHandlerFor(store);
  const provisioning = new PersonProvisioning(handler, new Reservations(handler));

  const PeopleQuery = RosterQuery.extend({
    after: After,
    asOf: AsOfParam,
  }).catchall(z.string()).superRefine((q, c) => {
    // a parameter the query does not know (a typo of a filter, say) is an error, not silently ignored
    const known = new Set([...Object.keys(RosterQuery.shape), 'after', 'asOf']);
    for (const k of Object.keys(q)) {
      if (!known.has(k) && !/^(eq|contains)\.[a-zA-Z][a-zA-Z0-9_]*$/.test(k)) c.addIssue({ code: 'custom', path: [k], message: `unknown query parameter "${k}" (filters are eq.<field> and contains.<field>)` });
    }
  });
  api.get('/lists/:id/people', { schema: { tags: ['people'], response: { 200: R.Page(R.PersonView) }, summary: 'People on a list: status filter, free text, eq./contains. field filters, sort, cursor', params: ListParams, querystring: PeopleQuery } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    if (req.query.asOf) {
      // point in time (history.ts): the roster recomputed from the event log; the people read model,
      // its index of who is on the list, must have projected the log as it stands now (503 if it lags)
      await consistent(req.query.after ?? await store.headPosition());
      return peopleAsOf(store, readStore, list, { ...req.query, asOf: req.query.asOf }, (d) => ({ ...personView(d), uniqueId: uniqueIdOf(list, d.fields as Record<string, unknown>, d.scimResource as Record<string, unknown> | null) }));
    }
    await consistent(req.query.after);
    const { sort, order, limit, cursor } = req.query;
    const filter = rosterFilter(list, req.query, { listId: list.listId });
    const sortSpec = rosterSort(list, sort, order);
    const offset = decodeCursor(cursor);
    const people = readStore.collection('people');
    const [items, total] = await Promise.all([people.find(filter, { sort: sortSpec, skip: offset, limit }), people.countDocuments(filter)]);
    const next = nextCursor(offset, items.length, total);
    return { items: items.map((d) => ({ ...personView(d), uniqueId: uniqueIdOf(list, d.fields as Record<string, unknown>, d.scimResource as Record<string, unknown> | null) })), total, nextCursor: next };
  });

  api.post('/lists/:id/people', { schema: { tags: ['people'], response: { 201: R.PersonView }, summary: 'Add a person by hand (lists with no sync only)', params: ListParams, body: z.object({ fields: z.record(z.string(), z.unknown()) }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = writable(await listFor(p, req.params.id));
    if (list.sync) throw new DomainError('locked', `this list is synced by ${list.sync.provider.toUpperCase()}; people are created by the identity provider`, { sync: list.sync.provider });
    const fields = validateFieldValues(list.fields, req.body.fields, { partial: false });
    const personId = ctx.newId();
    const res = await handleCommand(store, streams.person(personId), personDecider, { type: 'CreatePerson', personId, listId: list.listId, fields }, cmd(req, p));
    return reply.status(201).send({ id: personId, listId: list.listId, status: res.state.status, fields: res.state.fields, position: res.position });
  });

  api.get('/lists/:id/people/:personId', { schema: { tags: ['people'], response: { 200: R.PersonDetail }, summary: 'A person: fields, status, sync anchor, unique identifier, groups and history from the event log', params: PersonParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    const recorded = await store.readStream(streams.person(req.params.personId));
    if (!recorded.length || (recorded[0].data as { listId?: string }).listId !== list.listId) throw new DomainError('not_found', 'person not found');
    // state and timeline from the same read, so they always agree
    const state = fold(personDecider, recorded.map((r) => toDomainEvent(r)));
    if (state.erased) throw new DomainError('not_found', 'person not found: their personal data was erased');
    await consistent(req.query.after);
    const doc = await readStore.collection('people').findOne({ _id: req.params.personId });
    const groupIds = (doc?.groups as string[] | undefined) ?? [];
    const groupDocs = groupIds.length ? await readStore.collection('groups').find({ _id: { $in: groupIds } }, { projection: { displayName: 1 } }) : [];
    const synced = state.linked ? syncedFieldKeys(list) : new Set<string>();
    return {
      id: state.personId, listId: state.listId, status: state.status, fields: onList(list, state.fields),
      uniqueId: uniqueIdOf(list, state.fields, state.scim),
      // the sync anchor: the IdP's own identifiers, kept apart from the visible unique identifier
      linked: state.linked, syncAnchor: state.scim ? { scimId: state.personId, externalId: state.scim.externalId ?? null, userName: state.scim.userName ?? null } : null,
      lockedFields: [...synced], syncedBy: synced.size ? list.sync!.provider : null,
      groups: groupDocs.map((g) => ({ id: g._id, displayName: g.displayName })),
      createdAt: (recorded[0].metadata as { occurredAt: string }).occurredAt,
      updatedAt: (recorded[recorded.length - 1].metadata as { occurredAt: string }).occurredAt,
      timeline: recorded.map((r) => {
        const m = r.metadata as { occurredAt: string; actor: unknown; source: { changesetId?: string }; correlationId?: string };
        const d = r.data as { fieldChanges?: unknown; scimChanges?: unknown; cause?: string };
        // a changeset's writes are correlated by its id: the timeline links them to it
        const changesetId = d.cause === 'changeset' || d.cause === 'changeset-rollback' ? m.source.changesetId ?? m.correlationId ?? null : null;
        return { position: r.position, revision: r.revision, type: r.type, at: m.occurredAt, actor: m.actor, source: m.source, fieldChanges: d.fieldChanges ?? [], scimChanges: d.scimChanges ?? [], cause: d.cause ?? null, changesetId };
      }),
    };
  });

  api.get('/lists/:id/people/:personId/export', {
    schema: {
      tags: ['people'], response: { 200: R.SubjectAccess }, params: PersonParams,
      summary: 'Everything Muster holds about a person, for a subject access request (GDPR Art. 15): fields, groups, the SCIM resource, and the history of who changed what, from which identity provider, when',
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const upTo = await store.headPosition();
    const own: RecordedEvent[] = [];
    const groupEvents: RecordedEvent[] = [];
    // the person's own stream, and every group event that names them (one walk of the log)
    for await (const e of exportEvents(store, { listId: list.listId, personId: req.params.personId }, { upTo })) {
      if (e.streamId === streams.person(req.params.personId)) own.push(e);
      else if (e.streamId.startsWith(streamPrefixes.group)) groupEvents.push(e);
    }
    if (!own.length) throw new DomainError('not_found', 'person not found');
    const state = fold(personDecider, own.map((r) => toDomainEvent(r)));
    if (state.erased) throw new DomainError('not_found', 'person not found: their personal data was erased');
    const doc = await readStore.collection('people').findOne({ _id: req.params.personId });
    const groupIds = (doc?.groups as string[] | undefined) ?? [];
    const groupDocs = groupIds.length ? await readStore.collection('groups').find({ _id: { $in: groupIds } }, { projection: { displayName: 1 } }) : [];
    const meta = (r: RecordedEvent) => r.metadata as { occurredAt: string; actor: unknown; source: unknown };
    reply.header('content-disposition', `attachment; filename="person-${req.params.personId}.json"`);
    return {
      exportedAt: ctx.now().toISOString(), upToPosition: upTo,
      list: { id: list.listId, name: list.name },
      person: { id: state.personId, status: state.status, linked: state.linked, uniqueId: uniqueIdOf(list, state.fields, state.scim), fields: state.fields },
      scimResource: state.scim ?? null,
      groups: groupDocs.map((g) => ({ id: g._id, displayName: g.displayName })),
      history: own.map((r) => ({ position: r.position, type: r.type, at: meta(r).occurredAt, actor: meta(r).actor, source: meta(r).source, data: r.data })),
      groupHistory: groupEvents.map((r) => {
        const d = r.data as { groupId?: string; displayName?: string };
        return { position: r.position, type: r.type, at: meta(r).occurredAt, actor: meta(r).actor, source: meta(r).source, groupId: d.groupId ?? null, displayName: d.displayName ?? null };
      }),
    };
  });

  // erasure (GDPR Art. 17): the person's data key is deleted, so their personal data reads `[erased]`
  // everywhere in the log; PersonErased records who, when and why; the read models forget them
  const erase = async (req: { principal?: Principal }, listId: string, personId: string, reason: string, c: CommandContext) => {
    const list = await listFor(req.principal!, listId);
    const shred = async (subject: string) => { if (ctx.vault) await ctx.vault.erase([subject]); };
    const groups = (await readStore.collection('groups').find({ listId: list.listId, members: personId }, { projection: { _id: 1 } })).map((g) => String(g._id));
    const res = await provisioning.erase(list, personId, { reason, trigger: 'request', groups }, shred, c);
    return { personId, erased: true as const, alreadyErased: !res.erased, position: res.position };
  };
  api.post('/lists/:id/people/:personId/erase', {
    schema: {
      tags: ['people'], response: { 200: R.PersonErasure }, params: PersonParams, body: z.object({ reason: z.string().trim().min(1).max(500) }),
      summary: "Erase a person's personal data (owners): their data key is deleted, every event of theirs reads [erased], the read models and identifier reservations forget them; recorded as PersonErased (who, when, why)",
    },
  }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    return erase(req, req.params.id, req.params.personId, req.body.reason, cmd(req, p));
  });
  api.delete('/lists/:id/people/:personId', {
    schema: {
      tags: ['people'], response: { 200: R.PersonErasure }, params: PersonParams, querystring: z.object({ reason: z.string().trim().min(1).max(500).optional() }),
      summary: 'Delete a person from a list with no sync (owners): the same as erasing them; on a synced list the identity provider removes people',
    },
  }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    const list = await listFor(p, req.params.id);
    if (list.sync) throw new DomainError('locked', `this list is synced by ${list.sync.provider.toUpperCase()}; the identity provider removes its people (POST .../erase erases a person's data)`, { sync: list.sync.provider });
    return erase(req, req.params.id, req.params.personId, req.query.reason ?? 'deleted from the list', cmd(req, p));
  });

  api.patch('/lists/:id/people/:personId', {
    schema: { tags: ['people'], response: { 200: R.PersonPatched }, summary: "Edit a person's fields or status (409 naming the sync for fields it owns)", params: PersonParams, body: z.object({ fields: z.record(z.string(), z.unknown()).optional(), status: z.enum(['active', 'inactive']).optional() }).refine((b) => b.fields || b.status, 'give fields or status') },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = writable(await listFor(p, req.params.id));
    const existing = await load(store, streams.person(req.params.personId), personDecider);
    if (!existing.state.exists || existing.state.listId !== list.listId) throw new DomainError('not_found', 'person not found');
    const provider = list.sync ? list.sync.provider.toUpperCase() : null;
    // fields a connected sync feeds are locked on the people it provisioned; everything else is local
    const ruled = new Set(list.groupRules.map((r) => r.field));
    const locked: Record<string, string | { sync: string; by: 'group-rule' }> = existing.state.linked && provider
      ? Object.fromEntries([...syncedFieldKeys(list)].map((k) => [k, ruled.has(k) ? { sync: provider, by: 'group-rule' as const } : provider])) : {};
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
    // reactivated by hand on a synced list: the IdP's next change for this person wins
    const warning = req.body.status === 'active' && existing.state.linked && provider && existing.state.status === 'inactive'
      ? `reactivated by hand on a list synced by ${provider.toUpperCase()}: the identity provider's next change for this person wins (it may deactivate them again)` : undefined;
    return { id: state.personId, listId: state.listId, status: state.status, fields: onList(list, state.fields), position, ...(warning ? { warning } : {}) };
  });
};
