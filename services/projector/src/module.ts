import type { ServiceModule } from '@muster/runtime';
import { projectionLag } from '@muster/telemetry';
import { Projector } from './projector.ts';

export const projectorModule: ServiceModule = {
  name: 'projector',
  async start({ adapters }) {
    const lag = projectionLag('muster.projector');
    const projector = new Projector({ store: adapters.store, readStore: adapters.readStore, onLag: (ms) => lag.record(ms, { projection: 'main' }) });
    const startHead = await adapters.store.headPosition();
    await projector.start();
    let head = startHead;
    const timer = setInterval(() => { adapters.store.headPosition().then((h) => { head = h; }, () => {}); }, 1_000);
    timer.unref();
    return {
      name: 'projector',
      // ready once it has caught up with the log as it was at start
      ready: () => !projector.failed && projector.currentPosition >= startHead,
      health: () => ({
        position: projector.currentPosition, head, lagEvents: Math.max(0, head - projector.currentPosition),
        lastEventLagMs: projector.stats.lastEventLagMs, error: projector.failed?.message ?? null,
      }),
      stop: async () => { clearInterval(timer); await projector.stop(); },
    };
  },
};
