/** Groups the identity provider pushed to a list (usable in group rules). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { After, helpers, ListParams } from '../context.ts';
import * as R from '../responses.ts';

export const groupRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { readStore } = ctx;
  const { consistent, listFor } = helpers(ctx);

  api.get('/lists/:id/groups', {
    schema: { tags: ['groups'], response: { 200: R.Items(R.GroupView) }, summary: 'Groups the identity provider pushed to this list (usable in group rules)', params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readStore.collection('groups').find({ listId: list.listId }, { sort: { displayNameLower: 1, _id: 1 } });
    return {
      items: docs.map((d) => ({ id: d._id, displayName: d.displayName, externalId: d.externalId ?? null, members: (d.members as string[] | undefined) ?? [], memberCount: ((d.members as string[] | undefined) ?? []).length, createdAt: d.createdAt, updatedAt: d.updatedAt })),
      total: docs.length,
    };
  });
};
