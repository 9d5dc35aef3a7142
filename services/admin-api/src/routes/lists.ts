/** Master lists. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streams } from '@muster/contracts';
import { DomainError, handleCommand, listDecider, load, organisationDecider } from '@muster/domain';
import { HttpError } from '@muster/http';
import { type Filter } from '@muster/read-store';
import { After, helpers, ListParams } from '../context.ts';
import { DEFAULT_ORG, requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const listRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, listView } = helpers(ctx);

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
};
