/**
 * Auditor endpoints (owner or auditor role) and the projection rebuild endpoint (install-wide owner):
 *
 *   GET  /audit/events?listId=&personId=&type=&from=&to=   NDJSON, streamed, one event per line
 *   GET  /audit/head[?position=]                             { position, digest } (logDigest)
 *   GET  /audit/verify                                      walks the hash chain, first break
 *   POST /admin/projections/rebuild { wait? }               asks the projector (over the bus)
 *   GET  /admin/projections/rebuild                         status of the last rebuild
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BusNoRespondersError, BusTimeoutError, type Bus } from '@muster/bus';
import { DomainError } from '@muster/domain';
import { logDigest, verifyLog, type LogDigest } from '@muster/event-store';
import { HttpError } from '@muster/http';
import { exportEvents, listsOfOrganisation, toEnvelope, type AuditFilter } from '@muster/audit';
import { PROJECTOR_REBUILD_SUBJECT, type RebuildRequest, type RebuildStatus } from '@muster/read-models';
import type { AdminContext } from './app.ts';
import { requireRole } from './auth.ts';

type App = FastifyInstance<any, any, any, any, ZodTypeProvider>;

export interface AuditRouteOptions {
  bus: Bus;
  /** how long POST /admin/projections/rebuild with wait=true waits (ms, default 10 min) */
  rebuildWaitMs?: number;
}

const Time = z.string().datetime({ offset: true });
const AUDIT_ROLES = ['owner', 'auditor'] as const;

export async function registerAuditRoutes(api: App, ctx: AdminContext, opts: AuditRouteOptions): Promise<void> {
  const { store } = ctx;

  // ---------- the event stream ----------
  const EventsQuery = z.object({
    listId: z.string().min(1).max(100).optional(),
    personId: z.string().min(1).max(100).optional(),
    type: z.union([z.string().min(1).max(100), z.array(z.string().min(1).max(100)).max(50)]).optional().describe('event type; repeat for several'),
    from: Time.optional().describe('occurredAt at or after (RFC 3339)'),
    to: Time.optional().describe('occurredAt at or before (RFC 3339)'),
  });
  api.get('/audit/events', {
    schema: {
      tags: ['audit'], querystring: EventsQuery,
      summary: 'The event log as NDJSON (application/x-ndjson), one event per line with its envelope and metadata (hash chain included)',
    },
  }, async (req, reply) => {
    const p = requireRole(req.principal, [...AUDIT_ROLES]);
    const q = req.query;
    const filter: AuditFilter = {
      listId: q.listId, personId: q.personId, from: q.from, to: q.to,
      types: q.type === undefined ? undefined : Array.isArray(q.type) ? q.type : [q.type],
    };
    if (p.orgId !== null) {
      const listIds = await listsOfOrganisation(store, p.orgId);
      if (q.listId && !listIds.has(q.listId)) throw new DomainError('not_found', 'list not found');
      filter.scope = { orgId: p.orgId, listIds };
    }
    const upTo = await store.headPosition();
    async function* lines() {
      let buf = '';
      for await (const e of exportEvents(store, filter, { upTo })) {
        buf += `${JSON.stringify(toEnvelope(e))}\n`;
        if (buf.length >= 64 * 1024) { yield buf; buf = ''; }
      }
      if (buf) yield buf;
    }
    reply.header('content-type', 'application/x-ndjson; charset=utf-8');
    reply.header('x-muster-head-position', String(upTo));
    return reply.send(Readable.from(lines(), { objectMode: false }));
  });

  // ---------- tamper evidence ----------
  // head digests are computed incrementally from the last one (the log is append-only); a digest
  // up to an explicit position is always recomputed from the start, which is what proves it
  let lastHead: LogDigest | null = null;
  let computing: Promise<LogDigest> | null = null;
  api.get('/audit/head', {
    schema: {
      tags: ['audit'], querystring: z.object({ position: z.coerce.number().int().min(-1).optional().describe('digest up to this position, recomputed from the start') }),
      summary: 'Current global position and a digest covering every event up to it (write it down; recompute later to prove nothing before it changed)',
    },
  }, async (req) => {
    requireRole(req.principal, [...AUDIT_ROLES]);
    if (req.query.position !== undefined) {
      const head = await store.headPosition();
      if (req.query.position > head) throw new DomainError('invalid', `position ${req.query.position} is past the head (${head})`);
      const d = await logDigest(store, req.query.position);
      return { position: d.position, digest: d.digest };
    }
    const upTo = await store.headPosition();
    computing ??= logDigest(store, upTo, lastHead && lastHead.position <= upTo ? { from: lastHead } : {}).finally(() => { computing = null; });
    const d = await computing;
    if (!lastHead || d.position >= lastHead.position) lastHead = d;
    return { position: d.position, digest: d.digest };
  });

  api.get('/audit/verify', { schema: { tags: ['audit'], summary: 'Walk the whole log and check every hash-chain link; reports the first break' } }, async (req) => {
    requireRole(req.principal, [...AUDIT_ROLES]);
    return verifyLog(store);
  });

  // ---------- projection rebuild (runs in the projector, reached over the bus) ----------
  const rebuildWait = opts.rebuildWaitMs ?? 10 * 60_000;
  const askProjector = async (request: RebuildRequest, timeoutMs: number) => {
    try {
      const res = await opts.bus.request<{ status: RebuildStatus | null; alreadyRunning: boolean }>(PROJECTOR_REBUILD_SUBJECT, request, { timeoutMs });
      return res.data;
    } catch (err) {
      if (err instanceof BusNoRespondersError) throw new HttpError(503, 'projector_unavailable', 'no projector is reachable to run the rebuild');
      if (err instanceof BusTimeoutError) throw new HttpError(504, 'projector_timeout', `the projector did not answer within ${timeoutMs} ms`);
      throw err;
    }
  };
  const installOwner = (p: Parameters<typeof requireRole>[0]) => {
    const principal = requireRole(p, ['owner']);
    if (principal.orgId !== null) throw new HttpError(403, 'forbidden', 'rebuilding projections is for the install-wide owner');
    return principal;
  };
  api.post('/admin/projections/rebuild', {
    schema: {
      tags: ['admin'], body: z.object({ wait: z.boolean().default(false) }).default({ wait: false }),
      summary: 'Rebuild every read model from position 0 into fresh collections and switch over when caught up; queries keep answering meanwhile',
    },
  }, async (req, reply) => {
    installOwner(req.principal);
    const wait = req.body?.wait ?? false;
    const res = await askProjector({ action: 'start', wait }, wait ? rebuildWait : 10_000);
    if (wait && res.status?.state === 'failed') throw new HttpError(500, 'rebuild_failed', res.status.error ?? 'rebuild failed', { rebuild: res.status });
    return reply.status(wait ? 200 : 202).send({ ...res.status, alreadyRunning: res.alreadyRunning });
  });
  api.get('/admin/projections/rebuild', { schema: { tags: ['admin'], summary: 'Status of the running or last projection rebuild' } }, async (req) => {
    installOwner(req.principal);
    const res = await askProjector({ action: 'status' }, 10_000);
    if (!res.status) throw new DomainError('not_found', 'no rebuild has run since the projector started');
    return res.status;
  });
}
