/** Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas; /Me is not supported. */
import type { FastifyInstance } from 'fastify';
import { ScimError, buildListResponse, buildResourceTypes, buildSchemas, buildServiceProviderConfig } from '@muster/scim';

export async function discoveryRoutes(app: FastifyInstance) {
  const ctx = app.scim;
  const describeList = async (listId: string) => ({ baseUrl: ctx.baseUrl(listId), userExtensions: await ctx.customExtensions(listId) });

  app.get('/ServiceProviderConfig', async (req) => buildServiceProviderConfig({
    baseUrl: ctx.baseUrl(req.scimList!.listId), filter: { maxResults: ctx.maxResults }, etag: true, sort: true, patch: true,
    bulk: { supported: true, maxOperations: ctx.bulkMaxOperations, maxPayloadSize: ctx.bulkMaxPayloadSize },
  }));
  app.get('/ResourceTypes', async (req) => {
    const r = buildResourceTypes(await describeList(req.scimList!.listId));
    return buildListResponse(r, r.length);
  });
  app.get<{ Params: { name: string } }>('/ResourceTypes/:name', async (req) => {
    const r = buildResourceTypes(await describeList(req.scimList!.listId)).find((t) => t.name.toLowerCase() === req.params.name.toLowerCase());
    if (!r) throw new ScimError({ status: 404, detail: `unknown resource type ${req.params.name.slice(0, 200)}` });
    return r;
  });
  app.get('/Schemas', async (req) => {
    const s = buildSchemas(await describeList(req.scimList!.listId));
    return buildListResponse(s, s.length);
  });
  app.get<{ Params: { urn: string } }>('/Schemas/:urn', async (req) => {
    const s = buildSchemas(await describeList(req.scimList!.listId)).find((x) => x.id.toLowerCase() === req.params.urn.toLowerCase());
    if (!s) throw new ScimError({ status: 404, detail: `unknown schema ${req.params.urn.slice(0, 200)}` });
    return s;
  });
  app.all('/Me', async () => { throw new ScimError({ status: 501, detail: '/Me is not supported: tokens identify a list, not a user' }); });
}
