/**
 * /Users: reads by id and by filter (the `userName eq` lookup IdPs make before every write is
 * answered from the kept answers, and offered to the shared server's fast path), .search, writes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { streams } from '@muster/contracts';
import { USER_RESOURCE_SCHEMA, buildListResponse, etagOf, ifNoneMatchHits, isPlainObject, ScimError } from '@muster/scim';
import { scimConnected, type ScimIngressOptions } from '../context.ts';
import { createFastPath } from '../fast-path.ts';
import { SCIM_CONTENT_TYPE, idParam, listQueryOf, project, projectionOf, queryOf, sendResource, str } from '../http.ts';
import type { ListQuery } from '../people.ts';
import { registerWrites } from './writes.ts';

/** a SearchRequest body (RFC 7644 §3.4.3), which must be an object */
export function searchBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body ?? {};
  if (!isPlainObject(b)) throw ScimError.badRequest('invalidSyntax', 'a SearchRequest body must be a JSON object');
  return b;
}

export async function userRoutes(app: FastifyInstance, opts: Pick<ScimIngressOptions, 'registerFastPath'>) {
  const ctx = app.scim;
  const users = ctx.users;

  app.get('/Users/:id', async (req, reply) => {
    const proj = projectionOf(queryOf(req));
    if (proj.attributes === undefined && proj.excludedAttributes === undefined) {
      // a kept answer is checked against the event store (stream revision, group stamp): no wait needed
      const kept = await users.keptById(req.scimList!.listId, idParam(req));
      if (kept) {
        if (ifNoneMatchHits(str(req.headers['if-none-match']), kept.revision)) return reply.status(304).header('ETag', etagOf(kept.revision)).send();
        return reply.status(200).header('ETag', etagOf(kept.revision)).send(kept.json);
      }
    }
    await ctx.waitForOwnWrites(req.scimList!.listId);
    const { resource, revision } = await users.get(req.scimList!.listId, idParam(req));
    if (ifNoneMatchHits(str(req.headers['if-none-match']), revision)) return reply.status(304).header('ETag', etagOf(revision)).send();
    return sendResource(reply, proj, resource, 200, USER_RESOURCE_SCHEMA);
  });

  /**
   * `userName eq` with nothing else asked: a kept answer, checked against the event store (so it
   * needs no wait for the projection); null when the read model has to answer. Synchronous on the
   * embedded store, so the GET route below answers a hit without a promise.
   */
  const keptAnswer = (listId: string, src: Record<string, unknown>, q?: ListQuery): string | null | Promise<string | null> => {
    if (src.attributes !== undefined || src.excludedAttributes !== undefined) return null;
    return users.answerFromCache(listId, q ?? listQueryOf(src));
  };
  if (opts.registerFastPath) {
    opts.registerFastPath(createFastPath({
      contentType: SCIM_CONTENT_TYPE, limiter: ctx.limiter, etagOf, blocked: (address) => ctx.authFailures.retryAfter(address) > 0,
      authenticateNow: (listId, token) => ctx.auth.authenticateNow(listId, token),
      // connected, and the organisation's plan known (this process's cache) to allow SCIM
      scimConnected: (listId) => { const list = ctx.lists.get(streams.list(listId)); return scimConnected(list) && ctx.planRefusalNow(list) === null; },
      usersQuery: (listId, src) => {
        try { return keptAnswer(listId, src); } catch { return null; } // a query the route refuses (400)
      },
      userById: (listId, id) => users.keptById(listId, id),
    }));
  }
  const listUsers = async (req: FastifyRequest, src: Record<string, unknown>, askKept = true) => {
    const proj = projectionOf(src);
    const q = listQueryOf(src);
    const kept = askKept ? await keptAnswer(req.scimList!.listId, src, q) : null;
    if (kept !== null) return kept;
    await ctx.waitForOwnWrites(req.scimList!.listId);
    const res = await users.query(req.scimList!.listId, q);
    return buildListResponse(res.resources.map((r) => project(r, proj, USER_RESOURCE_SCHEMA)), res.total, res.startIndex);
  };
  app.get('/Users', (req, reply) => {
    const src = queryOf(req);
    const kept = keptAnswer(req.scimList!.listId, src);
    if (typeof kept === 'string') return reply.send(kept);
    return kept === null ? listUsers(req, src, false) : kept.then((k) => k ?? listUsers(req, src, false));
  });
  app.post('/Users/.search', async (req) => listUsers(req, searchBody(req)));

  registerWrites(app, 'Users');
}
