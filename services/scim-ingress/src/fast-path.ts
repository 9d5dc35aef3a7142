import type { ServerResponse } from 'node:http';
import { parse as parseQuery } from 'fast-querystring';
import type { FastPath } from '@muster/runtime';
import type { RateLimiter } from './rate-limit.ts';
import { bearerToken } from '@muster/http';
import type { TokenPrincipal } from './token-auth.ts';

export interface FastPathDeps {
  contentType: string;
  authenticateNow(listId: string, token: string): TokenPrincipal | null | undefined;
  /** whether the list has SCIM connected, from the routes' synchronous list cache (false also when not cached) */
  scimConnected(listId: string): boolean;
  limiter: RateLimiter;
  /** the client address is over its limit of failed authentications (the routes answer 429) */
  blocked(address: string): boolean;
  /** `GET /Users?…` from kept answers: the ListResponse JSON, or null (also for a query the routes would refuse) */
  usersQuery(listId: string, query: Record<string, unknown>): string | null | Promise<string | null>;
  /** `GET /Users/{id}` from kept answers */
  userById(listId: string, id: string): { json: string; revision: number } | null | Promise<{ json: string; revision: number } | null>;
  etagOf(revision: number): string;
}

const PREFIX = '/scim/v2/lists/';
const ID = /^[A-Za-z0-9_-]{1,200}$/;
const QUERY_KEYS = new Set(['filter', 'startIndex', 'count']);

/**
 * The two reads an IdP makes most, `GET /Users?filter=userName eq "…"` (before every write) and
 * `GET /Users/{id}`, answered from the kept answers (user-name-answers.ts) before Fastify routes
 * the request: no request object, hooks, reply or router walk. Only the plain, valid case is
 * taken here, and only when every step can be decided synchronously: the URL is exactly the
 * route's (list id and user id of plain characters, only filter/startIndex/count as query
 * parameters, no body), the bearer token is valid for that list (same check as the routes), the
 * list has SCIM connected, the answer is kept and current, and the token's rate limit allows it.
 * Anything else (a miss, a bad token, a 429, attributes=…, a percent-encoded id, If-None-Match on
 * a list read) goes to Fastify untouched, which answers as it always does; nothing here writes.
 * The bytes sent are the ones the Fastify routes send for the same request (fast-path tests
 * compare both).
 */
export function createFastPath(d: FastPathDeps): FastPath {
  const send = (res: ServerResponse, status: number, body: string, etag?: string) => {
    const headers: Record<string, string | number> = { 'content-type': d.contentType, 'content-length': Buffer.byteLength(body) };
    if (etag) headers.etag = etag;
    res.writeHead(status, headers);
    res.end(body);
  };
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) return false;
    const slash = url.indexOf('/', PREFIX.length);
    if (slash < 0) return false;
    const listId = url.slice(PREFIX.length, slash);
    if (!ID.test(listId)) return false;
    const qmark = url.indexOf('?', slash);
    const path = qmark < 0 ? url.slice(slash) : url.slice(slash, qmark);
    let byId: string | null = null;
    if (path.startsWith('/Users/')) {
      byId = path.slice(7);
      if (!ID.test(byId) || qmark >= 0) return false;
    } else if (path !== '/Users' || qmark < 0) return false;

    const token = bearerToken(req.headers.authorization);
    if (token === null || d.blocked(req.socket.remoteAddress ?? '')) return false;
    const principal = d.authenticateNow(listId, token);
    if (!principal || !d.scimConnected(listId)) return false;

    if (byId !== null) {
      const kept = d.userById(listId, byId);
      if (kept === null) return false;
      if (kept instanceof Promise) { kept.catch(() => {}); return false; }
      if (req.headers['if-none-match'] !== undefined) return false; // 304 handling stays with the route
      if (d.limiter.take(principal.tokenId) > 0) return false; // the route answers 429 (a refused take costs nothing)
      send(res, 200, kept.json, d.etagOf(kept.revision));
      return true;
    }
    const query = parseQuery(url.slice(qmark + 1)) as Record<string, unknown>;
    for (const k in query) if (!QUERY_KEYS.has(k) || typeof query[k] !== 'string') return false;
    const body = d.usersQuery(listId, query);
    if (body instanceof Promise) { body.catch(() => {}); return false; }
    if (body === null) return false;
    if (d.limiter.take(principal.tokenId) > 0) return false;
    send(res, 200, body);
    return true;
  };
}
