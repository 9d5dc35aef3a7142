/**
 * The admin API's shared state and the helpers its route plugins share, one place each. The
 * context is decorated on the API's Fastify scope as `admin` (app.ts); every plugin reads it from
 * there and takes its helpers with `helpers(app.admin)`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streams, type CommandContext, type Plan } from '@muster/contracts';
import { DomainError, FEATURE_PLAN, commandHandlerFor, handleCommand, listDecider, tokensDecider, load, organisationDecider, planAllows, uniqueIdOf as uniqueIdOfScim, type Fold, type ListState } from '@muster/domain';
import type { Bus } from '@muster/bus';
import type { EventStore } from '@muster/event-store';
import type { PersonalDataVault } from '@muster/personal-data';
import { HttpError } from '@muster/http';
import type { MappingClient } from '@muster/mapping-contract';
import type { EntraSyncClient } from '@muster/entra-sync-contract';
import type { ProjectionWaiter } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';
import type { AdminAuth, Principal } from './auth.ts';
import type { ChangesetRunner } from './changesets/runner.ts';
import type { ImportRunner } from './imports/runner.ts';
import type { RetentionJob } from './retention.ts';

export interface AdminContext {
  store: EventStore;
  /** the log as stored (personal data sealed): what the hash chain covers */
  log: EventStore;
  /** the personal-data vault (null: personal data is written in clear) */
  vault: PersonalDataVault | null;
  /** erasures the retention policies and deleted lists ask for */
  retention: RetentionJob;
  readStore: ReadStore;
  bus: Bus;
  mapping: MappingClient;
  /** the entra-sync service over the bus (secrets, connection tests, runs) */
  entra: EntraSyncClient;
  /** how long POST /admin/projections/rebuild with wait=true waits (ms) */
  rebuildWaitMs: number;
  auth: AdminAuth;
  /** the read models' progress: queries wait on it (read-your-writes) */
  projection: ProjectionWaiter;
  publicUrl: string;
  now: () => Date;
  newId: () => string;
  /** applies and rolls back changesets in the background */
  changesets: ChangesetRunner;
  /** how long an apply or rollback request waits for its run before answering 202 (ms) */
  changesetWaitMs: number;
  /** validates CSV imports in the background; keeps their files */
  imports: ImportRunner;
  /** the largest CSV file an import accepts (bytes) */
  importMaxBytes: number;
}

declare module 'fastify' {
  interface FastifyInstance { admin: AdminContext }
}

/** a route plugin's instance, typed by the zod type provider */
export type Api = FastifyInstance<any, any, any, any, ZodTypeProvider>;

export const ListParams = z.object({ id: z.string().min(1).max(100) });
export const PersonParams = z.object({ id: z.string().min(1).max(100), personId: z.string().min(1).max(100) });
export const TokenParams = z.object({ id: z.string().min(1).max(100), tokenId: z.string().min(1).max(100) });
export const After = z.coerce.number().int().min(-1).optional().describe('wait until the projection has applied this position (read-your-writes)');
export const ErrorResponse = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) });

export function scimBaseUrl(ctx: Pick<AdminContext, 'publicUrl'>, listId: string) {
  return `${ctx.publicUrl}/scim/v2/lists/${listId}`;
}

/** A person document as the API shows it (no bookkeeping fields). */
export function personView(d: Record<string, unknown>) {
  const { _id, lastPosition: _l, search: _s, ...rest } = d;
  return { id: _id, ...rest };
}

/**
 * The visible unique identifier of a person under the list's SCIM choice (employee number,
 * username or email), read from what the IdP sent (the domain's rule), else from the mapped field.
 * It is shown beside the sync anchor (the IdP's own id), never instead of it.
 */
export function uniqueIdOf(list: ListState, fields: Record<string, unknown> | undefined, scim: Record<string, unknown> | null | undefined): { kind: string; value: string | null } | null {
  const choice = list.sync?.uniqueIdentifier;
  if (!choice) return null;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const f = fields ?? {};
  const fromIdp = uniqueIdOfScim(scim, choice, list.sync?.provider === 'entra' ? 'entra' : 'scim') ?? null;
  switch (choice) {
    case 'employeeNumber': return { kind: choice, value: fromIdp ?? str(f.employeeNumber) };
    case 'userName': return { kind: choice, value: fromIdp };
    case 'email': return { kind: choice, value: fromIdp ?? str(f.primaryEmail) ?? str(f.email) };
    default: return null;
  }
}

/** The helpers of one context: command contexts, read-your-writes, the caller's list, plan gates, list views. */
export function helpers(ctx: AdminContext) {
  /** who did it (the admin token) and from which request: stamped on the events */
  const cmd = (req: FastifyRequest, p: Principal, now: Date = ctx.now()): CommandContext => ({
    actor: { kind: 'admin', id: p.tokenId }, source: { kind: 'admin-api', requestId: String(req.id), method: req.method, path: req.url.split('?')[0] },
    correlationId: String(req.id), now, newId: ctx.newId, traceparent: req.traceparent,
  });

  /** Wait for the read models: to `after` when given, else to the head at request time (bounded). */
  const consistent = async (after?: number) => {
    const head = await ctx.store.headPosition();
    // a position the log has not reached can never be projected: say so now rather than after the wait
    if (after !== undefined && after > head) throw new HttpError(400, 'invalid', `after=${after} is past the end of the event log (its last position is ${head}); use a position a command returned`);
    const target = after ?? head;
    if (target < 0) return;
    const ok = await ctx.projection.waitFor(target);
    if (!ok && after !== undefined) throw new HttpError(503, 'projection_lagging', `the read models have not reached position ${after} yet; retry shortly`);
  };

  /**
   * Wait until the read models hold the log as it is now, and give that position: what a read
   * after this sees includes every event up to it (503 when they do not get there in time).
   */
  const projectedToHead = async (): Promise<number> => {
    const position = await ctx.store.headPosition();
    if (position >= 0 && !(await ctx.projection.waitFor(position))) throw new HttpError(503, 'projection_lagging', 'the read models are behind the event log; retry shortly');
    return position;
  };

  /** the list, if it exists and the caller's organisation may see it (404 otherwise) */
  const listFor = async (p: Principal, listId: string): Promise<ListState> => {
    const { state } = await load(ctx.store, streams.list(listId), listDecider);
    if (!state.exists || (p.orgId !== null && state.orgId !== p.orgId)) throw new DomainError('not_found', 'list not found');
    return state;
  };

  const orgPlan = async (orgId: string): Promise<Plan> => {
    const { state } = await load(ctx.store, streams.organisation(orgId), organisationDecider);
    return state.exists ? state.plan : 'enterprise';
  };

  /** 403 naming the plan a feature needs when the list's organisation is below it */
  const gate = async (list: ListState, feature: keyof typeof FEATURE_PLAN) => {
    const plan = await orgPlan(list.orgId);
    if (!planAllows(plan, feature)) throw new HttpError(403, 'plan_required', `${feature === 'scim' ? 'Automated provisioning (SCIM)' : 'Entra directory sync'} needs the ${FEATURE_PLAN[feature]} plan or above; this organisation is on ${plan}`, { requiredPlan: FEATURE_PLAN[feature], plan });
  };

  /** a list as the API shows it, from its read-model document or (just written) its state */
  const listView = (doc: Record<string, unknown> | null, state?: ListState, listId?: string) => {
    if (doc) {
      const { _id, lastPosition: _l, ...rest } = doc;
      return { id: _id, ...rest, scimBaseUrl: (doc.sync as { provider?: string } | null)?.provider === 'scim' ? scimBaseUrl(ctx, String(_id)) : null };
    }
    return { id: listId ?? state!.listId, orgId: state!.orgId, name: state!.name, description: state!.description ?? null, fields: state!.fields, sync: state!.sync, counts: { active: 0, inactive: 0 } };
  };

  /**
   * A stream's state that belongs to a list (a session, a changeset), with that list, if it exists
   * and the caller may see the list: 404 with `notFound` otherwise (another organisation's is as
   * missing as one that never was).
   */
  const inList = async <State extends { exists: boolean; listId: string }>(p: Principal, streamId: string, fold: Fold<State>, notFound: string): Promise<{ s: State; list: ListState }> => {
    const snap = await commandHandlerFor(ctx.store).load(streamId, fold);
    if (!snap?.state.exists) throw new DomainError('not_found', notFound);
    const list = await listFor(p, snap.state.listId).catch(() => { throw new DomainError('not_found', notFound); });
    return { s: snap.state, list };
  };

  /**
   * Disconnect the list's sync: SCIM's tokens revoked, or Entra's secret dropped; the people stay.
   * Returns how many tokens were revoked and the position of the disconnection.
   */
  const disconnectSync = async (list: ListState, c: CommandContext): Promise<{ revokedTokens: number; position: number | null }> => {
    if (!list.sync) throw new DomainError('conflict', 'no sync is connected on this list');
    const provider = list.sync.provider;
    const revoked = provider === 'scim' ? (await handleCommand(ctx.store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, c)).events.length : 0;
    const res = await handleCommand(ctx.store, streams.list(list.listId), listDecider, { type: provider === 'scim' ? 'DisconnectScim' : 'DisconnectEntra' }, c);
    if (provider === 'entra') await ctx.entra.setSecret(list.listId, null).catch(() => {});
    return { revokedTokens: revoked, position: res.position };
  };

  /** a list that may take new data: not deleted (archived) */
  const writable = (list: ListState): ListState => {
    if (list.archived) throw new DomainError('conflict', 'this list was deleted (archived): it takes no new data');
    return list;
  };

  return { cmd, consistent, projectedToHead, listFor, inList, orgPlan, gate, listView, writable, disconnectSync };
}
