import type { BusSubscription } from '@muster/bus';
import type { ServiceInstance, ServiceModule } from '@muster/runtime';
import { projectionLag } from '@muster/telemetry';
import { PROJECTION } from './collections.ts';
import { PROJECTOR_REBUILD_SUBJECT, RebuildController, type RebuildRequest } from './control.ts';
import { Projector, percentiles } from './projector.ts';

/** lag percentiles on /healthz cover the most recent this many events */
const HEALTH_LAG_WINDOW = 1_000;

export const projectorModule: ServiceModule = {
  name: 'projector',
  async start({ adapters }) {
    const lag = projectionLag('muster.projector');
    const projector = new Projector({ store: adapters.store, readStore: adapters.readStore, onLag: (ms) => lag.record(ms, { projection: PROJECTION }) });
    const startHead = await adapters.store.headPosition();
    await projector.start();
    let head = startHead;
    const timer = setInterval(() => { adapters.store.headPosition().then((h) => { head = h; }, () => {}); }, 1_000);
    timer.unref();

    const rebuilds = new RebuildController({ store: adapters.store, readStore: adapters.readStore, live: projector });
    let sub: BusSubscription | null = await adapters.bus.subscribe(PROJECTOR_REBUILD_SUBJECT, async (msg) => {
      const req = (msg.data ?? {}) as Partial<RebuildRequest>;
      if (req.action === 'start') {
        const { status, done, alreadyRunning } = rebuilds.start();
        msg.respond?.({ status: req.wait ? await done : status, alreadyRunning });
      } else {
        msg.respond?.({ status: rebuilds.status(), alreadyRunning: false });
      }
    }, { queue: 'projector' });

    const instance: ServiceInstance & { projector: Projector } = {
      name: 'projector',
      /** the projector itself (benchmarks and tests read its stats) */
      projector,
      // ready once it has caught up with the log as it was at start
      ready: () => !projector.failed && projector.currentPosition >= startHead,
      health: () => {
        const recent = projector.recentLags().slice(-HEALTH_LAG_WINDOW);
        const { p50, p99, max, count } = percentiles(recent);
        const current = Math.max(head, projector.currentPosition);
        return {
          position: projector.currentPosition, head: current, lagEvents: Math.max(0, current - projector.currentPosition),
          lastEventLagMs: projector.stats.lastEventLagMs,
          lagMs: { p50, p99, max, samples: count },
          error: projector.failed?.message ?? null,
          rebuild: rebuilds.status(),
        };
      },
      stop: async () => {
        clearInterval(timer);
        await sub?.unsubscribe().catch(() => {});
        sub = null;
        await rebuilds.stop();
        await projector.stop();
      },
    };
    return instance;
  },
};

/** the projector behind a running projector service instance, if that is what it is */
export function projectorOf(instance: ServiceInstance | undefined): Projector | null {
  const p = (instance as { projector?: unknown } | undefined)?.projector;
  return p instanceof Projector ? p : null;
}
