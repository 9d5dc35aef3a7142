/** Field mappings and group rules, owned by the mapping service (reached over the bus). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FieldMapping, GroupRule } from '@muster/contracts';
import { After, helpers, ListParams } from '../context.ts';
import { requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const mappingRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { cmd, consistent, listFor } = helpers(ctx);

  api.get('/mappings/catalogue', {
    schema: { tags: ['mappings'], response: { 200: R.CatalogueView }, summary: 'The mappable IdP attributes, flat and grouped (Name, Contact, Organisation, Account, Address, Custom)' },
  }, async () => ctx.mapping.catalogue());
  api.get('/lists/:id/mappings', {
    schema: { tags: ['mappings'], response: { 200: R.MappingsView }, summary: 'A list\'s field mappings, group rules and the custom extension attributes its people carry', params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    return ctx.mapping.get(list.listId);
  });
  api.put('/lists/:id/mappings', {
    schema: { tags: ['mappings'], response: { 200: R.MappingsView, 202: R.MappingsView }, summary: "Replace a list's mappings and group rules, then re-apply them to everyone on the list (202 when that run goes on after the answer)", params: ListParams, body: z.object({ mappings: z.array(FieldMapping), groupRules: z.array(GroupRule).default([]) }) },
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
};
