/** /Groups: reads by id and by filter, .search, writes (PATCH answers 204 unless attributes are asked for). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GROUP_RESOURCE_SCHEMA, buildListResponse, etagOf, ifNoneMatchHits, projectAttributes } from '@muster/scim';
import { idParam, listQueryOf, projectionOf, queryOf, sendResource, str } from '../http.ts';
import { searchBody } from './users.ts';
import { registerWrites } from './writes.ts';

export async function groupRoutes(app: FastifyInstance) {
  const ctx = app.scim;
  const groups = ctx.groups;

  app.get('/Groups/:id', async (req, reply) => {
    const proj = projectionOf(queryOf(req));
    const { resource, revision } = await groups.get(req.scimList!.listId, idParam(req));
    if (ifNoneMatchHits(str(req.headers['if-none-match']), revision)) return reply.status(304).header('ETag', etagOf(revision)).send();
    return sendResource(reply, proj, resource, 200, GROUP_RESOURCE_SCHEMA);
  });

  const listGroups = async (req: FastifyRequest, src: Record<string, unknown>) => {
    const proj = projectionOf(src);
    const q = listQueryOf(src);
    await ctx.waitForOwnWrites(req.scimList!.listId);
    const excluded = [proj.excludedAttributes ?? []].flat().join(',').toLowerCase();
    const attrs = [proj.attributes ?? []].flat().join(',').toLowerCase();
    const needMembers = !(/\bmembers\b/.test(excluded) || (attrs && !/\bmembers\b/.test(attrs))) || /members/i.test(q.filter ?? '') || /members/i.test(q.sortBy ?? '');
    const res = await groups.query(req.scimList!.listId, q, { members: needMembers });
    return buildListResponse(res.resources.map((r) => projectAttributes(r, proj, GROUP_RESOURCE_SCHEMA)), res.total, res.startIndex);
  };
  app.get('/Groups', async (req) => listGroups(req, queryOf(req)));
  app.post('/Groups/.search', async (req) => listGroups(req, searchBody(req)));

  registerWrites(app, 'Groups');
}
