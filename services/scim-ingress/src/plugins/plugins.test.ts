/**
 * The ingress is a tree of plugins over one ScimContext: each plugin can be mounted on its own.
 * Here the scope (auth, rate limit, list) and discovery alone, on a bare Fastify instance with
 * in-memory adapters, answered with inject().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@muster/bus';
import { streams, type CommandContext } from '@muster/contracts';
import { generateToken, handleCommand, listDecider, tokensDecider } from '@muster/domain';
import { openEmbeddedEventStore, type EmbeddedEventStore } from '@muster/event-store/embedded';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { ScimContext } from '../context.ts';
import { discoveryRoutes } from './discovery.ts';
import { scimScope } from './scope.ts';

const ctx = (): CommandContext => ({ actor: { kind: 'admin', id: 'a1' }, source: { kind: 'admin-api' }, correlationId: 'c', now: new Date(), newId: () => crypto.randomUUID() });

describe('SCIM plugins mounted one by one', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  let app: FastifyInstance;
  let scim: ScimContext;
  const token = generateToken('sct_');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'muster-scim-plugins-'));
    store = await openEmbeddedEventStore({ dir });
    await handleCommand(store, streams.list('l1'), listDecider, { type: 'CreateList', listId: 'l1', orgId: 'o1', name: 'Staff' }, ctx());
    await handleCommand(store, streams.list('l1'), listDecider, { type: 'ConnectScim', uniqueIdentifier: 'userName', now: Date.now() }, ctx());
    await handleCommand(store, streams.scimTokens('l1'), tokensDecider,
      { type: 'IssueToken', listId: 'l1', tokenId: 't1', hash: token.hash, prefix: token.displayPrefix, expiresAt: null, scimConnected: true }, ctx());
    scim = await ScimContext.start({ store, readStore: createMemoryReadStore(), bus: createMemoryBus(), publicUrl: 'https://muster.example' });
    app = Fastify();
    await app.register(async (s) => {
      s.decorate('scim', scim);
      await s.register(scimScope);
      await s.register(discoveryRoutes);
    }, { prefix: '/scim/v2/lists/:listId' });
  });
  afterAll(async () => { await app.close(); await scim.stop(); await store.close(); await rm(dir, { recursive: true, force: true }); });

  it('discovery answers behind the scope\'s auth, with the list\'s base URL', async () => {
    const res = await app.inject({ method: 'GET', url: '/scim/v2/lists/l1/ServiceProviderConfig', headers: { authorization: `Bearer ${token.token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.json()).toMatchObject({ meta: { location: 'https://muster.example/scim/v2/lists/l1/ServiceProviderConfig' }, bulk: { supported: true } });
  });

  it('the scope refuses a missing or wrong token (401, SCIM error) and answers unknown endpoints 404', async () => {
    const none = await app.inject({ method: 'GET', url: '/scim/v2/lists/l1/ServiceProviderConfig' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ status: '401', detail: 'missing bearer token' });
    const other = await app.inject({ method: 'GET', url: '/scim/v2/lists/l2/ServiceProviderConfig', headers: { authorization: `Bearer ${token.token}` } });
    expect(other.statusCode).toBe(401); // a list's token does not reach another list
    // /Users belongs to another plugin, not mounted here
    const users = await app.inject({ method: 'GET', url: '/scim/v2/lists/l1/Users', headers: { authorization: `Bearer ${token.token}` } });
    expect(users.statusCode).toBe(404);
    expect(users.json()).toMatchObject({ status: '404' });
  });
});
