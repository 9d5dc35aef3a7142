import type { ServiceModule } from '@muster/runtime';
import { scimIngressPlugin } from './app.ts';
import { loadScimIngressConfig } from './config.ts';
import { recogniseIdp } from './idp.ts';

const KNOWN_IDPS = new Set(['Okta', 'Microsoft Entra ID', 'PingOne', 'OneLogin', 'JumpCloud', 'Google Workspace', 'unknown']);
const RESOURCES = new Map(['Users', 'Groups', 'Bulk', 'Me', 'ServiceProviderConfig', 'Schemas', 'ResourceTypes'].map((r) => [r.toLowerCase(), r]));
/** the IdP as a metric label: the ones the provisioning log recognises, every other User-Agent as "other" (bounded labels) */
const idpLabel = (ua: string | undefined) => { const idp = recogniseIdp(ua); return KNOWN_IDPS.has(idp) ? idp : 'other'; };
/** the SCIM endpoint a URL names, as a metric label */
const resourceLabel = (url: string | undefined) => RESOURCES.get(/^\/scim\/v2\/lists\/[^/?]+\/([A-Za-z]+)/.exec(url ?? '')?.[1]?.toLowerCase() ?? '') ?? 'other';

export const scimIngressModule: ServiceModule = {
  name: 'scim-ingress',
  async start({ adapters, config, metrics }) {
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
            http.addFastPath((req, res) => {
              const done = f(req, res);
              if (done) { fastAnswers++; metrics.scimRequest(idpLabel(req.headers['user-agent']), req.method ?? 'GET', resourceLabel(req.url), res.statusCode); }
              return done;
            });
          },
        });
        app.addHook('onResponse', (req, reply, done) => {
          if (req.url.startsWith('/scim/')) metrics.scimRequest(idpLabel(req.headers['user-agent']), req.method, resourceLabel(req.url), reply.statusCode);
          done();
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
