import type { ServiceModule } from '@muster/runtime';
import { MappingService } from './service.ts';

export const mappingModule: ServiceModule = {
  name: 'mapping',
  async start({ adapters, config }) {
    const svc = new MappingService({ store: adapters.store, readStore: adapters.readStore, bus: adapters.bus, remapWaitMs: config.remapWaitMs });
    await svc.start();
    return {
      name: 'mapping', ready: () => svc.ready, stop: () => svc.stop(),
      health: () => ({
        groupRuleFailures: svc.groups.failures, lastGroupRuleError: svc.groups.lastError,
        owedRemapsFinished: svc.remaps.finished, remapFailures: svc.remaps.failures, lastRemapError: svc.remaps.lastError,
      }),
      figures: () => ({ remaps: { ...svc.remapRuns } }),
    };
  },
};
