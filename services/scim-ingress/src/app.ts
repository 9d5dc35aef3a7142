import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Bus } from '@muster/bus';
import { streamPrefixes, streams, toNewEvents, type CommandContext } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { DomainError, StreamStateCache, listDecider, type ListState } from '@muster/domain';
import { MappingClient } from '@muster/mapping-contract';
import { ReadStoreUnavailableError, type ReadStore } from '@muster/read-store';
import { bearerToken, clientErrors, frameworkErrors } from '@muster/http';
import {
  CustomExtensionCollector, ERROR_SCHEMA, GROUP_RESOURCE_SCHEMA, InvalidFilterError, ScimError, USER_RESOURCE_SCHEMA, buildListResponse,
  buildResourceTypes, buildSchemas, buildServiceProviderConfig, projectAttributes, type ResourceSchema, type ScimResource,
} from '@muster/scim';
import type { FastPath } from '@muster/runtime';
import { createFastPath } from './fast-path.ts';
import { GroupService } from './groups.ts';
import { recogniseIdp } from './idp.ts';
import { UserService, etagOf, type ListQuery, type WriteOutcome } from './people.ts';
import { RateLimiter } from './rate-limit.ts';
import { ScimTokenAuth, type TokenPrincipal } from './token-auth.ts';
import { UserNameAnswers } from './user-name-answers.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

export interface ScimIngressOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  publicUrl: string;
  now?: () => Date;
  logger?: boolean | object;
  /** advertised (filter.maxResults) and enforced: count is capped to it */
  maxResults?: number;
  maxFilterLength?: number;
  maxFilterDepth?: number;
  /** request body limit outside /Bulk (413 beyond) */
  bodyLimit?: number;
  /** advertised and enforced (413 beyond) */
  bulkMaxOperations?: number;
  bulkMaxPayloadSize?: number;
  /** per-token rate limit: requests per second and bucket size */
  rateLimit?: number;
  rateBurst?: number;
  /** how long a filtered read waits for the projection to reach this ingress's last write */
  consistencyTimeoutMs?: number;
  /** how many serialized `userName eq` answers this ingress keeps (user-name-answers.ts; default 200,000) */
  answerCacheSize?: number;
  /** given: the ingress hands it a fast path for its two hottest reads (fast-path.ts) to run before Fastify routes a request */
  registerFastPath?: (fastPath: FastPath) => void;
}

/** What one SCIM call (a request, or one operation of a Bulk request) is about: stamped on events and log entries. */
interface Call {
  list: ListState;
  tokenId: string;
  userAgent: string | undefined;
  requestId: string;
  method: string;
  path: string;
  traceparent: string | undefined;
  operation?: string;
  resourceType?: 'User' | 'Group' | 'Bulk' | 'Other';
  resourceId?: string;
  logged?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest { scimToken?: TokenPrincipal; scimList?: ListState; scimCall?: Call }
}

type ErrorBody = { schemas: [string]; status: string; scimType?: string; detail: string };

const DOMAIN_STATUS = { not_found: 404, conflict: 409, invalid: 400, forbidden: 403, locked: 409, gone: 410 } as const;

/** Any error → SCIM status, scimType and detail (never a stack; unknown errors are 500). */
function describeError(err: unknown): { status: number; detail: string; scimType?: string; unexpected?: boolean } {
  if (err instanceof ScimError) return { status: err.status, detail: err.detail, scimType: err.scimType };
  if (err instanceof DomainError && Object.hasOwn(DOMAIN_STATUS, err.code)) return { status: DOMAIN_STATUS[err.code], detail: err.message, scimType: err.code === 'conflict' ? 'uniqueness' : err.code === 'invalid' ? 'invalidValue' : undefined };
  const e = err as Error & { statusCode?: number; code?: string };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, detail: 'request body is larger than this endpoint accepts (see maxPayloadSize in /ServiceProviderConfig)' };
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, detail: 'use Content-Type application/scim+json or application/json' };
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return { status: 400, scimType: 'invalidSyntax', detail: 'request body is empty' };
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, detail: e.message, scimType: e.statusCode === 400 ? 'invalidSyntax' : undefined };
  if (err instanceof ReadStoreUnavailableError) return { status: 503, detail: `reads are unavailable for now (${err.message}); try again shortly`, unexpected: true };
  return { status: 500, detail: 'internal error', unexpected: true };
}

/** projectAttributes, skipped when nothing was asked for: our resources never hold returned=never/request attributes */
const project = (r: ScimResource, proj: { attributes?: string | string[]; excludedAttributes?: string | string[] }, schema: ResourceSchema) =>
  proj.attributes === undefined && proj.excludedAttributes === undefined ? r : projectAttributes(r, proj, schema);

const errorBody = (status: number, detail: string, scimType?: string): ErrorBody => ({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });

function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string) {
  return reply.status(status).type(SCIM_CONTENT_TYPE).send(errorBody(status, detail, scimType));
}

const OPERATION: Record<string, string> = { POST: 'CREATE', PUT: 'UPDATE', PATCH: 'UPDATE', DELETE: 'DELETE' };
const GROUP_OPERATION: Record<string, string> = { POST: 'GROUP_CREATE', PUT: 'GROUP_UPDATE', PATCH: 'GROUP_UPDATE', DELETE: 'GROUP_DELETE' };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) ? str(v[0]) : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// module-level helpers rather than closures made per call: they run on every list request
function queryNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw ScimError.badRequest('invalidValue', `${name} must be an integer`);
  return n;
}

function queryText(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw ScimError.badRequest(name === 'filter' ? 'invalidFilter' : 'invalidValue', `${name} must be a single string`);
  return v;
}

/** Query parameters or a SearchRequest body → list query (wrong types → 400). */
function listQueryOf(q: Record<string, unknown>): ListQuery {
  const sortOrder = queryText(q.sortOrder, 'sortOrder');
  if (sortOrder !== undefined && !/^(a|de)scending$/i.test(sortOrder)) throw ScimError.badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
  return { filter: queryText(q.filter, 'filter'), startIndex: queryNumber(q.startIndex, 'startIndex'), count: queryNumber(q.count, 'count'), sortBy: queryText(q.sortBy, 'sortBy'), sortOrder };
}

function attributeList(v: unknown, name: string): string | string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw ScimError.badRequest('invalidValue', `${name} must be a comma-separated string or an array of strings`);
}

function projectionOf(src: Record<string, unknown>): { attributes?: string | string[]; excludedAttributes?: string | string[] } {
  return { attributes: attributeList(src.attributes, 'attributes'), excludedAttributes: attributeList(src.excludedAttributes, 'excludedAttributes') };
}

const scimConnected = (list: ListState | undefined): list is ListState => list?.exists === true && list.sync?.provider === 'scim';

function ifNoneMatchHits(header: string | undefined, revision: number): boolean {
  if (!header) return false;
  return header === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${revision}"`);
}

/** The SCIM ingress as a plugin, mounted at /scim/v2/lists/:listId. */
export const scimIngressPlugin: FastifyPluginAsync<ScimIngressOptions> = async (app, opts) => {
  const now = opts.now ?? (() => new Date());
  const maxResults = opts.maxResults ?? 1_000;
  const bodyLimit = opts.bodyLimit ?? 1_048_576;
  const bulkMaxOperations = opts.bulkMaxOperations ?? 1_000;
  const bulkMaxPayloadSize = opts.bulkMaxPayloadSize ?? 4 * 1_048_576;
  const consistencyTimeoutMs = opts.consistencyTimeoutMs ?? 5_000;
  const auth = new ScimTokenAuth(opts.store, opts.readStore, now);
  const limiter = new RateLimiter(opts.rateLimit ?? 1_000, opts.rateBurst ?? 2 * (opts.rateLimit ?? 1_000));
  const lists = new StreamStateCache<ListState>(opts.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
  lists.start();
  await Promise.all([auth.start(), lists.catchUp(30_000)]);
  app.addHook('onClose', async () => { await auth.stop(); await lists.stop(); });

  const publicUrl = opts.publicUrl.replace(/\/$/, '');
  const baseUrl = (listId: string) => `${publicUrl}/scim/v2/lists/${listId}`;

  /**
   * Read-your-writes for filtered reads: the last position this ingress wrote per list, and the
   * projection checkpoint last seen. A read waits only while its list's last write is ahead of it.
   */
  const lastWrite = new Map<string, number>();
  let projected = -1;
  const waitForProjection = async (position: number) => {
    if (position <= projected) return;
    const deadline = Date.now() + consistencyTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 10)) {
      const cp = await opts.readStore.getCheckpoint('main');
      if (cp !== null && cp > projected) { projected = cp; answers.noteProjected(cp); }
      if (projected >= position || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  };
  const waitForOwnWrites = async (listId: string) => {
    const pos = lastWrite.get(listId);
    if (pos !== undefined && pos > projected) await waitForProjection(pos);
  };

  const answers = new UserNameAnswers(opts.store, () => opts.readStore.getCheckpoint('main'),
    (r) => JSON.stringify(project(r, {}, USER_RESOURCE_SCHEMA)), opts.answerCacheSize ?? 200_000);
  await answers.start();
  app.addHook('onClose', async () => { await answers.stop(); });

  const deps = {
    store: opts.store, readStore: opts.readStore, mapping: new MappingClient(opts.bus), now, newId: randomUUID, baseUrl,
    userSchema: USER_RESOURCE_SCHEMA, maxFilterLength: opts.maxFilterLength ?? 4_096, maxFilterDepth: opts.maxFilterDepth ?? 16, maxResults,
    waitForProjection, answers,
  };
  const users = new UserService(deps);
  const groups = new GroupService(deps);

  /** Custom extensions the list's people carry, described for /Schemas and /ResourceTypes. */
  async function customExtensions(listId: string) {
    await waitForOwnWrites(listId);
    const docs = await opts.readStore.collection('people').find({ listId, linked: true }, { projection: { scimResource: 1 } });
    const c = new CustomExtensionCollector(USER_RESOURCE_SCHEMA);
    for (const d of docs) if (isObject(d.scimResource)) c.add(d.scimResource);
    return c.extensions();
  }

  const ctxOf = (c: Call): CommandContext => ({
    actor: { kind: 'scim-token', id: c.tokenId },
    source: {
      kind: 'scim', idp: recogniseIdp(c.userAgent), userAgent: c.userAgent?.slice(0, 200), requestId: c.requestId,
      method: c.method, path: c.path, ...(c.operation ? { operation: c.operation } : {}),
    },
    correlationId: c.requestId, now: now(), newId: randomUUID, ...(c.traceparent ? { traceparent: c.traceparent } : {}),
  });

  /** FAILED and SKIPPED calls are logged through their own event, so the provisioning log comes from the event log. */
  async function logOutcome(c: Call, status: 'FAILED' | 'SKIPPED', error?: { status: string; scimType?: string; detail: string }) {
    if (c.logged) return;
    c.logged = true;
    const op = c.operation ?? OPERATION[c.method] ?? 'READ';
    const listId = c.list.listId;
    await opts.store.appendToStream(streams.scimLog(listId), toNewEvents([{ type: 'ScimRequestLogged', data: {
      listId, operation: op, status, resourceType: c.resourceType ?? 'Other', ...(c.resourceId ? { resourceId: c.resourceId.slice(0, 200) } : {}),
      ...(error ? { error: { ...error, detail: error.detail.slice(0, 1_000) } } : {}),
    } }], { ...ctxOf(c), source: { ...ctxOf(c).source, operation: op } }), { expectedRevision: 'any' }).catch(() => { /* logging never fails a request */ });
  }

  const afterWrite = async (c: Call, out: WriteOutcome) => {
    if (out.position !== null) lastWrite.set(c.list.listId, Math.max(lastWrite.get(c.list.listId) ?? -1, out.position));
    if (!out.event) await logOutcome(c, 'SKIPPED');
  };

  /** Writes shared by the routes and /Bulk. `target` is ['Users'|'Groups', id?]. */
  async function write(c: Call, method: string, type: 'Users' | 'Groups', id: string | undefined, body: unknown, ifMatch: string | undefined): Promise<{ status: number; out: WriteOutcome; schema: ResourceSchema }> {
    const isUser = type === 'Users';
    c.resourceType = isUser ? 'User' : 'Group';
    c.operation = (isUser ? OPERATION : GROUP_OPERATION)[method];
    if (id !== undefined) c.resourceId = id;
    const ctx = ctxOf(c);
    const svc = isUser ? users : groups;
    let out: WriteOutcome;
    let status = 200;
    if (method === 'POST' && id === undefined) { out = await svc.create(c.list, body, ctx); status = 201; c.resourceId = String(out.resource!.id); }
    else if (method === 'PUT' && id !== undefined) out = await svc.replace(c.list, id, body, ifMatch, ctx);
    else if (method === 'PATCH' && id !== undefined) out = await svc.patch(c.list, id, body, ifMatch, ctx);
    else if (method === 'DELETE' && id !== undefined) { out = await svc.remove(c.list, id, ifMatch, ctx); status = 204; }
    else throw new ScimError({ status: 405, detail: `${method} is not supported on /${type}${id ? '/{id}' : ''}` });
    // a group event changes its members' `groups`: answers kept for the list are stale from here on
    if (!isUser && out.position !== null) answers.noteGroupEvent(c.list.listId, out.position);
    await afterWrite(c, out);
    return { status, out, schema: isUser ? USER_RESOURCE_SCHEMA : GROUP_RESOURCE_SCHEMA };
  }

  await app.register(async (scim) => {
    const parseJson = (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try { done(null, JSON.parse(text)); } catch (err) {
        done(new ScimError({ status: 400, scimType: 'invalidSyntax', detail: `request body is not valid JSON: ${(err as Error).message}` }), undefined);
      }
    };
    scim.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string', bodyLimit }, parseJson);

    scim.setErrorHandler(async (err: Error, req, reply) => {
      const d = describeError(err);
      if (d.unexpected) req.log.error({ err }, 'unhandled SCIM error');
      if (req.scimCall) await logOutcome(req.scimCall, 'FAILED', { status: String(d.status), ...(d.scimType ? { scimType: d.scimType } : {}), detail: d.detail });
      if (d.status === 503) reply.header('Retry-After', '5');
      return scimError(reply, d.status, d.detail, d.scimType);
    });
    scim.setNotFoundHandler((req, reply) => scimError(reply, 404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));

    scim.addHook('onRequest', async (req, reply) => {
      const listId = (req.params as { listId?: string }).listId ?? /\/lists\/([^/?]+)/.exec(req.url)?.[1];
      const token = bearerToken(req.headers.authorization);
      const principal = token !== null && listId ? await auth.authenticate(listId, token) : null;
      if (!principal) {
        reply.header('WWW-Authenticate', 'Bearer realm="muster-scim"');
        return scimError(reply, 401, token !== null ? 'invalid, revoked or expired token for this list' : 'missing bearer token');
      }
      const wait = limiter.take(principal.tokenId);
      if (wait > 0) {
        reply.header('Retry-After', String(Math.ceil(wait)));
        return scimError(reply, 429, `rate limit exceeded for this token; retry after ${Math.ceil(wait)} s`);
      }
      const list = lists.get(streams.list(listId!)) ?? (await lists.getFresh(streams.list(listId!)));
      if (!scimConnected(list)) return scimError(reply, 401, 'SCIM is not connected on this list');
      req.scimToken = principal;
      req.scimList = list;
      req.scimCall = {
        list, tokenId: principal.tokenId, userAgent: req.headers['user-agent'], requestId: String(req.id), method: req.method,
        path: req.url.split('?')[0], traceparent: req.traceparent,
      };
      reply.header('content-type', SCIM_CONTENT_TYPE);
    });

    const sendResource = (reply: FastifyReply, proj: ReturnType<typeof projectionOf>, resource: ScimResource, status: number, schema: ResourceSchema) => {
      const meta = resource.meta as { version?: string; location?: string } | undefined;
      if (meta?.version) reply.header('ETag', meta.version);
      if (status === 201 && meta?.location) reply.header('Location', meta.location);
      return reply.status(status).send(project(resource, proj, schema));
    };
    const query = (req: FastifyRequest) => (req.query ?? {}) as Record<string, unknown>;
    const idParam = (req: FastifyRequest) => (req.params as { id: string }).id;

    // ---------------- discovery ----------------
    scim.get('/ServiceProviderConfig', async (req) => buildServiceProviderConfig({
      baseUrl: baseUrl(req.scimList!.listId), filter: { maxResults }, etag: true, sort: true, patch: true,
      bulk: { supported: true, maxOperations: bulkMaxOperations, maxPayloadSize: bulkMaxPayloadSize },
    }));
    scim.get('/ResourceTypes', async (req) => {
      const r = buildResourceTypes({ baseUrl: baseUrl(req.scimList!.listId), userExtensions: await customExtensions(req.scimList!.listId) });
      return buildListResponse(r, r.length);
    });
    scim.get<{ Params: { name: string } }>('/ResourceTypes/:name', async (req) => {
      const r = buildResourceTypes({ baseUrl: baseUrl(req.scimList!.listId), userExtensions: await customExtensions(req.scimList!.listId) })
        .find((t) => t.name.toLowerCase() === req.params.name.toLowerCase());
      if (!r) throw new ScimError({ status: 404, detail: `unknown resource type ${req.params.name.slice(0, 200)}` });
      return r;
    });
    scim.get('/Schemas', async (req) => {
      const s = buildSchemas({ baseUrl: baseUrl(req.scimList!.listId), userExtensions: await customExtensions(req.scimList!.listId) });
      return buildListResponse(s, s.length);
    });
    scim.get<{ Params: { urn: string } }>('/Schemas/:urn', async (req) => {
      const s = buildSchemas({ baseUrl: baseUrl(req.scimList!.listId), userExtensions: await customExtensions(req.scimList!.listId) })
        .find((x) => x.id.toLowerCase() === req.params.urn.toLowerCase());
      if (!s) throw new ScimError({ status: 404, detail: `unknown schema ${req.params.urn.slice(0, 200)}` });
      return s;
    });
    scim.all('/Me', async () => { throw new ScimError({ status: 501, detail: '/Me is not supported: tokens identify a list, not a user' }); });

    // ---------------- reads ----------------
    scim.get('/Users/:id', async (req, reply) => {
      const proj = projectionOf(query(req));
      if (proj.attributes === undefined && proj.excludedAttributes === undefined) {
        // a kept answer is checked against the event store (stream revision, group stamp): no wait needed
        const kept = await users.keptById(req.scimList!.listId, idParam(req));
        if (kept) {
          if (ifNoneMatchHits(str(req.headers['if-none-match']), kept.revision)) return reply.status(304).header('ETag', etagOf(kept.revision)).send();
          return reply.status(200).header('ETag', etagOf(kept.revision)).send(kept.json);
        }
      }
      await waitForOwnWrites(req.scimList!.listId);
      const { resource, revision } = await users.get(req.scimList!.listId, idParam(req));
      if (ifNoneMatchHits(str(req.headers['if-none-match']), revision)) return reply.status(304).header('ETag', etagOf(revision)).send();
      return sendResource(reply, proj, resource, 200, USER_RESOURCE_SCHEMA);
    });
    scim.get('/Groups/:id', async (req, reply) => {
      const proj = projectionOf(query(req));
      const { resource, revision } = await groups.get(req.scimList!.listId, idParam(req));
      if (ifNoneMatchHits(str(req.headers['if-none-match']), revision)) return reply.status(304).header('ETag', etagOf(revision)).send();
      return sendResource(reply, proj, resource, 200, GROUP_RESOURCE_SCHEMA);
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
        contentType: SCIM_CONTENT_TYPE, limiter, etagOf,
        authenticateNow: (listId, token) => auth.authenticateNow(listId, token),
        scimConnected: (listId) => scimConnected(lists.get(streams.list(listId))),
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
      await waitForOwnWrites(req.scimList!.listId);
      const res = await users.query(req.scimList!.listId, q);
      return buildListResponse(res.resources.map((r) => project(r, proj, USER_RESOURCE_SCHEMA)), res.total, res.startIndex);
    };
    const listGroups = async (req: FastifyRequest, src: Record<string, unknown>) => {
      const proj = projectionOf(src);
      const q = listQueryOf(src);
      await waitForOwnWrites(req.scimList!.listId);
      const excluded = [proj.excludedAttributes ?? []].flat().join(',').toLowerCase();
      const attrs = [proj.attributes ?? []].flat().join(',').toLowerCase();
      const needMembers = !(/\bmembers\b/.test(excluded) || (attrs && !/\bmembers\b/.test(attrs))) || /members/i.test(q.filter ?? '') || /members/i.test(q.sortBy ?? '');
      const res = await groups.query(req.scimList!.listId, q, { members: needMembers });
      return buildListResponse(res.resources.map((r) => projectAttributes(r, proj, GROUP_RESOURCE_SCHEMA)), res.total, res.startIndex);
    };
    const searchBody = (req: FastifyRequest) => {
      const b = req.body ?? {};
      if (!isObject(b)) throw ScimError.badRequest('invalidSyntax', 'a SearchRequest body must be a JSON object');
      return b;
    };
    scim.get('/Users', (req, reply) => {
      const src = query(req);
      const kept = keptAnswer(req.scimList!.listId, src);
      if (typeof kept === 'string') return reply.send(kept);
      return kept === null ? listUsers(req, src, false) : kept.then((k) => k ?? listUsers(req, src, false));
    });
    scim.post('/Users/.search', async (req) => listUsers(req, searchBody(req)));
    scim.get('/Groups', async (req) => listGroups(req, query(req)));
    scim.post('/Groups/.search', async (req) => listGroups(req, searchBody(req)));
    scim.post('/.search', async (req) => {
      const body = searchBody(req);
      const proj = projectionOf(body);
      const q = listQueryOf(body);
      await waitForOwnWrites(req.scimList!.listId);
      const [u, g] = await Promise.all([
        users.query(req.scimList!.listId, { ...q, startIndex: 1, count: maxResults }).catch((err) => { if (err instanceof InvalidFilterError) return null; throw err; }),
        groups.query(req.scimList!.listId, { ...q, startIndex: 1, count: maxResults }).catch((err) => { if (err instanceof InvalidFilterError) return null; throw err; }),
      ]);
      if (!u && !g) users.parseFilter(q.filter); // rethrows the filter error
      const all = [
        ...(u?.resources ?? []).map((r) => projectAttributes(r, proj, USER_RESOURCE_SCHEMA)),
        ...(g?.resources ?? []).map((r) => projectAttributes(r, proj, GROUP_RESOURCE_SCHEMA)),
      ];
      const startIndex = Math.max(1, q.startIndex ?? 1);
      const count = Math.min(Math.max(0, q.count ?? maxResults), maxResults);
      return buildListResponse(count === 0 ? [] : all.slice(startIndex - 1, startIndex - 1 + count), all.length, startIndex);
    });

    // ---------------- writes ----------------
    for (const type of ['Users', 'Groups'] as const) {
      const handler = (withId: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
        const proj = projectionOf(query(req));
        const id = withId ? idParam(req) : undefined;
        const { status, out, schema } = await write(req.scimCall!, req.method, type, id, req.body, str(req.headers['if-match']));
        if (status === 204 || !out.resource) return reply.status(204).send();
        // Group PATCH answers 204 (what Entra expects), unless the client asked for attributes
        if (type === 'Groups' && req.method === 'PATCH' && proj.attributes === undefined && proj.excludedAttributes === undefined) {
          const version = (out.resource.meta as { version?: string } | undefined)?.version;
          if (version) reply.header('ETag', version);
          return reply.status(204).send();
        }
        return sendResource(reply, proj, out.resource, status, schema);
      };
      scim.post(`/${type}`, handler(false));
      scim.put(`/${type}/:id`, handler(true));
      scim.patch(`/${type}/:id`, handler(true));
      scim.delete(`/${type}/:id`, handler(true));
    }

    // ---------------- bulk (RFC 7644 §3.7) ----------------
    scim.post('/Bulk', { bodyLimit: bulkMaxPayloadSize }, async (req, reply) => {
      const call = req.scimCall!;
      call.resourceType = 'Bulk'; call.operation = 'BULK';
      const body = req.body;
      if (!isObject(body)) throw ScimError.badRequest('invalidSyntax', 'a BulkRequest body must be a JSON object');
      const ops = body.Operations ?? body.operations;
      if (!Array.isArray(ops)) throw ScimError.badRequest('invalidSyntax', 'a BulkRequest needs an "Operations" array');
      if (ops.length > bulkMaxOperations) throw new ScimError({ status: 413, detail: `a BulkRequest may hold at most ${bulkMaxOperations} operations (maxOperations); this one has ${ops.length}` });
      const failOnErrors = body.failOnErrors;
      if (failOnErrors !== undefined && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1)) throw ScimError.badRequest('invalidValue', 'failOnErrors must be a positive integer');
      const results = await runBulk(call, ops, failOnErrors as number | undefined);
      return reply.status(200).send({ schemas: [BULK_RESPONSE_SCHEMA], Operations: results });
    });
  }, { prefix: '/scim/v2/lists/:listId' });

  interface BulkResult { method: string; bulkId?: string; version?: string; location?: string; status: string; response?: unknown }

  /**
   * Bulk operations run one at a time. An operation whose data or path refers to `bulkId:x`
   * waits until the operation with that bulkId has run (so forward references work); references
   * that can never be resolved (unknown, failed or circular) fail that operation with 409.
   */
  async function runBulk(parent: Call, ops: unknown[], failOnErrors: number | undefined): Promise<BulkResult[]> {
    const resolved = new Map<string, string>();
    const failed = new Set<string>();
    const defined = new Set<string>();
    for (const op of ops) if (isObject(op) && typeof op.bulkId === 'string') defined.add(op.bulkId);
    const refsOf = (v: unknown, out: Set<string>) => {
      if (typeof v === 'string') { const m = /^bulkId:(.+)$/.exec(v); if (m) out.add(m[1]); }
      else if (Array.isArray(v)) for (const x of v) refsOf(x, out);
      else if (isObject(v)) for (const x of Object.values(v)) refsOf(x, out);
      return out;
    };
    const substitute = (v: unknown): unknown => {
      if (typeof v === 'string') { const m = /^bulkId:(.+)$/.exec(v); return m && resolved.has(m[1]) ? resolved.get(m[1]) : v; }
      if (Array.isArray(v)) return v.map(substitute);
      if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
      return v;
    };
    /** references in the data (whole string values) and in the path (a `bulkId:x` segment) */
    const allRefs = (op: Record<string, unknown>) => {
      const out = refsOf(op.data, new Set());
      if (typeof op.path === 'string') for (const m of op.path.matchAll(/bulkId:([^/?#]+)/g)) out.add(m[1]);
      return out;
    };
    const results: Array<BulkResult | undefined> = new Array(ops.length);
    const pending = ops.map((_, i) => i);
    let errors = 0;
    const fail = (i: number, method: string, bulkId: string | undefined, status: number, detail: string, scimType?: string) => {
      errors++;
      if (bulkId) failed.add(bulkId);
      results[i] = { method, ...(bulkId ? { bulkId } : {}), status: String(status), response: errorBody(status, detail, scimType) };
    };
    while (pending.length && !(failOnErrors !== undefined && errors >= failOnErrors)) {
      // the first operation whose references are settled (resolved, failed or never defined)
      let pick = pending.findIndex((i) => {
        const op = ops[i];
        if (!isObject(op)) return true;
        for (const r of allRefs(op)) if (defined.has(r) && !resolved.has(r) && !failed.has(r)) return false;
        return true;
      });
      const circular = pick < 0;
      if (circular) pick = 0;
      const i = pending.splice(pick, 1)[0];
      const op = ops[i];
      const method = isObject(op) && typeof op.method === 'string' ? op.method.toUpperCase() : '';
      const bulkId = isObject(op) && typeof op.bulkId === 'string' ? op.bulkId : undefined;
      if (!isObject(op)) { fail(i, method, bulkId, 400, 'each operation must be an object', 'invalidSyntax'); continue; }
      if (circular) { fail(i, method, bulkId, 409, 'circular bulkId references cannot be resolved', 'invalidValue'); continue; }
      const refs = allRefs(op);
      const unresolved = [...refs].filter((r) => !resolved.has(r));
      if (unresolved.length) { fail(i, method, bulkId, 409, `bulkId reference${unresolved.length > 1 ? 's' : ''} ${unresolved.map((r) => `"bulkId:${r}"`).join(', ')} could not be resolved`, 'invalidValue'); continue; }
      const path = typeof op.path === 'string' ? op.path.replace(/bulkId:([^/?#]+)/g, (all, ref: string) => resolved.get(ref) ?? all) : '';
      const m = /^\/?(Users|Groups)(?:\/([^/?#]+))?\/?$/i.exec(path);
      if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) { fail(i, method, bulkId, 400, 'method must be POST, PUT, PATCH or DELETE', 'invalidSyntax'); continue; }
      if (!m) { fail(i, method, bulkId, 400, `path must be /Users, /Groups, /Users/{id} or /Groups/{id}, got "${path.slice(0, 200)}"`, 'invalidPath'); continue; }
      if (method === 'POST' && !bulkId) { fail(i, method, bulkId, 400, 'POST operations need a bulkId', 'invalidSyntax'); continue; }
      if (bulkId !== undefined && resolved.has(bulkId)) { fail(i, method, bulkId, 400, `bulkId "${bulkId}" is used twice`, 'invalidValue'); continue; }
      const type = (m[1].toLowerCase() === 'users' ? 'Users' : 'Groups') as 'Users' | 'Groups';
      let id: string | undefined;
      try { id = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined; } catch { fail(i, method, bulkId, 400, `path "${path.slice(0, 200)}" is not valid percent-encoding`, 'invalidPath'); continue; }
      const c: Call = { ...parent, method, path: `/scim/v2/lists/${parent.list.listId}/${type}${id ? `/${id}` : ''}`, operation: undefined, resourceType: undefined, resourceId: undefined, logged: false };
      try {
        const { status, out } = await write(c, method, type, id, substitute(op.data), typeof op.version === 'string' ? op.version : undefined);
        const resource = out.resource;
        const rid = resource ? String(resource.id) : id;
        if (bulkId && rid) resolved.set(bulkId, rid);
        const version = (resource?.meta as { version?: string } | undefined)?.version;
        results[i] = { method, ...(bulkId ? { bulkId } : {}), ...(version ? { version } : {}), ...(rid && method !== 'DELETE' ? { location: `${baseUrl(parent.list.listId)}/${type}/${rid}` } : {}), status: String(status) };
      } catch (err) {
        const d = describeError(err);
        await logOutcome(c, 'FAILED', { status: String(d.status), ...(d.scimType ? { scimType: d.scimType } : {}), detail: d.detail });
        fail(i, method, bulkId, d.status, d.detail, d.scimType);
      }
    }
    return results.filter((r): r is BulkResult => r !== undefined);
  }
};

/** The SCIM ingress app factory (tests use app.inject(); main.ts listens). */
export async function build(opts: ScimIngressOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, genReqId: () => randomUUID(), frameworkErrors, clientErrorHandler: clientErrors, bodyLimit: Math.max(opts.bodyLimit ?? 1_048_576, opts.bulkMaxPayloadSize ?? 4 * 1_048_576) });
  await app.register(scimIngressPlugin, opts);
  return app;
}

export { InvalidFilterError };
