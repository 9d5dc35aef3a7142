/**
 * What every route under /scim/v2/lists/:listId shares, registered once in that scope (and
 * applying to the route plugins beside it): the SCIM JSON body parser, the one error handler (SCIM
 * error bodies; failed calls logged), the 404 for unknown endpoints, and the request hook that
 * authenticates the bearer token for the list, applies the token's rate limit and resolves the list.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from '@muster/http';
import { ScimError } from '@muster/scim';
import type { ListState } from '@muster/domain';
import type { Call, ScimContext } from '../context.ts';
import { SCIM_CONTENT_TYPE, describeError, scimError } from '../http.ts';
import type { TokenPrincipal } from '../token-auth.ts';

declare module 'fastify' {
  interface FastifyInstance { scim: ScimContext }
  interface FastifyRequest { scimToken?: TokenPrincipal; scimList?: ListState; scimCall?: Call }
}

function parseJson(_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) {
  const text = String(body);
  if (text.trim() === '') return done(null, undefined);
  try { done(null, JSON.parse(text)); } catch (err) {
    done(new ScimError({ status: 400, scimType: 'invalidSyntax', detail: `request body is not valid JSON: ${(err as Error).message}` }), undefined);
  }
}

async function scope(app: FastifyInstance) {
  const ctx = app.scim;
  app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string', bodyLimit: ctx.bodyLimit }, parseJson);
  // JSON sent as text/plain is 415 naming the accepted types (describeError), not read as a string
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler(async (err: Error, req, reply) => {
    const d = describeError(err);
    if (d.unexpected) req.log.error({ err }, 'unhandled SCIM error');
    if (req.scimCall) await ctx.logOutcome(req.scimCall, 'FAILED', { status: String(d.status), ...(d.scimType ? { scimType: d.scimType } : {}), detail: d.detail });
    if (d.status === 503) reply.header('Retry-After', '5');
    return scimError(reply, d.status, d.detail, d.scimType);
  });
  app.setNotFoundHandler((req, reply) => scimError(reply, 404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));

  app.addHook('onRequest', async (req, reply) => {
    const listId = (req.params as { listId?: string }).listId ?? /\/lists\/([^/?]+)/.exec(req.url)?.[1];
    const blocked = ctx.authFailures.retryAfter(req.ip);
    if (blocked > 0) {
      reply.header('Retry-After', String(blocked));
      return scimError(reply, 429, `too many failed authentications from this address; retry after ${blocked} s`);
    }
    const token = bearerToken(req.headers.authorization);
    const principal = token !== null && listId ? await ctx.auth.authenticate(listId, token) : null;
    if (!principal) {
      ctx.authFailures.failed(req.ip);
      reply.header('WWW-Authenticate', 'Bearer realm="muster-scim"');
      return scimError(reply, 401, token !== null ? 'invalid, revoked or expired token for this list' : 'missing bearer token');
    }
    const wait = ctx.limiter.take(principal.tokenId);
    if (wait > 0) {
      reply.header('Retry-After', String(Math.ceil(wait)));
      return scimError(reply, 429, `rate limit exceeded for this token; retry after ${Math.ceil(wait)} s`);
    }
    const list = await ctx.connectedList(listId!);
    if (!list) return scimError(reply, 401, 'SCIM is not connected on this list');
    const refused = await ctx.planRefusal(list);
    if (refused) return scimError(reply, 403, refused);
    req.scimToken = principal;
    req.scimList = list;
    req.scimCall = {
      list, tokenId: principal.tokenId, userAgent: req.headers['user-agent'], requestId: String(req.id), method: req.method,
      path: req.url.split('?')[0], traceparent: req.traceparent,
    };
    reply.header('content-type', SCIM_CONTENT_TYPE);
  });
}

/** skip-override: the parser, handlers and hook apply to the whole /scim/v2/lists/:listId scope */
export const scimScope = fp(scope, { name: 'muster-scim-scope' });
