import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Bus } from '@muster/bus';
import type { EventStore } from '@muster/event-store';
import type { PersonalDataVault } from '@muster/personal-data';
import type { ReadStore } from '@muster/read-store';
import { installJsonBodyParser, installJsonErrorHandler } from '@muster/http';
import { EntraSyncClient } from '@muster/entra-sync-contract';
import { MappingClient } from '@muster/mapping-contract';
import { ProjectionWaiter } from '@muster/read-models';
import { AdminAuth } from './auth.ts';
import { requireResponseSchemas, responseSerializer } from './responses.ts';
import { scimOpenApi } from '@muster/scim';
import { type AdminContext } from './context.ts';
import { adminRoutes } from './routes/admin.ts';
import { auditRoutes } from './routes/audit.ts';
import { changesetRoutes } from './routes/changesets.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { importRoutes } from './routes/imports.ts';
import { ImportRunner } from './imports/runner.ts';
import { ChangesetRunner } from './changesets/runner.ts';
import { fieldRoutes } from './routes/fields.ts';
import { groupRoutes } from './routes/groups.ts';
import { listRoutes } from './routes/lists.ts';
import { mappingRoutes } from './routes/mappings.ts';
import { organisationRoutes } from './routes/organisations.ts';
import { peopleRoutes } from './routes/people.ts';
import { provisioningLogRoutes } from './routes/provisioning-log.ts';
import { syncRoutes } from './routes/sync.ts';
import { entraRoutes } from './routes/entra.ts';
import { adminTokenRoutes } from './routes/admin-tokens.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { RetentionJob } from './retention.ts';

export interface AdminApiOptions {
  store: EventStore;
  /** the log as stored (personal data sealed) for `audit verify` and the head digest; default: `store` */
  log?: EventStore;
  /** the personal-data vault: erasure deletes data keys there (null or absent: personal data is in clear) */
  vault?: PersonalDataVault | null;
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
  /**
   * Given, the bootstrap of the install-wide admin token (MUSTER_ADMIN_TOKEN, or a generated one)
   * is handed over to run later, once the server listens, so a generated token is never printed by
   * (or lost to) a start that fails; otherwise it runs while the plugin registers.
   */
  deferBootstrap?: (run: () => Promise<void>) => void;
  /** given, receives the check of an operator's Authorization header (see AdminAuth.isOperator) */
  exposeOperatorCheck?: (check: (ip: string, authorization: unknown) => Promise<boolean>) => void;
  /** how often the erasure job runs (ms; absent: only on demand) */
  retentionTickMs?: number;
  /** how long query endpoints wait for the projection to reach a position (ms) */
  consistencyTimeoutMs?: number;
  /** how long POST /admin/projections/rebuild with wait=true waits (ms, default 10 min) */
  rebuildWaitMs?: number;
  /** how long a changeset apply or rollback request waits for its run before answering 202 (ms, default 2 s) */
  changesetWaitMs?: number;
  /** failed authentications a client address may make per minute before it is answered 429 */
  authFailuresPerMinute?: number;
  /** how often to look for changeset runs another process left unfinished (ms, default 30 s; 0: only at start) */
  changesetSweepMs?: number;
  /** where uploaded CSV files are kept until their import is applied (default: a folder in the OS's temporary directory) */
  importDir?: string;
  /** the largest CSV file an import accepts (bytes, default 100 MB) */
  importMaxBytes?: number;
}

export type { AdminContext } from './context.ts';

/** The admin API as a plugin: the one-process launcher registers it beside the other services. */
export const adminApiPlugin: FastifyPluginAsync<AdminApiOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(responseSerializer(() => root.log));
  const scim = scimOpenApi();
  await app.register(swagger, {
    openapi: {
      info: { title: 'Muster admin API and SCIM endpoints', version: '1.0.0', description: 'Master lists, SCIM connections, tokens, mappings, people, imports, changesets, the provisioning log and the audit trail (admin token); and the SCIM 2.0 endpoints identity providers call (a list\'s SCIM token)' },
      servers: [{ url: opts.publicUrl.replace(/\/$/, ''), description: 'this Muster (MUSTER_PUBLIC_URL)' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an admin token (mat_…)' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    // the SCIM endpoints (served by scim-ingress) described beside the admin API
    transformObject: (doc) => {
      const o = ('openapiObject' in doc ? doc.openapiObject : doc) as Record<string, any>;
      return {
        ...o,
        paths: { ...o.paths, ...scim.paths },
        components: { ...o.components, schemas: { ...o.components?.schemas, ...scim.schemas }, securitySchemes: { ...o.components?.securitySchemes, ...scim.securitySchemes } },
      } as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const auth = new AdminAuth(opts.store, opts.readStore, opts.now, opts.authFailuresPerMinute ?? 30);
  const mapping = new MappingClient(opts.bus);
  const entra = new EntraSyncClient(opts.bus);
  const projection = new ProjectionWaiter(opts.readStore, { timeoutMs: opts.consistencyTimeoutMs ?? 5_000 });
  const ctx: AdminContext = {
    store: opts.store, log: opts.log ?? opts.store, vault: opts.vault ?? null, readStore: opts.readStore, bus: opts.bus, mapping, entra, auth,
    projection,
    publicUrl: opts.publicUrl.replace(/\/$/, ''), now: opts.now ?? (() => new Date()), newId: randomUUID,
    rebuildWaitMs: opts.rebuildWaitMs ?? 10 * 60_000,
    changesetWaitMs: opts.changesetWaitMs ?? 2_000,
    changesets: new ChangesetRunner({
      store: opts.store, readStore: opts.readStore, now: opts.now ?? (() => new Date()), newId: randomUUID,
      log: (message, err) => root.log.error({ err }, message), sweepMs: opts.changesetSweepMs ?? 30_000,
      projectedTo: (position, timeoutMs) => projection.waitFor(position, timeoutMs),
    }),
    importMaxBytes: opts.importMaxBytes ?? 100 * 1024 * 1024,
    retention: new RetentionJob({
      store: opts.store, readStore: opts.readStore, vault: opts.vault ?? null, projection, now: opts.now ?? (() => new Date()), newId: randomUUID,
      log: (line) => root.log.info(line),
    }),
    imports: new ImportRunner({
      store: opts.store, readStore: opts.readStore, mapping, dir: opts.importDir ?? join(tmpdir(), 'muster-imports'),
      now: opts.now ?? (() => new Date()), newId: randomUUID, log: (message, err) => root.log.error({ err }, message),
      projectedTo: (position, timeoutMs) => projection.waitFor(position, timeoutMs),
    }),
  };
  await auth.start();
  opts.exposeOperatorCheck?.((ip, authorization) => auth.isOperator(ip, authorization));
  const bootstrap = async () => {
    const boot = await auth.bootstrap(opts.adminToken, ctx.now());
    if (boot.generated) opts.onGeneratedAdminToken?.(boot.generated);
  };
  if (opts.deferBootstrap) opts.deferBootstrap(bootstrap);
  else await bootstrap();
  app.addHook('onReady', async () => { ctx.changesets.start(); ctx.imports.start(); if (opts.retentionTickMs) ctx.retention.schedule(opts.retentionTickMs); });
  app.addHook('onClose', async () => { await ctx.retention.stop(); await ctx.imports.stop(); await ctx.changesets.stop(); await auth.stop(); });

  await app.register(async (api) => {
    api.decorate('admin', ctx);
    installJsonErrorHandler(api);
    installJsonBodyParser(api);
    api.addHook('onRoute', requireResponseSchemas);
    api.addHook('onRequest', auth.hook);
    // one plugin per OpenAPI tag
    for (const routes of [adminRoutes, adminTokenRoutes, organisationRoutes, listRoutes, fieldRoutes, peopleRoutes, sessionRoutes, changesetRoutes, importRoutes, syncRoutes, entraRoutes, tokenRoutes, mappingRoutes, groupRoutes, provisioningLogRoutes, auditRoutes]) {
      await api.register(routes);
    }
  }, { prefix: '/api/v1' });
};

/** The admin API app factory (tests use app.inject(); main.ts listens). */
export async function build(opts: AdminApiOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, genReqId: () => randomUUID() });
  await app.register(adminApiPlugin, opts);
  return app;
}
