/**
 * The admin API is one plugin per OpenAPI tag over one AdminContext: each can be mounted alone.
 * Here the lists and fields plugins on a bare Fastify instance (zod compilers, the context
 * decorator, a stand-in for the auth hook) with an embedded store and an in-memory read store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@muster/bus';
import { openEmbeddedEventStore, type EmbeddedEventStore } from '@muster/event-store/embedded';
import { installJsonErrorHandler } from '@muster/http';
import { EntraSyncClient } from '@muster/entra-sync-contract';
import { MappingClient } from '@muster/mapping-contract';
import { ProjectionWaiter } from '@muster/read-models';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { AdminAuth } from '../auth.ts';
import type { AdminContext } from '../context.ts';
import { ChangesetRunner } from '../changesets/runner.ts';
import { ImportRunner } from '../imports/runner.ts';
import { fieldRoutes } from './fields.ts';
import { listRoutes } from './lists.ts';

describe('admin API plugins mounted one by one', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'muster-admin-plugins-'));
    store = await openEmbeddedEventStore({ dir });
    const readStore = createMemoryReadStore();
    const bus = createMemoryBus();
    const ctx: AdminContext = {
      store, log: store, vault: null, retention: null as never, readStore, bus, mapping: new MappingClient(bus), entra: new EntraSyncClient(bus), auth: new AdminAuth(store), rebuildWaitMs: 1_000,
      projection: new ProjectionWaiter(readStore, { timeoutMs: 50 }), publicUrl: 'https://muster.example', now: () => new Date(), newId: randomUUID,
      changesets: new ChangesetRunner({ store, readStore, now: () => new Date(), newId: randomUUID, log: () => {} }), changesetWaitMs: 100,
      imports: new ImportRunner({ store, readStore, mapping: new MappingClient(bus), dir: join(dir, 'imports'), now: () => new Date(), newId: randomUUID, log: () => {}, projectedTo: async () => true }),
      importMaxBytes: 1_000_000,
    };
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(async (api) => {
      api.decorate('admin', ctx);
      installJsonErrorHandler(api);
      api.addHook('onRequest', async (req) => { req.principal = { tokenId: 'test', orgId: null, role: 'owner' }; });
      await api.register(listRoutes);
      await api.register(fieldRoutes);
    }, { prefix: '/api/v1' });
  });
  afterAll(async () => { await app.close(); await store.close(); await rm(dir, { recursive: true, force: true }); });

  it('creates a list, adds a field and reads both back through inject()', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/v1/lists', payload: { name: 'Year 7' } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ name: 'Year 7', orgId: 'default', position: expect.any(Number) });
    const field = await app.inject({ method: 'POST', url: `/api/v1/lists/${id}/fields`, payload: { key: 'house', label: 'House', type: 'text', required: false, multiValued: false } });
    expect(field.statusCode).toBe(201);
    const fields = await app.inject({ method: 'GET', url: `/api/v1/lists/${id}/fields` });
    expect(fields.json().items).toEqual([expect.objectContaining({ key: 'house', syncedBy: null })]);
  });

  it('answers bad input with the admin error shape, and routes of other plugins are not there', async () => {
    const bad = await app.inject({ method: 'POST', url: '/api/v1/lists', payload: { name: '' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    const missing = await app.inject({ method: 'GET', url: '/api/v1/lists/nope/fields' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'not_found' } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/organisations' })).statusCode).toBe(404);
  });
});
