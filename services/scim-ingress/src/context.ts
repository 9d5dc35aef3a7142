/**
 * The SCIM ingress's shared state, one object per ingress, decorated on its Fastify instance as
 * `scim` (app.ts): the token auth, rate limiter, list cache, kept userName answers, the user and
 * group services, read-your-writes bookkeeping, and the operations several route plugins use
 * (a write, logging a failed or skipped call, custom extensions for discovery).
 */
import { randomUUID } from 'node:crypto';
import type { Bus } from '@muster/bus';
import { streamPrefixes, streams, toNewEvents, type CommandContext } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { FEATURE_PLAN, StreamStateCache, listDecider, organisationDecider, planAllows, type ListState, type OrganisationState } from '@muster/domain';
import { MappingClient } from '@muster/mapping-contract';
import { ProjectionWaiter } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';
import { CustomExtensionCollector, GROUP_RESOURCE_SCHEMA, ScimError, USER_RESOURCE_SCHEMA, isPlainObject, type ResourceSchema } from '@muster/scim';
import { AuthFailureLimiter } from '@muster/http';
import { GroupService } from './groups.ts';
import { project } from './http.ts';
import { recogniseIdp } from './idp.ts';
import { UserService, type WriteOutcome } from './people.ts';
import { RateLimiter } from './rate-limit.ts';
import { ScimTokenAuth } from './token-auth.ts';
import { UserNameAnswers } from './user-name-answers.ts';

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
  /** failed authentications a client address may make per minute before it is answered 429 (default 30) */
  authFailuresPerMinute?: number;
  /** how long a filtered read waits for the projection to reach this ingress's last write */
  consistencyTimeoutMs?: number;
  /** how many serialized `userName eq` answers this ingress keeps (user-name-answers.ts; default 200,000) */
  answerCacheSize?: number;
  /** given: the ingress hands it a fast path for its two hottest reads (fast-path.ts) to run before Fastify routes a request */
  registerFastPath?: (fastPath: import('@muster/runtime').FastPath) => void;
}

/** What one SCIM call (a request, or one operation of a Bulk request) is about: stamped on events and log entries. */
export interface Call {
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

export type ResourceKind = 'Users' | 'Groups';

const OPERATION: Record<string, string> = { POST: 'CREATE', PUT: 'UPDATE', PATCH: 'UPDATE', DELETE: 'DELETE' };
const GROUP_OPERATION: Record<string, string> = { POST: 'GROUP_CREATE', PUT: 'GROUP_UPDATE', PATCH: 'GROUP_UPDATE', DELETE: 'GROUP_DELETE' };

export const scimConnected = (list: ListState | undefined): list is ListState => list?.exists === true && list.sync?.provider === 'scim';

export class ScimContext {
  readonly now: () => Date;
  readonly maxResults: number;
  readonly bodyLimit: number;
  readonly bulkMaxOperations: number;
  readonly bulkMaxPayloadSize: number;
  readonly auth: ScimTokenAuth;
  readonly limiter: RateLimiter;
  readonly authFailures: AuthFailureLimiter;
  readonly lists: StreamStateCache<ListState>;
  /** organisations' plans: SCIM needs Business or above at every request (a downgrade stops the tokens, an upgrade brings them back) */
  readonly organisations: StreamStateCache<OrganisationState>;
  readonly projection: ProjectionWaiter;
  readonly answers: UserNameAnswers;
  readonly users: UserService;
  readonly groups: GroupService;
  private readonly publicUrl: string;
  /** read-your-writes for filtered reads: the last position this ingress wrote, per list */
  private readonly lastWrite = new Map<string, number>();

  private constructor(private readonly opts: ScimIngressOptions) {
    this.now = opts.now ?? (() => new Date());
    this.maxResults = opts.maxResults ?? 1_000;
    this.bodyLimit = opts.bodyLimit ?? 1_048_576;
    this.bulkMaxOperations = opts.bulkMaxOperations ?? 1_000;
    this.bulkMaxPayloadSize = opts.bulkMaxPayloadSize ?? 4 * 1_048_576;
    this.publicUrl = opts.publicUrl.replace(/\/$/, '');
    this.auth = new ScimTokenAuth(opts.store, opts.readStore, this.now);
    this.authFailures = new AuthFailureLimiter(opts.authFailuresPerMinute ?? 30, () => this.now().getTime());
    this.limiter = new RateLimiter(opts.rateLimit ?? 1_000, opts.rateBurst ?? 2 * (opts.rateLimit ?? 1_000));
    this.lists = new StreamStateCache<ListState>(opts.store, streamPrefixes.list, listDecider.evolve, listDecider.initialState);
    this.organisations = new StreamStateCache<OrganisationState>(opts.store, streamPrefixes.organisation, organisationDecider.evolve, organisationDecider.initialState);
    this.projection = new ProjectionWaiter(opts.readStore, { timeoutMs: opts.consistencyTimeoutMs ?? 5_000, maxPollMs: 10 });
    this.answers = new UserNameAnswers(opts.store, this.projection, (r) => JSON.stringify(project(r, {}, USER_RESOURCE_SCHEMA)), opts.answerCacheSize ?? 200_000);
    const deps = {
      store: opts.store, readStore: opts.readStore, mapping: new MappingClient(opts.bus), now: this.now, newId: randomUUID, baseUrl: (listId: string) => this.baseUrl(listId),
      userSchema: USER_RESOURCE_SCHEMA, maxFilterLength: opts.maxFilterLength ?? 4_096, maxFilterDepth: opts.maxFilterDepth ?? 16, maxResults: this.maxResults,
      answers: this.answers, waitForOwnWrites: (listId: string) => this.waitForOwnWrites(listId),
    };
    this.users = new UserService(deps);
    this.groups = new GroupService(deps);
  }

  /** The context with its caches started and caught up with the log. */
  static async start(opts: ScimIngressOptions): Promise<ScimContext> {
    const c = new ScimContext(opts);
    c.lists.start();
    c.organisations.start();
    await Promise.all([c.auth.start(), c.lists.catchUp(30_000), c.organisations.catchUp(30_000), c.answers.start()]);
    return c;
  }

  async stop(): Promise<void> {
    await this.answers.stop();
    await this.auth.stop();
    await this.lists.stop();
    await this.organisations.stop();
  }

  /**
   * Why SCIM is closed to the list's organisation now (its plan is below the one SCIM needs), or
   * null; undefined when its plan is not in this process's cache yet (ask planRefusal).
   */
  planRefusalNow(list: ListState): string | null | undefined {
    const stream = streams.organisation(list.orgId);
    if (!this.organisations.isCurrentNow(stream)) return undefined;
    return this.refusal(this.organisations.get(stream));
  }

  async planRefusal(list: ListState): Promise<string | null> {
    return this.refusal(await this.organisations.getCurrent(streams.organisation(list.orgId)));
  }

  private refusal(org: OrganisationState | undefined): string | null {
    // an organisation without a stream (a self-hosted install's default) is on the enterprise plan
    const plan = org?.exists ? org.plan : 'enterprise';
    return planAllows(plan, 'scim') ? null : `Automated provisioning (SCIM) needs the ${FEATURE_PLAN.scim} plan or above; this organisation is on ${plan}`;
  }

  baseUrl(listId: string): string {
    return `${this.publicUrl}/scim/v2/lists/${listId}`;
  }

  /** the list if SCIM is connected on it (from the list cache, read fresh when not cached) */
  async connectedList(listId: string): Promise<ListState | null> {
    const list = this.lists.get(streams.list(listId)) ?? (await this.lists.getFresh(streams.list(listId)));
    return scimConnected(list) ? list : null;
  }

  /** Wait (bounded) until the read models hold this ingress's last write to the list. */
  async waitForOwnWrites(listId: string): Promise<void> {
    const pos = this.lastWrite.get(listId);
    if (pos !== undefined && !this.projection.reached(pos)) await this.projection.waitFor(pos);
  }

  /** Custom extensions the list's people carry, described for /Schemas and /ResourceTypes. */
  async customExtensions(listId: string) {
    await this.waitForOwnWrites(listId);
    const docs = await this.opts.readStore.collection('people').find({ listId, linked: true }, { projection: { scimResource: 1 } });
    const c = new CustomExtensionCollector(USER_RESOURCE_SCHEMA);
    for (const d of docs) if (isPlainObject(d.scimResource)) c.add(d.scimResource);
    return c.extensions();
  }

  /** The command context of a call: who (the token), from where (the IdP, the request), when. */
  commandContext(c: Call): CommandContext {
    return {
      actor: { kind: 'scim-token', id: c.tokenId },
      source: {
        kind: 'scim', idp: recogniseIdp(c.userAgent), userAgent: c.userAgent?.slice(0, 200), requestId: c.requestId,
        method: c.method, path: c.path, ...(c.operation ? { operation: c.operation } : {}),
      },
      correlationId: c.requestId, now: this.now(), newId: randomUUID, ...(c.traceparent ? { traceparent: c.traceparent } : {}),
    };
  }

  /** FAILED and SKIPPED calls are logged through their own event, so the provisioning log comes from the event log. */
  async logOutcome(c: Call, status: 'FAILED' | 'SKIPPED', error?: { status: string; scimType?: string; detail: string }): Promise<void> {
    if (c.logged) return;
    c.logged = true;
    const op = c.operation ?? OPERATION[c.method] ?? 'READ';
    const listId = c.list.listId;
    const ctx = this.commandContext(c);
    await this.opts.store.appendToStream(streams.scimLog(listId), toNewEvents([{ type: 'ScimRequestLogged', data: {
      listId, operation: op, status, resourceType: c.resourceType ?? 'Other', ...(c.resourceId ? { resourceId: c.resourceId.slice(0, 200) } : {}),
      ...(error ? { error: { ...error, detail: error.detail.slice(0, 1_000) } } : {}),
    } }], { ...ctx, source: { ...ctx.source, operation: op } }), { expectedRevision: 'any' }).catch(() => { /* logging never fails a request */ });
  }

  /** A write shared by the routes and /Bulk: POST (no id), PUT, PATCH or DELETE of a user or group. */
  async write(c: Call, method: string, type: ResourceKind, id: string | undefined, body: unknown, ifMatch: string | undefined): Promise<{ status: number; out: WriteOutcome; schema: ResourceSchema }> {
    const isUser = type === 'Users';
    c.resourceType = isUser ? 'User' : 'Group';
    c.operation = (isUser ? OPERATION : GROUP_OPERATION)[method];
    if (id !== undefined) c.resourceId = id;
    const ctx = this.commandContext(c);
    const svc = isUser ? this.users : this.groups;
    let out: WriteOutcome;
    let status = 200;
    if (method === 'POST' && id === undefined) { out = await svc.create(c.list, body, ctx); status = 201; c.resourceId = String(out.resource!.id); }
    else if (method === 'PUT' && id !== undefined) out = await svc.replace(c.list, id, body, ifMatch, ctx);
    else if (method === 'PATCH' && id !== undefined) out = await svc.patch(c.list, id, body, ifMatch, ctx);
    else if (method === 'DELETE' && id !== undefined) { out = await svc.remove(c.list, id, ifMatch, ctx); status = 204; }
    else throw new ScimError({ status: 405, detail: `${method} is not supported on /${type}${id ? '/{id}' : ''}` });
    // a group event changes its members' `groups`: answers kept for the list are stale from here on
    if (!isUser && out.position !== null) this.answers.noteGroupEvent(c.list.listId, out.position);
    if (out.position !== null) this.lastWrite.set(c.list.listId, Math.max(this.lastWrite.get(c.list.listId) ?? -1, out.position));
    if (!out.event) await this.logOutcome(c, 'SKIPPED');
    return { status, out, schema: isUser ? USER_RESOURCE_SCHEMA : GROUP_RESOURCE_SCHEMA };
  }
}
