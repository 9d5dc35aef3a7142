/**
 * The install's own administration: who is calling, and the projection rebuild (it runs in the
 * projector, reached over the bus; install-wide owner only).
 *
 *   GET  /whoami
 *   POST /admin/projections/rebuild { wait? }    asks the projector to start (or run) a rebuild
 *   GET  /admin/projections/rebuild              status of the last rebuild
 *   POST /admin/read-models/snapshot             asks the projector thread to write a read-model snapshot now
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { BusNoRespondersError, BusTimeoutError } from '@muster/bus';
import { DomainError } from '@muster/domain';
import { HttpError } from '@muster/http';
import { PROJECTOR_REBUILD_SUBJECT, type RebuildRequest, type RebuildStatus } from '@muster/read-models';
import { requireRole } from '../auth.ts';
import * as R from '../responses.ts';

export const adminRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;

  api.get('/whoami', { schema: { tags: ['admin'], response: { 200: R.Principal } } }, async (req) => req.principal);

  const rebuildWait = ctx.rebuildWaitMs;
  const askProjector = async (request: RebuildRequest, timeoutMs: number) => {
    try {
      const res = await ctx.bus.request<{ status: RebuildStatus | null; alreadyRunning: boolean }>(PROJECTOR_REBUILD_SUBJECT, request, { timeoutMs });
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
      tags: ['admin'], response: { 200: R.RebuildStatus, 202: R.RebuildStatus }, body: z.object({ wait: z.boolean().default(false) }).default({ wait: false }),
      summary: 'Rebuild every read model from position 0 into fresh collections and switch over when caught up; queries keep answering meanwhile',
    },
  }, async (req, reply) => {
    installOwner(req.principal);
    const wait = req.body?.wait ?? false;
    const res = await askProjector({ action: 'start', wait }, wait ? rebuildWait : 10_000);
    if (wait && res.status?.state === 'failed') throw new HttpError(500, 'rebuild_failed', res.status.error ?? 'rebuild failed', { rebuild: res.status });
    return reply.status(wait ? 200 : 202).send({ ...res.status, alreadyRunning: res.alreadyRunning });
  });
  api.post('/admin/read-models/snapshot', {
    schema: { tags: ['admin'], response: { 200: R.SnapshotWritten }, summary: 'Write a snapshot of the read models now (embedded stack): the next start loads it and catches up from its checkpoint' },
  }, async (req) => {
    installOwner(req.principal);
    const res = (await askProjector({ action: 'snapshot' }, 120_000)) as unknown as { snapshot: Record<string, unknown> | null; error?: string };
    if (res.error) throw new HttpError(409, 'snapshots_unavailable', res.error);
    return { written: res.snapshot !== null, ...(res.snapshot ?? {}) };
  });
  api.get('/admin/projections/rebuild', { schema: { tags: ['admin'], response: { 200: R.RebuildStatus.nullable() }, summary: 'Status of the running or last projection rebuild' } }, async (req) => {
    installOwner(req.principal);
    const res = await askProjector({ action: 'status' }, 10_000);
    if (!res.status) throw new DomainError('not_found', 'no rebuild has run since the projector started');
    return res.status;
  });
  api.post('/admin/retention/run', {
    schema: { tags: ['admin'], response: { 200: R.RetentionRun }, summary: 'Run the erasure job now (install-wide owner): retention policies, deleted lists past their grace period' },
  }, async (req) => {
    installOwner(req.principal);
    return app.admin.retention.run();
  });
};
