import type { ServiceModule } from '@muster/runtime';
import { scimIngressPlugin } from './app.ts';
import { loadScimIngressConfig } from './config.ts';

export const scimIngressModule: ServiceModule = {
  name: 'scim-ingress',
  async start({ adapters, config }) {
    const own = loadScimIngressConfig().service;
    let ready = false;
    return {
      name: 'scim-ingress',
      mount: async (app) => {
        await app.register(scimIngressPlugin, {
          store: adapters.store, readStore: adapters.readStore, bus: adapters.bus, publicUrl: config.publicUrl,
          rateLimit: own.MUSTER_SCIM_RATE_LIMIT, rateBurst: own.MUSTER_SCIM_RATE_BURST ?? 2 * own.MUSTER_SCIM_RATE_LIMIT,
          bodyLimit: own.MUSTER_SCIM_MAX_BODY_BYTES, bulkMaxOperations: own.MUSTER_SCIM_BULK_MAX_OPERATIONS,
          bulkMaxPayloadSize: own.MUSTER_SCIM_BULK_MAX_PAYLOAD_BYTES, maxResults: own.MUSTER_SCIM_MAX_RESULTS,
        });
        app.addHook('onReady', async () => { ready = true; });
      },
      ready: () => ready,
      stop: async () => { ready = false; },
    };
  },
};
