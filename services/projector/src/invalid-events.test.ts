/**
 * Events are validated when read (toDomainEvent). A stored event that fails its schema (written by
 * something that bypassed validation, or damaged) is skipped by the projector, counted and shown on
 * /healthz; the events around it are applied and the projector keeps running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { openEmbeddedEventStore, type EmbeddedEventStore } from '@muster/event-store/embedded';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { RebuildController } from './control.ts';
import { projectorHealth } from './health.ts';
import { Projector } from './projector.ts';

const ctx: CommandContext = { actor: { kind: 'admin', id: 'a' }, source: { kind: 'admin-api' }, correlationId: 'c', now: new Date('2026-01-01T00:00:00Z'), newId: () => crypto.randomUUID() };
const list = (listId: string, name: string): DomainEvent => ({ type: 'ListCreated', data: { listId, orgId: 'default', name } });

describe('an invalid stored event', () => {
  let dir: string;
  let store: EmbeddedEventStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'muster-invalid-'));
    store = await openEmbeddedEventStore({ dir });
  });
  afterAll(async () => { await store.close(); await rm(dir, { recursive: true, force: true }); });

  it('is skipped and counted; the events before and after it are projected', async () => {
    await store.appendToStream(streams.list('l1'), toNewEvents([list('l1', 'Before')], ctx));
    // a writer that bypassed toNewEvents: ListCreated without a name
    const [good] = toNewEvents([list('l2', 'x')], ctx);
    await store.appendToStream(streams.list('l2'), [{ ...good, data: { listId: 'l2', orgId: 'default' } }]);
    await store.appendToStream(streams.list('l3'), toNewEvents([list('l3', 'After')], ctx));
    const readStore = createMemoryReadStore();
    const projector = new Projector({ store, readStore });
    await projector.start();
    try {
      expect(await projector.waitFor(await store.headPosition(), 5_000)).toBe(true);
      const names = (await readStore.collection('lists').find({}, { sort: { name: 1 } })).map((d) => d.name);
      expect(names).toEqual(['After', 'Before']);
      const health = projectorHealth(projector, await store.headPosition(), new RebuildController({ store, readStore, live: projector }));
      expect(health.invalidEvents).toMatchObject({ count: 1, last: expect.stringMatching(/position 1: invalid ListCreated event: name/) });
      expect(health.error).toBeNull();
    } finally {
      await projector.stop();
    }
  });
});
