/**
 * Auditor endpoints (owner or auditor role):
 *
 *   GET  /audit/events?listId=&personId=&type=&from=&to=   NDJSON, streamed, one event per line
 *   GET  /audit/head[?position=]                             { position, digest } (logDigest)
 *   GET  /audit/verify                                      walks the hash chain, first break
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { exportEvents, listsOfOrganisation, organisationStreams, toEnvelope, type AuditFilter } from '@muster/audit';
import { DomainError } from '@muster/domain';
import { logDigest, verifyLog, type EventStore, type LogDigest } from '@muster/event-store';
import { requireRole } from '../auth.ts';
import * as R from '../responses.ts';

const Time = z.string().datetime({ offset: true });
const AUDIT_ROLES = ['owner', 'auditor'] as const;

/**
 * The head digest, computed incrementally from the last one (the log is append-only), one
 * computation at a time however many callers ask.
 */
class HeadDigests {
  private last: LogDigest | null = null;
  private computing: Promise<LogDigest> | null = null;
  constructor(private readonly store: EventStore) {}

  async current(): Promise<LogDigest> {
    const upTo = await this.store.headPosition();
    const from = this.last && this.last.position <= upTo ? { from: this.last } : {};
    this.computing ??= logDigest(this.store, upTo, from).finally(() => { this.computing = null; });
    const d = await this.computing;
    if (!this.last || d.position >= this.last.position) this.last = d;
    return d;
  }
}

export const auditRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // the hash chain covers the stored form: verification and digests read it (`store` opens personal data)
  const { store, log } = app.admin;

  const EventsQuery = z.object({
    listId: z.string().min(1).max(100).optional(),
    personId: z.string().min(1).max(100).optional(),
    type: z.union([z.string().min(1).max(100), z.array(z.string().min(1).max(100)).max(50)]).optional().describe('event type; repeat for several'),
    from: Time.optional().describe('occurredAt at or after (RFC 3339)'),
    to: Time.optional().describe('occurredAt at or before (RFC 3339)'),
  });
  api.get('/audit/events', {
    schema: {
      tags: ['audit'], response: { 200: R.Ndjson }, querystring: EventsQuery,
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
    if (p.orgId === null) reply.header('x-muster-head-position', String(upTo)); // the install's position: not an organisation's
    return reply.send(Readable.from(lines(), { objectMode: false }));
  });

  // head digests are computed incrementally from the last one (the log is append-only); a digest
  // up to an explicit position is always recomputed from the start, which is what proves it
  const heads = new HeadDigests(log);
  api.get('/audit/head', {
    schema: {
      tags: ['audit'], response: { 200: R.AuditHead }, querystring: z.object({ position: z.coerce.number().int().min(-1).optional().describe('digest up to this position, recomputed from the start') }),
      summary: 'Current global position and a digest covering every event up to it (write it down; recompute later to prove nothing before it changed)',
    },
  }, async (req) => {
    const p = requireRole(req.principal, [...AUDIT_ROLES]);
    if (p.orgId !== null) {
      // an organisation sees its own streams only: the digest of its events, up to its latest one
      // (the install's positions and counts beyond them are not its business)
      const select = organisationStreams({ orgId: p.orgId, listIds: await listsOfOrganisation(store, p.orgId) });
      if (req.query.position !== undefined && req.query.position > await store.headPosition()) throw new DomainError('invalid', `position ${req.query.position} is past the head`);
      const d = await logDigest(log, req.query.position, { select });
      return { position: d.position, digest: d.digest, scope: 'organisation' };
    }
    if (req.query.position !== undefined) {
      const head = await store.headPosition();
      if (req.query.position > head) throw new DomainError('invalid', `position ${req.query.position} is past the head (${head})`);
      const d = await logDigest(log, req.query.position);
      return { position: d.position, digest: d.digest };
    }
    const d = await heads.current();
    return { position: d.position, digest: d.digest };
  });

  api.get('/audit/verify', { schema: { tags: ['audit'], response: { 200: R.AuditVerify }, summary: 'Walk the whole log and check every hash-chain link; reports the first break' } }, async (req) => {
    const p = requireRole(req.principal, [...AUDIT_ROLES]);
    if (p.orgId !== null) {
      const select = organisationStreams({ orgId: p.orgId, listIds: await listsOfOrganisation(store, p.orgId) });
      return { ...await verifyLog(log, { select }), scope: 'organisation' };
    }
    return verifyLog(log);
  });
};
