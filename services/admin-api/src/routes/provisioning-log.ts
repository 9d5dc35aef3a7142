/** The provisioning log: what the identity provider did on a list, newest first. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '@muster/http';
import { type Filter } from '@muster/read-store';
import { After, helpers, ListParams } from '../context.ts';
import * as R from '../responses.ts';

/** the operations log entries carry (SYNC: an Entra run's failure for one user) */
const LOG_OPERATIONS = ['CREATE', 'UPDATE', 'DEACTIVATE', 'REACTIVATE', 'DELETE', 'GROUP_CREATE', 'GROUP_UPDATE', 'GROUP_DELETE', 'READ', 'BULK', 'SYNC'];

export const provisioningLogRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { readStore } = ctx;
  const { consistent, listFor } = helpers(ctx);

  // Every authenticated SCIM write is logged (SUCCESS from its domain event, SKIPPED/FAILED from
  // ScimRequestLogged); reads are logged only when they fail. The writes of applied and rolled back
  // changesets are logged too (source 'changeset'), and Entra runs' changes and failures (source 'entra', by run). Newest first, cursor = last position seen.
  const LogQuery = z.object({
    operation: z.string().regex(/^[A-Za-z_]+(,[A-Za-z_]+)*$/).max(200).optional().describe('one operation or a comma-separated list (CREATE, UPDATE, DEACTIVATE, REACTIVATE, DELETE, GROUP_CREATE, GROUP_UPDATE, GROUP_DELETE, READ)'),
    status: z.enum(['SUCCESS', 'SKIPPED', 'FAILED']).optional(),
    source: z.enum(['scim', 'entra', 'changeset', 'csv']).optional().describe('the identity provider over SCIM, Entra directory sync runs, applied and rolled back changesets of sessions, or of CSV imports'),
    runId: z.string().max(100).optional().describe("one Entra run's writes"),
    changesetId: z.string().max(100).optional().describe("one changeset's writes"),
    importId: z.string().max(100).optional().describe("one CSV import's writes"),
    personId: z.string().max(100).optional().describe('the person (or group) the entry is about'),
    person: z.string().max(100).optional().describe('alias of personId'),
    from: z.string().datetime({ offset: true }).optional().describe('inclusive lower bound on the entry time'),
    to: z.string().datetime({ offset: true }).optional().describe('inclusive upper bound on the entry time'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.coerce.number().int().min(0).optional().describe('nextCursor of the previous page'),
    after: After,
  });
  api.get('/lists/:id/provisioning-log', {
    schema: { tags: ['provisioning-log'], response: { 200: R.Page(R.LogEntry) }, summary: 'What the identity provider (and applied changesets) did on this list, newest first', params: ListParams, querystring: LogQuery },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const q = req.query;
    const filter: Filter = { listId: list.listId };
    if (q.operation) {
      const ops = q.operation.toUpperCase().split(',');
      const unknown = ops.filter((o) => !LOG_OPERATIONS.includes(o));
      if (unknown.length) throw new HttpError(400, 'invalid', `unknown operation ${unknown.map((o) => `"${o}"`).join(', ')}; the log's operations are ${LOG_OPERATIONS.join(', ')}`);
      filter.operation = ops.length === 1 ? ops[0] : { $in: ops };
    }
    if (q.status) filter.status = q.status;
    // entries written before the source was recorded are the IdP's
    if (q.source === 'scim') filter.source = { $nin: ['changeset', 'csv', 'entra'] };
    else if (q.source) filter.source = q.source;
    if (q.changesetId) filter.changesetId = q.changesetId;
    if (q.importId) filter.importId = q.importId;
    if (q.runId) filter.runId = q.runId;
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
};
