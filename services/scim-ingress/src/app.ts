/**
 * The SCIM ingress: SCIM 2.0 for identity providers at /scim/v2/lists/{listId}, a tree of plugins
 * over one ScimContext (context.ts, decorated as `scim`): the scope (auth, rate limit, list,
 * errors), discovery, users, groups, search and bulk.
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { randomUUID } from 'node:crypto';
import { clientErrors, frameworkErrors } from '@muster/http';
import { InvalidFilterError } from '@muster/scim';
import { ScimContext, type ScimIngressOptions } from './context.ts';
import { bulkRoutes } from './plugins/bulk.ts';
import { discoveryRoutes } from './plugins/discovery.ts';
import { groupRoutes } from './plugins/groups.ts';
import { scimScope } from './plugins/scope.ts';
import { searchRoutes } from './plugins/search.ts';
import { userRoutes } from './plugins/users.ts';

export { BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, SCIM_CONTENT_TYPE, SEARCH_REQUEST_SCHEMA } from './http.ts';
export { ScimContext, type Call, type ScimIngressOptions } from './context.ts';

/** The SCIM ingress as a plugin, mounted at /scim/v2/lists/:listId. */
export const scimIngressPlugin: FastifyPluginAsync<ScimIngressOptions> = async (app, opts) => {
  const ctx = await ScimContext.start(opts);
  app.addHook('onClose', async () => { await ctx.stop(); });
  await app.register(async (scim) => {
    scim.decorate('scim', ctx);
    await scim.register(scimScope);
    await scim.register(discoveryRoutes);
    await scim.register(userRoutes, { registerFastPath: opts.registerFastPath });
    await scim.register(groupRoutes);
    await scim.register(searchRoutes);
    await scim.register(bulkRoutes);
  }, { prefix: '/scim/v2/lists/:listId' });
};

/** The SCIM ingress app factory (tests use app.inject(); main.ts listens). */
export async function build(opts: ScimIngressOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, genReqId: () => randomUUID(), frameworkErrors, clientErrorHandler: clientErrors, bodyLimit: Math.max(opts.bodyLimit ?? 1_048_576, opts.bulkMaxPayloadSize ?? 4 * 1_048_576) });
  await app.register(scimIngressPlugin, opts);
  return app;
}

export { InvalidFilterError };
