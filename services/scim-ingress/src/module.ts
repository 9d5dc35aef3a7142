import type { ServiceModule } from '@muster/runtime';
import { scimIngressPlugin } from './app.ts';

export const scimIngressModule: ServiceModule = {
  name: 'scim-ingress',
  async start({ adapters, config }) {
    let ready = false;
    return {
      name: 'scim-ingress',
      mount: async (app) => {
        await app.register(scimIngressPlugin, { store: adapters.store, readStore: adapters.readStore, bus: adapters.bus, publicUrl: config.publicUrl });
        app.addHook('onReady', async () => { ready = true; });
      },
      ready: () => ready,
      stop: async () => { ready = false; },
    };
  },
};
