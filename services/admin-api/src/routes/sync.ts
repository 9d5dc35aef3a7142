/** Connecting a list to an identity provider: SCIM, Entra directory sync. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UniqueIdentifier, streams } from '@muster/contracts';
import { DomainError, handleCommand, listDecider, tokensDecider } from '@muster/domain';
import { helpers, ListParams, scimBaseUrl } from '../context.ts';
import { requireWrite } from '../auth.ts';

export const syncRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, gate } = helpers(ctx);

  // SCIM: the IdP pushes to the list's SCIM base URL with the list's tokens
  api.get('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: "The list's SCIM connection", params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    return { connected: list.sync?.provider === 'scim', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, scimBaseUrl: list.sync?.provider === 'scim' ? scimBaseUrl(ctx, list.listId) : null };
  });
  api.post('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: 'Connect SCIM with a unique identifier (creates the 9 default fields and mappings)', params: ListParams, body: z.object({ uniqueIdentifier: UniqueIdentifier }) } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    if (list.sync?.provider !== 'scim') {
      // a token issued while a disconnect was under way must not come back to life with the new connection
      await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    }
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectScim', uniqueIdentifier: req.body.uniqueIdentifier, now: ctx.now().getTime() }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'scim', uniqueIdentifier: req.body.uniqueIdentifier, scimBaseUrl: scimBaseUrl(ctx, list.listId),
      fieldsAdded: ev.type === 'ScimConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/scim', { schema: { tags: ['sync'], summary: 'Disconnect SCIM: every token revoked, people kept, synced fields editable', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'scim') throw new DomainError('conflict', 'SCIM is not connected on this list');
    const revoked = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeAll', listId: list.listId }, cmd(req, p));
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'DisconnectScim' }, cmd(req, p));
    return { connected: false, revokedTokens: revoked.events.length, peopleKept: true, position: res.position };
  });

  // Entra directory sync. Connecting records which tenant and app registration to pull from (Pro plan or above) and
  // creates the default fields and mappings; the pull itself is the entra-sync service's job.
  // Client secrets never enter the event log: the service reads them from its own secret store.
  api.get('/lists/:id/sync/entra', { schema: { tags: ['sync'], summary: 'Entra directory sync status of a list', params: ListParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    // the tenant and app are on the read model: wait until it holds the connect (the state above is the stream's)
    await consistent();
    const doc = await readStore.collection('lists').findOne({ _id: list.listId }, { projection: { sync: 1 } });
    const sync = (doc?.sync ?? null) as Record<string, unknown> | null;
    return { connected: list.sync?.provider === 'entra', provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null, tenantId: sync?.tenantId ?? null, clientId: sync?.clientId ?? null, groupIds: sync?.groupIds ?? [] };
  });
  api.post('/lists/:id/sync/entra', {
    schema: {
      tags: ['sync'], summary: 'Connect Entra directory sync (one sync provider per list)', params: ListParams,
      body: z.object({ tenantId: z.string().uuid(), clientId: z.string().uuid(), groupIds: z.array(z.string().uuid()).max(50).default([]), uniqueIdentifier: UniqueIdentifier.default('email') }),
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'entra');
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ConnectEntra', ...req.body }, cmd(req, p));
    const ev = res.events[0];
    return reply.status(201).send({
      connected: true, provider: 'entra', uniqueIdentifier: req.body.uniqueIdentifier, tenantId: req.body.tenantId, clientId: req.body.clientId, groupIds: req.body.groupIds,
      fieldsAdded: ev.type === 'EntraConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [], position: res.position,
    });
  });
  api.delete('/lists/:id/sync/entra', { schema: { tags: ['sync'], summary: 'Disconnect Entra directory sync (people are kept)', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'DisconnectEntra' }, cmd(req, p));
    return { connected: false, peopleKept: true, position: res.position };
  });
};
