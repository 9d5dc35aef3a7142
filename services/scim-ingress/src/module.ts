import type { ServiceModule } from '@muster/runtime';
import { scimIngressPlugin } from './app.ts';
import { loadScimIngressConfig } from './config.ts';

export const scimIngressModule: ServiceModule = {
  name: 'scim-ingress',
  async start({ adapters, config }) {
    const own = loadScimIngressConfig().service;
    let ready = false;
    let fastPathsOn = false;
    let fastAnswers = 0;
    return {
      name: 'scim-ingress',
      mount: async (app, http) => {
        await app.register(scimIngressPlugin, {
          store: adapters.store, readStore: adapters.readStore, bus: adapters.bus, publicUrl: config.publicUrl,
          authFailuresPerMinute: config.authFailuresPerMinute, rateLimit: own.MUSTER_SCIM_RATE_LIMIT, rateBurst: own.MUSTER_SCIM_RATE_BURST ?? 2 * own.MUSTER_SCIM_RATE_LIMIT,
          bodyLimit: own.MUSTER_SCIM_MAX_BODY_BYTES, bulkMaxOperations: own.MUSTER_SCIM_BULK_MAX_OPERATIONS,
          bulkMaxPayloadSize: own.MUSTER_SCIM_BULK_MAX_PAYLOAD_BYTES, maxResults: own.MUSTER_SCIM_MAX_RESULTS,
          registerFastPath: (f) => {
            fastPathsOn = http.fastPathsEnabled;
            http.addFastPath((req, res) => { const done = f(req, res); if (done) fastAnswers++; return done; });
          },
        });
        app.addHook('onReady', async () => { ready = true; });
      },
      ready: () => ready,
      // requests answered before Fastify routed them (fast-path.ts), or off
      health: () => ({ fastPath: fastPathsOn ? { answered: fastAnswers } : 'off' }),
      stop: async () => { ready = false; },
    };
  },
};
