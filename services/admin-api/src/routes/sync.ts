/** Connecting a list to SCIM provisioning (Entra directory sync: entra.ts). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UniqueIdentifier, streams } from '@muster/contracts';
import { DomainError, handleCommand, listDecider, tokensDecider } from '@muster/domain';
import { isKnownSource } from '@muster/mapping-contract';
import { helpers, ListParams, scimBaseUrl } from '../context.ts';
import { requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const syncRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store } = ctx;
  const { cmd, listFor, gate, disconnectSync } = helpers(ctx);

  // SCIM: the IdP pushes to the list's SCIM base URL with the list's tokens
  api.get('/lists/:id/sync/scim', { schema: { tags: ['sync'], response: { 200: R.SyncView }, summary: "The list's SCIM connection", params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    return { connected: list.sync?.provider === 'scim', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, scimBaseUrl: list.sync?.provider === 'scim' ? scimBaseUrl(ctx, list.listId) : null };
  });
  api.post('/lists/:id/sync/scim', { schema: { tags: ['sync'], response: { 201: R.SyncView }, summary: 'Connect SCIM with a unique identifier (creates the 9 default fields and mappings)', params: ListParams, body: z.object({ uniqueIdentifier: UniqueIdentifier }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    if (list.sync?.provider !== 'scim') {
      // a token issued while a disconnect was under way must not come back to life with the new connection
      await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    }
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectScim', uniqueIdentifier: req.body.uniqueIdentifier, now: ctx.now().getTime(), knownSource: isKnownSource }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'scim', uniqueIdentifier: req.body.uniqueIdentifier, scimBaseUrl: scimBaseUrl(ctx, list.listId),
      fieldsAdded: ev.type === 'ScimConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/scim', { schema: { tags: ['sync'], response: { 200: R.SyncView }, summary: 'Disconnect SCIM: every token revoked, people kept, synced fields editable', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'scim') throw new DomainError('conflict', 'SCIM is not connected on this list');
    const { revokedTokens, position } = await disconnectSync(list, cmd(req, p));
    return { connected: false, revokedTokens, peopleKept: true, position };
  });
};
