import type { RebuildRequest } from '@muster/read-models';
import type { RebuildController } from './control.ts';
import { percentiles, type Projector } from './projector.ts';

/** lag percentiles on /healthz cover the most recent this many events */
const HEALTH_LAG_WINDOW = 1_000;

/** /healthz details of a projector (the same in this thread and in the projector's worker thread) */
export function projectorHealth(projector: Projector, head: number, rebuilds: RebuildController): Record<string, unknown> {
  const recent = projector.recentLags().slice(-HEALTH_LAG_WINDOW);
  const { p50, p99, max, count } = percentiles(recent);
  const current = Math.max(head, projector.currentPosition);
  return {
    position: projector.currentPosition, head: current, lagEvents: Math.max(0, current - projector.currentPosition),
    lastEventLagMs: projector.stats.lastEventLagMs,
    lagMs: { p50, p99, max, samples: count },
    error: projector.failed?.message ?? null,
    // stored events that failed their schema: skipped by the projections (count and the last one)
    invalidEvents: projector.projections.invalid,
    rebuild: rebuilds.status(),
  };
}

/** the answer to a request on the rebuild subject */
export async function answerRebuild(rebuilds: RebuildController, data: unknown): Promise<{ status: unknown; alreadyRunning: boolean }> {
  const req = (data ?? {}) as Partial<RebuildRequest>;
  // snapshots are the projector thread's (thread-worker.ts); a projector on this thread keeps none
  if (req.action === 'snapshot') return { status: null, alreadyRunning: false, snapshot: null, error: 'read-model snapshots are written by the projector thread of the embedded stack (npm start); this projector keeps none' } as never;
  if (req.action === 'start') {
    const { status, done, alreadyRunning } = rebuilds.start();
    return { status: req.wait ? await done : status, alreadyRunning };
  }
  return { status: rebuilds.status(), alreadyRunning: false };
}
