import type { Bus, BusSubscription } from '@muster/bus';
import type { ProjectionHost, ServiceInstance, ServiceModule } from '@muster/runtime';
import { projectionLag } from '@muster/telemetry';
import { PROJECTION, PROJECTOR_REBUILD_SUBJECT } from '@muster/read-models';
import { RebuildController } from './control.ts';
import { answerRebuild, projectorHealth } from './health.ts';
import { Projector } from './projector.ts';

export const projectorModule: ServiceModule = {
  name: 'projector',
  async start({ adapters }) {
    const lag = projectionLag('muster.projector');
    if (adapters.projection) return remoteProjectorInstance(adapters.projection, adapters.bus, (ms) => lag.record(ms, { projection: PROJECTION }));
    const projector = new Projector({ store: adapters.store, readStore: adapters.readStore, onLag: (ms) => lag.record(ms, { projection: PROJECTION }) });
    const startHead = await adapters.store.headPosition();
    await projector.start();
    let head = startHead;
    const timer = setInterval(() => { adapters.store.headPosition().then((h) => { head = h; }, () => {}); }, 1_000);
    timer.unref();

    const rebuilds = new RebuildController({ store: adapters.store, readStore: adapters.readStore, live: projector });
    let sub: BusSubscription | null = await adapters.bus.subscribe(PROJECTOR_REBUILD_SUBJECT, async (msg) => {
      msg.respond?.(await answerRebuild(rebuilds, msg.data));
    }, { queue: 'projector' });

    const instance: ServiceInstance & { projector: Projector } = {
      name: 'projector',
      /** the projector itself (benchmarks and tests read its stats) */
      projector,
      // ready once it has caught up with the log as it was at start
      ready: () => !projector.failed && projector.currentPosition >= startHead,
      health: () => projectorHealth(projector, head, rebuilds),
      figures: () => {
        const current = Math.max(head, projector.currentPosition);
        return { lagEvents: Math.max(0, current - projector.currentPosition), lastEventLagMs: projector.stats.lastEventLagMs };
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

/**
 * The projector service when the projector runs in another thread (see thread.ts): readiness and
 * health from what it last reported, rebuild requests on the bus forwarded to it, its lag samples
 * recorded in this thread's OpenTelemetry metric.
 */
async function remoteProjectorInstance(host: ProjectionHost, bus: Bus, recordLag: (ms: number) => void): Promise<ServiceInstance> {
  const stopLag = host.onLagSample(recordLag);
  let sub: BusSubscription | null = await bus.subscribe(PROJECTOR_REBUILD_SUBJECT, async (msg) => {
    msg.respond?.(await host.rebuild(msg.data ?? {}));
  }, { queue: 'projector' });
  const instance: ServiceInstance & { projection: ProjectionHost } = {
    name: 'projector',
    projection: host,
    ready: () => host.status().ready,
    health: () => ({ thread: 'worker', ...host.status().health }),
    figures: () => {
      const h = host.status().health as { lagEvents?: number; lastEventLagMs?: number | null };
      return { lagEvents: h.lagEvents, lastEventLagMs: h.lastEventLagMs };
    },
    stop: async () => {
      stopLag();
      await sub?.unsubscribe().catch(() => {});
      sub = null;
    },
  };
  return instance;
}

/**
 * Lag samples and read-your-writes of a running projector service, wherever its projector runs
 * (benchmarks and tests use it).
 */
export function projectionOf(instance: ServiceInstance | undefined): Pick<ProjectionHost, 'onLagSample' | 'waitFor'> | null {
  const p = projectorOf(instance);
  if (p) return { onLagSample: (l) => p.onLagSample((ms) => l(ms)), waitFor: (pos, t) => p.waitFor(pos, t) };
  const host = (instance as { projection?: ProjectionHost } | undefined)?.projection;
  return host ?? null;
}

/** the projector behind a running projector service instance, if that is what it is */
export function projectorOf(instance: ServiceInstance | undefined): Projector | null {
  const p = (instance as { projector?: unknown } | undefined)?.projector;
  return p instanceof Projector ? p : null;
}
