/** POST / PUT / PATCH / DELETE of Users or Groups: the same handler shape for both resource types. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ResourceKind } from '../context.ts';
import { idParam, projectionOf, queryOf, sendResource, str } from '../http.ts';

export function registerWrites(app: FastifyInstance, type: ResourceKind): void {
  const handler = (withId: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const proj = projectionOf(queryOf(req));
    const id = withId ? idParam(req) : undefined;
    const { status, out, schema } = await app.scim.write(req.scimCall!, req.method, type, id, req.body, str(req.headers['if-match']));
    if (status === 204 || !out.resource) return reply.status(204).send();
    // Group PATCH answers 204 (what Entra expects), unless the client asked for attributes
    if (type === 'Groups' && req.method === 'PATCH' && proj.attributes === undefined && proj.excludedAttributes === undefined) {
      const version = (out.resource.meta as { version?: string } | undefined)?.version;
      if (version) reply.header('ETag', version);
      return reply.status(204).send();
    }
    return sendResource(reply, proj, out.resource, status, schema);
  };
  app.post(`/${type}`, handler(false));
  app.put(`/${type}/:id`, handler(true));
  app.patch(`/${type}/:id`, handler(true));
  app.delete(`/${type}/:id`, handler(true));
}
