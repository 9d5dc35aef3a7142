/** POST /.search (RFC 7644 §3.4.3): one filter over Users and Groups, paged together. */
import type { FastifyInstance } from 'fastify';
import { GROUP_RESOURCE_SCHEMA, InvalidFilterError, USER_RESOURCE_SCHEMA, buildListResponse, projectAttributes } from '@muster/scim';
import { listQueryOf, projectionOf } from '../http.ts';
import { searchBody } from './users.ts';

export async function searchRoutes(app: FastifyInstance) {
  const ctx = app.scim;
  app.post('/.search', async (req) => {
    const body = searchBody(req);
    const proj = projectionOf(body);
    const q = listQueryOf(body);
    await ctx.waitForOwnWrites(req.scimList!.listId);
    const skipBadFilter = (err: unknown) => { if (err instanceof InvalidFilterError) return null; throw err; };
    const [u, g] = await Promise.all([
      ctx.users.query(req.scimList!.listId, { ...q, startIndex: 1, count: ctx.maxResults }).catch(skipBadFilter),
      ctx.groups.query(req.scimList!.listId, { ...q, startIndex: 1, count: ctx.maxResults }).catch(skipBadFilter),
    ]);
    if (!u && !g) ctx.users.parseFilter(q.filter); // rethrows the filter error
    const all = [
      ...(u?.resources ?? []).map((r) => projectAttributes(r, proj, USER_RESOURCE_SCHEMA)),
      ...(g?.resources ?? []).map((r) => projectAttributes(r, proj, GROUP_RESOURCE_SCHEMA)),
    ];
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(Math.max(0, q.count ?? ctx.maxResults), ctx.maxResults);
    return buildListResponse(count === 0 ? [] : all.slice(startIndex - 1, startIndex - 1 + count), all.length, startIndex);
  });
}
