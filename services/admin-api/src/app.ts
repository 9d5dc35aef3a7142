import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Bus } from '@muster/bus';
import type { EventStore } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import { installJsonErrorHandler } from '@muster/http';
import { MappingClient } from '@muster/mapping-contract';
import { AdminAuth } from './auth.ts';
import { registerRoutes } from './routes.ts';

export interface AdminApiOptions {
  store: EventStore;
  readStore: ReadStore;
  bus: Bus;
  /** public base URL used to build SCIM base URLs, e.g. http://localhost:8080 */
  publicUrl: string;
  now?: () => Date;
  logger?: boolean | object;
  /** the install-wide admin token; see AdminAuth.bootstrap */
  adminToken?: string;
  /** called with a freshly generated bootstrap token (printed once by the launcher) */
  onGeneratedAdminToken?: (token: string) => void;
  /** how long query endpoints wait for the projection to reach a position (ms) */
  consistencyTimeoutMs?: number;
}

export interface AdminContext {
  store: EventStore;
  readStore: ReadStore;
  mapping: MappingClient;
  auth: AdminAuth;
  publicUrl: string;
  now: () => Date;
  newId: () => string;
  consistencyTimeoutMs: number;
}

/** The admin API as a plugin: the one-process launcher registers it beside the other services. */
export const adminApiPlugin: FastifyPluginAsync<AdminApiOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Muster admin API', version: '1.0.0', description: 'Master lists, SCIM connections, tokens, mappings, people and the provisioning log' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const auth = new AdminAuth(opts.store);
  const ctx: AdminContext = {
    store: opts.store, readStore: opts.readStore, mapping: new MappingClient(opts.bus), auth,
    publicUrl: opts.publicUrl.replace(/\/$/, ''), now: opts.now ?? (() => new Date()), newId: randomUUID,
    consistencyTimeoutMs: opts.consistencyTimeoutMs ?? 5_000,
  };
  await auth.start();
  const boot = await auth.bootstrap(opts.adminToken, ctx.now());
  if (boot.generated) opts.onGeneratedAdminToken?.(boot.generated);
  app.addHook('onClose', async () => { await auth.stop(); });

  await app.register(async (api) => {
    installJsonErrorHandler(api);
    api.addHook('onRequest', auth.hook);
    await registerRoutes(api.withTypeProvider<ZodTypeProvider>(), ctx);
    await (await import('./audit-routes.ts')).registerAuditRoutes(api.withTypeProvider<ZodTypeProvider>(), ctx, { bus: opts.bus });
  }, { prefix: '/api/v1' });
};

/** The admin API app factory (tests use app.inject(); main.ts listens). */
export async function build(opts: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, genReqId: () => randomUUID() });
  await app.register(adminApiPlugin, opts);
  return app;
}
