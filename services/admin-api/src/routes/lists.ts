/** Master lists. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streams } from '@muster/contracts';
import { DomainError, handleCommand, listDecider, load, organisationDecider } from '@muster/domain';
import { HttpError } from '@muster/http';
import { type Filter } from '@muster/read-store';
import { After, helpers, ListParams } from '../context.ts';
import { DEFAULT_ORG, requireRole, requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const listRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, listView, disconnectSync } = helpers(ctx);

  const ListBody = z.object({ name: z.string().trim().min(1).max(200), description: z.string().max(2000).optional(), orgId: z.string().optional() });
  api.post('/lists', { schema: { tags: ['lists'], response: { 201: R.ListView }, summary: 'Create a master list', body: ListBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const orgId = p.orgId ?? req.body.orgId ?? DEFAULT_ORG;
    if (p.orgId !== null && req.body.orgId && req.body.orgId !== p.orgId) throw new HttpError(403, 'forbidden', 'an organisation token can only create lists in its own organisation');
    if (orgId !== DEFAULT_ORG && !(await load(store, streams.organisation(orgId), organisationDecider)).state.exists) throw new DomainError('not_found', `organisation ${orgId} not found`);
    const listId = ctx.newId();
    const res = await handleCommand(store, streams.list(listId), listDecider, { type: 'CreateList', listId, orgId, name: req.body.name, description: req.body.description }, cmd(req, p));
    return reply.status(201).send({ ...listView(null, res.state, listId), position: res.position });
  });
  api.get('/lists', { schema: { tags: ['lists'], response: { 200: R.Page(R.ListView) }, summary: "Master lists of this token's organisation", querystring: z.object({ after: After }) } }, async (req) => {
    const p = req.principal!;
    await consistent(req.query.after);
    const filter: Filter = p.orgId === null ? {} : { orgId: p.orgId };
    const docs = await readStore.collection('lists').find(filter, { sort: { createdAt: 1, _id: 1 } });
    return { items: docs.map((d) => listView(d)), total: docs.length };
  });
  api.get('/lists/:id', { schema: { tags: ['lists'], response: { 200: R.ListView }, summary: 'A master list', params: ListParams, querystring: z.object({ after: After }) } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const doc = await readStore.collection('lists').findOne({ _id: req.params.id });
    return listView(doc, list, req.params.id);
  });
  api.patch('/lists/:id', { schema: { tags: ['lists'], response: { 200: R.ListView }, summary: 'Rename or describe a master list', params: ListParams, body: z.object({ name: z.string().trim().min(1).max(200).optional(), description: z.string().max(2000).optional() }) } }, async (req) => {
    const p = requireWrite(req.principal);
    await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'UpdateList', ...req.body }, cmd(req, p));
    return { ...listView(null, res.state, req.params.id), position: res.position };
  });
  api.put('/lists/:id/retention', {
    schema: {
      tags: ['lists'], response: { 200: R.ListView }, params: ListParams,
      body: z.object({ inactiveDays: z.number().int().min(1).max(36_500).nullable().describe('people inactive for longer than this are erased by the retention job; null: kept (the default)') }),
      summary: 'The list\'s retention policy (owners): people deactivated for longer than inactiveDays are erased automatically, each erasure recorded with the policy as its reason',
    },
  }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(req.params.id), listDecider, { type: 'SetRetention', inactiveDays: req.body.inactiveDays }, cmd(req, p));
    return { ...listView(null, res.state, req.params.id), retentionDays: res.state.retentionDays ?? null, position: res.position };
  });

  api.delete('/lists/:id', {
    schema: {
      tags: ['lists'], response: { 200: R.ListDeleted, 202: R.ListDeleted }, params: ListParams,
      querystring: z.object({
        disconnect: z.enum(['true', 'false']).optional().describe('disconnect the list\'s sync first (else a synced list is refused)'),
        now: z.enum(['true', 'false']).optional().describe('erase its people now instead of after the grace period'),
        graceDays: z.coerce.number().int().min(0).max(365).optional().describe('days before its people are erased (default 30)'),
      }),
      summary: 'Delete a list (owners): archived at once (read-only), its people erased after a grace period (default 30 days; ?now=true: now, answered 202 while it runs)',
    },
  }, async (req, reply) => {
    const p = requireRole(req.principal, ['owner']);
    const list = await listFor(p, req.params.id);
    const c = cmd(req, p);
    if (list.sync && req.query.disconnect === 'true') await disconnectSync(list, c);
    const now = req.query.now === 'true';
    const eraseAfter = new Date(ctx.now().getTime() + (now ? 0 : (req.query.graceDays ?? 30) * 86_400_000)).toISOString();
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ArchiveList', eraseAfter }, c);
    const archived = res.state.archived!;
    if (now && !archived.erased) {
      void ctx.retention.run(list.listId).catch((err: Error) => req.log.error({ err }, 'erasing a deleted list failed'));
      return reply.status(202).send({ id: list.listId, status: 'archived', eraseAfter: archived.eraseAfter, erasing: true, position: res.position });
    }
    return { id: list.listId, status: archived.erased ? 'erased' : 'archived', eraseAfter: archived.eraseAfter, erasing: false, position: res.position };
  });
};
