import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Bus } from '@muster/bus';
import { streamPrefixes, streams, toNewEvents, type CommandContext } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { DomainError, StreamStateCache, listDecider, type ListState } from '@muster/domain';
import { waitForCheckpoint } from '@muster/http';
import { MappingClient } from '@muster/mapping';
import type { ReadStore } from '@muster/read-store';
import {
  ERROR_SCHEMA, InvalidFilterError, ScimError, USER_RESOURCE_SCHEMA, buildListResponse, buildResourceTypes, buildSchemas,
  buildServiceProviderConfig, projectAttributes, GROUP_RESOURCE_SCHEMA, type ScimResource,
} from '@muster/scim';
import { GroupService } from './groups.ts';
import { recogniseIdp } from './idp.ts';
import { UserService, etagOf, type WriteOutcome } from './people.ts';
import { ScimTokenAuth, type TokenPrincipal } from './token-auth.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimIngressOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  publicUrl: string;
  now?: () => Date;
  logger?: boolean | object;
  /** advertised and enforced */
  maxResults?: number;
  maxFilterLength?: number;
  bodyLimit?: number;
  /** how long a filtered read waits for the projection to reach this ingress's last write */
  consistencyTimeoutMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest { scimToken?: TokenPrincipal; scimList?: ListState; scimOperation?: string; scimResourceType?: 'User' | 'Group' | 'Bulk' | 'Other'; scimResourceId?: string; scimLogged?: boolean }
}

function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string) {
  return reply.status(status).type(SCIM_CONTENT_TYPE).send({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });
}

const OPERATION: Record<string, string> = { POST: 'CREATE', PUT: 'UPDATE', PATCH: 'UPDATE', DELETE: 'DELETE' };

/** The SCIM ingress as a plugin, mounted at /scim/v2/lists/:listId. */
export const scimIngressPlugin: FastifyPluginAsync<ScimIngressOptions> = async (app, opts) => {
  const now = opts.now ?? (() => new Date());
  const maxResults = opts.maxResults ?? 200;
  const auth = new ScimTokenAuth(opts.store, opts.readStore, now);
  const lists = new StreamStateCache<ListState>(opts.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
  lists.start();
  await Promise.all([auth.start(), lists.catchUp(30_000)]);
  app.addHook('onClose', async () => { await auth.stop(); await lists.stop(); });

  const publicUrl = opts.publicUrl.replace(/\/$/, '');
  const baseUrl = (listId: string) => `${publicUrl}/scim/v2/lists/${listId}`;
  /** last position this ingress wrote per list: filtered reads wait for the projection to reach it */
  const lastWrite = new Map<string, number>();
  const deps = {
    store: opts.store, readStore: opts.readStore, mapping: new MappingClient(opts.bus), now, newId: randomUUID, baseUrl,
    userSchema: USER_RESOURCE_SCHEMA, maxFilterLength: opts.maxFilterLength ?? 4096, maxResults,
    waitForProjection: async (position: number) => { await waitForCheckpoint(opts.readStore, 'main', position, opts.consistencyTimeoutMs ?? 5_000); },
  };
  const users = new UserService(deps);
  const groups = new GroupService(deps);

  await app.register(async (scim) => {
    scim.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string', bodyLimit: opts.bodyLimit ?? 1_048_576 }, (_req, body, done) => {
      const text = String(body);
      if (text.trim() === '') return done(null, undefined);
      try { done(null, JSON.parse(text)); } catch (err) {
        done(new ScimError({ status: 400, scimType: 'invalidSyntax', detail: `request body is not valid JSON: ${(err as Error).message}` }), undefined);
      }
    });

    scim.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, req, reply) => {
      let status = 500; let detail = 'internal error'; let scimType: string | undefined;
      if (err instanceof ScimError) { status = err.status; detail = err.detail; scimType = err.scimType; }
      else if (err instanceof DomainError) {
        status = { not_found: 404, conflict: 409, invalid: 400, forbidden: 403, locked: 409, gone: 410 }[err.code];
        detail = err.message; if (err.code === 'conflict') scimType = 'uniqueness';
      } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') { status = 413; detail = 'request body is larger than the advertised maxPayloadSize'; }
      else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') { status = 415; detail = 'use Content-Type application/scim+json or application/json'; }
      else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) { status = err.statusCode; detail = err.message; if (status === 400) scimType = 'invalidSyntax'; }
      else req.log.error({ err }, 'unhandled SCIM error');
      await logFailure(req, status, detail, scimType);
      return scimError(reply, status, detail, scimType);
    });
    scim.setNotFoundHandler((req, reply) => scimError(reply, 404, `no SCIM endpoint ${req.method} ${req.url.split('?')[0]}`));

    scim.addHook('onRequest', async (req, reply) => {
      const listId = (req.params as { listId?: string }).listId ?? /\/lists\/([^/?]+)/.exec(req.url)?.[1];
      const h = req.headers.authorization;
      const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
      const principal = m && listId ? await auth.authenticate(listId, m[1]) : null;
      if (!principal) {
        reply.header('WWW-Authenticate', 'Bearer realm="muster-scim"');
        return scimError(reply, 401, m ? 'invalid, revoked or expired token for this list' : 'missing bearer token');
      }
      const list = lists.get(streams.list(listId!)) ?? (await lists.getFresh(streams.list(listId!)));
      if (!list?.exists || list.sync?.provider !== 'scim') return scimError(reply, 401, 'SCIM is not connected on this list');
      req.scimToken = principal;
      req.scimList = list;
      reply.header('content-type', SCIM_CONTENT_TYPE);
    });

    const cmdCtx = (req: FastifyRequest, operation?: string): CommandContext => ({
      actor: { kind: 'scim-token', id: req.scimToken!.tokenId },
      source: {
        kind: 'scim', idp: recogniseIdp(req.headers['user-agent']), userAgent: req.headers['user-agent']?.slice(0, 200), requestId: String(req.id),
        method: req.method, path: req.url.split('?')[0], ...(operation ? { operation } : {}),
      },
      correlationId: String(req.id), now: now(), newId: randomUUID, traceparent: req.traceparent,
    });

    /** FAILED and SKIPPED requests are logged through their own event, so the provisioning log comes from the event log. */
    async function logOutcome(req: FastifyRequest, status: 'FAILED' | 'SKIPPED', error?: { status: string; scimType?: string; detail: string }) {
      if (!req.scimList || req.scimLogged) return;
      req.scimLogged = true;
      const op = req.scimOperation ?? OPERATION[req.method] ?? 'READ';
      const listId = req.scimList.listId;
      await opts.store.appendToStream(streams.scimLog(listId), toNewEvents([{ type: 'ScimRequestLogged', data: {
        listId, operation: op, status, resourceType: req.scimResourceType ?? 'Other', resourceId: req.scimResourceId, ...(error ? { error } : {}),
      } }], cmdCtx(req, op)), { expectedRevision: 'any' }).catch((err) => req.log.error({ err }, 'could not log SCIM request'));
    }
    async function logFailure(req: FastifyRequest, status: number, detail: string, scimType?: string) {
      if (!req.scimToken) return; // only authenticated requests are logged
      await logOutcome(req, 'FAILED', { status: String(status), ...(scimType ? { scimType } : {}), detail });
    }

    const projection = (req: FastifyRequest) => {
      const q = req.query as { attributes?: string; excludedAttributes?: string };
      return { attributes: q.attributes, excludedAttributes: q.excludedAttributes };
    };
    const written = (req: FastifyRequest, out: WriteOutcome) => {
      if (out.position !== null) lastWrite.set(req.scimList!.listId, Math.max(lastWrite.get(req.scimList!.listId) ?? -1, out.position));
    };
    const afterWrite = async (req: FastifyRequest, out: WriteOutcome) => {
      written(req, out);
      if (!out.event) await logOutcome(req, 'SKIPPED');
    };
    const sendResource = (reply: FastifyReply, req: FastifyRequest, resource: ScimResource, status = 200, schema = USER_RESOURCE_SCHEMA) => {
      const meta = resource.meta as { version?: string; location?: string } | undefined;
      if (meta?.version) reply.header('ETag', meta.version);
      if (status === 201 && meta?.location) reply.header('Location', meta.location);
      return reply.status(status).send(projectAttributes(resource, projection(req), schema));
    };
    const waitForOwnWrites = async (listId: string) => {
      const pos = lastWrite.get(listId);
      if (pos !== undefined) await deps.waitForProjection(pos);
    };
    const listQuery = (q: Record<string, unknown>) => {
      const num = (v: unknown, name: string) => {
        if (v === undefined || v === '') return undefined;
        const n = Number(v);
        if (!Number.isInteger(n)) throw ScimError.badRequest('invalidValue', `${name} must be an integer`);
        return n;
      };
      return { filter: q.filter as string | undefined, startIndex: num(q.startIndex, 'startIndex'), count: num(q.count, 'count'), sortBy: q.sortBy as string | undefined, sortOrder: q.sortOrder as string | undefined };
    };

    // ---------------- discovery ----------------
    scim.get('/ServiceProviderConfig', async (req) => buildServiceProviderConfig({ baseUrl: baseUrl(req.scimList!.listId), filter: { maxResults }, etag: true, sort: true, patch: true, bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 } }));
    scim.get('/ResourceTypes', async (req) => { const r = buildResourceTypes({ baseUrl: baseUrl(req.scimList!.listId) }); return buildListResponse(r, r.length); });
    scim.get<{ Params: { name: string } }>('/ResourceTypes/:name', async (req) => {
      const r = buildResourceTypes({ baseUrl: baseUrl(req.scimList!.listId) }).find((t) => t.name.toLowerCase() === req.params.name.toLowerCase() || t.id.toLowerCase() === req.params.name.toLowerCase());
      if (!r) throw new ScimError({ status: 404, detail: `unknown resource type ${req.params.name}` });
      return r;
    });
    scim.get('/Schemas', async (req) => { const s = buildSchemas({ baseUrl: baseUrl(req.scimList!.listId) }); return buildListResponse(s, s.length); });
    scim.get<{ Params: { urn: string } }>('/Schemas/:urn', async (req) => {
      const s = buildSchemas({ baseUrl: baseUrl(req.scimList!.listId) }).find((x) => x.id.toLowerCase() === req.params.urn.toLowerCase());
      if (!s) throw new ScimError({ status: 404, detail: `unknown schema ${req.params.urn}` });
      return s;
    });
    scim.all('/Me', async () => { throw new ScimError({ status: 501, detail: '/Me is not supported: tokens identify a list, not a user' }); });

    // ---------------- Users ----------------
    scim.post('/Users', async (req, reply) => {
      req.scimOperation = 'CREATE'; req.scimResourceType = 'User';
      const out = await users.create(req.scimList!, req.body, cmdCtx(req));
      req.scimResourceId = String(out.resource!.id);
      await afterWrite(req, out);
      return sendResource(reply, req, out.resource!, 201);
    });
    scim.get<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
      const { resource, revision } = await users.get(req.scimList!.listId, req.params.id);
      const inm = req.headers['if-none-match'];
      if (inm && (inm === '*' || inm.split(',').map((t) => t.trim().replace(/^W\//, '')).includes(`"${revision}"`))) return reply.status(304).header('ETag', etagOf(revision)).send();
      return sendResource(reply, req, resource);
    });
    scim.get('/Users', async (req, reply) => {
      await waitForOwnWrites(req.scimList!.listId);
      const res = await users.query(req.scimList!.listId, listQuery(req.query as Record<string, unknown>));
      return reply.send(buildListResponse(res.resources.map((r) => projectAttributes(r, projection(req), USER_RESOURCE_SCHEMA)), res.total, res.startIndex));
    });
    scim.post('/Users/.search', async (req, reply) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      await waitForOwnWrites(req.scimList!.listId);
      const res = await users.query(req.scimList!.listId, listQuery(body));
      const proj = { attributes: body.attributes as string[] | undefined, excludedAttributes: body.excludedAttributes as string[] | undefined };
      return reply.send(buildListResponse(res.resources.map((r) => projectAttributes(r, proj, USER_RESOURCE_SCHEMA)), res.total, res.startIndex));
    });
    scim.put<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
      req.scimOperation = 'UPDATE'; req.scimResourceType = 'User'; req.scimResourceId = req.params.id;
      const out = await users.replace(req.scimList!, req.params.id, req.body, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return sendResource(reply, req, out.resource!);
    });
    scim.patch<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
      req.scimOperation = 'UPDATE'; req.scimResourceType = 'User'; req.scimResourceId = req.params.id;
      const out = await users.patch(req.scimList!, req.params.id, req.body, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return sendResource(reply, req, out.resource!);
    });
    scim.delete<{ Params: { id: string } }>('/Users/:id', async (req, reply) => {
      req.scimOperation = 'DELETE'; req.scimResourceType = 'User'; req.scimResourceId = req.params.id;
      const out = await users.remove(req.scimList!, req.params.id, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return reply.status(204).send();
    });

    // ---------------- Groups ----------------
    scim.post('/Groups', async (req, reply) => {
      req.scimOperation = 'GROUP_CREATE'; req.scimResourceType = 'Group';
      const out = await groups.create(req.scimList!, req.body, cmdCtx(req));
      req.scimResourceId = String(out.resource!.id);
      await afterWrite(req, out);
      return sendResource(reply, req, out.resource!, 201, GROUP_RESOURCE_SCHEMA);
    });
    scim.get<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
      const { resource } = await groups.get(req.scimList!.listId, req.params.id);
      return sendResource(reply, req, resource, 200, GROUP_RESOURCE_SCHEMA);
    });
    scim.get('/Groups', async (req, reply) => {
      await waitForOwnWrites(req.scimList!.listId);
      const res = await groups.query(req.scimList!.listId, listQuery(req.query as Record<string, unknown>));
      return reply.send(buildListResponse(res.resources.map((r) => projectAttributes(r, projection(req), GROUP_RESOURCE_SCHEMA)), res.total, res.startIndex));
    });
    scim.put<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
      req.scimOperation = 'GROUP_UPDATE'; req.scimResourceType = 'Group'; req.scimResourceId = req.params.id;
      const out = await groups.replace(req.scimList!, req.params.id, req.body, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return sendResource(reply, req, out.resource!, 200, GROUP_RESOURCE_SCHEMA);
    });
    scim.patch<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
      req.scimOperation = 'GROUP_UPDATE'; req.scimResourceType = 'Group'; req.scimResourceId = req.params.id;
      const out = await groups.patch(req.scimList!, req.params.id, req.body, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return reply.status(204).send();
    });
    scim.delete<{ Params: { id: string } }>('/Groups/:id', async (req, reply) => {
      req.scimOperation = 'GROUP_DELETE'; req.scimResourceType = 'Group'; req.scimResourceId = req.params.id;
      const out = await groups.remove(req.scimList!, req.params.id, req.headers['if-match'], cmdCtx(req));
      await afterWrite(req, out);
      return reply.status(204).send();
    });
  }, { prefix: '/scim/v2/lists/:listId' });
};

/** The SCIM ingress app factory (tests use app.inject(); main.ts listens). */
export async function build(opts: ScimIngressOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, genReqId: () => randomUUID(), bodyLimit: opts.bodyLimit ?? 1_048_576 });
  await app.register(scimIngressPlugin, opts);
  return app;
}

export { InvalidFilterError };
