import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '@muster/bus';
import { streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { DEFAULT_FIELDS, defaultMappings } from '@muster/domain';
import { openEmbeddedEventStore, type EventStore } from '@muster/event-store';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { MappingService } from './service.ts';

const ctx = (): CommandContext => ({
  actor: { kind: 'admin', id: 'test' }, source: { kind: 'admin-api' }, correlationId: randomUUID(), now: new Date(), newId: randomUUID,
});
const append = (store: EventStore, stream: string, events: DomainEvent[]) => store.appendToStream(stream, toNewEvents(events, ctx()), { expectedRevision: 'any' });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function fixture(people: number) {
  const dir = await mkdtemp(join(tmpdir(), 'muster-owed-remap-'));
  const store = await openEmbeddedEventStore({ dir });
  const readStore = createMemoryReadStore();
  const bus = createMemoryBus();
  cleanup.push(async () => { await store.close(); await readStore.close(); await bus.close(); await rm(dir, { recursive: true, force: true }); });
  const listId = 'l1';
  await append(store, streams.list(listId), [
    { type: 'ListCreated', data: { listId, orgId: 'default', name: 'Staff' } },
    { type: 'ScimConnected', data: { listId, uniqueIdentifier: 'employeeNumber', fieldsAdded: DEFAULT_FIELDS, mappings: defaultMappings() } },
  ]);
  const ids: string[] = [];
  for (let i = 0; i < people; i++) {
    const personId = randomUUID();
    ids.push(personId);
    const scim = { userName: `p${i}@example.org`, name: { givenName: `Given${i}`, familyName: 'Family' }, active: true };
    await append(store, streams.person(personId), [{
      type: 'PersonProvisioned', data: { personId, listId, scim, fields: { firstName: `Given${i}`, lastName: 'Family' }, status: 'active', fieldChanges: [] },
    }]);
    await readStore.collection('people').insertOne({ _id: personId, listId });
  }
  return { store, readStore, bus, listId, ids };
}

describe('a save on a large list', () => {
  it('answers before its run ends (pending, with progress while it goes), then the run finishes and is recorded', async () => {
    const { store, readStore, bus, listId } = await fixture(300);
    // no projector here: the read models (the people above) count as current whatever the head
    await readStore.setCheckpoint('main', Number.MAX_SAFE_INTEGER);
    const svc = new MappingService({ store, readStore, bus, remapWaitMs: 0 });
    cleanup.push(() => svc.stop());
    await svc.start();
    const upper = defaultMappings().map((m) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' as const } : m));
    const res = await svc.set({ listId, mappings: upper, groupRules: [], actor: { kind: 'admin', id: 'test' }, correlationId: randomUUID() });
    expect(res).toMatchObject({ changed: true, remap: { pending: true, mappingsVersion: 1 } });
    const seen: Array<{ done: number; total: number }> = [];
    for (;;) {
      const { remap } = await svc.get(listId);
      if (remap.progress) seen.push(remap.progress);
      if (!remap.pending) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(seen.some((p) => p.total === 300 && p.done < 300)).toBe(true);
    expect(seen.every((p, i) => i === 0 || p.done >= seen[i - 1].done)).toBe(true);
    const listEvents = await store.readStream(streams.list(listId));
    expect(listEvents.filter((e) => e.type === 'RemapCompleted').map((e) => e.data)).toEqual([{ listId, mappingsVersion: 1, remapped: 300 }]);
    expect((await svc.get(listId)).remap).toEqual({ pending: false, mappingsVersion: 1 });
  });
});

describe('a save whose run fails', () => {
  it('still answers as saved (pending), and the run is finished later on its own', async () => {
    const { store, readStore, bus, listId, ids } = await fixture(1);
    await readStore.setCheckpoint('main', -1); // the read models lag: the run cannot start yet
    const svc = new MappingService({ store, readStore, bus, consistencyTimeoutMs: 30, remapRetryMs: 20 });
    cleanup.push(() => svc.stop());
    await svc.start();
    const upper = defaultMappings().map((m) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' as const } : m));
    const res = await svc.set({ listId, mappings: upper, groupRules: [], actor: { kind: 'admin', id: 'test' }, correlationId: randomUUID() });
    expect(res).toMatchObject({ changed: true, remapped: 0, remap: { pending: true, mappingsVersion: 1 } });
    expect((await svc.get(listId)).mappings).toEqual(upper);
    await until(() => svc.remaps.failures >= 1);
    await readStore.setCheckpoint('main', Number.MAX_SAFE_INTEGER);
    await until(() => svc.remaps.finished === 1);
    expect((await store.readStream(streams.person(ids[0]))).at(-1)).toMatchObject({ type: 'AttributesChanged', data: { fields: { firstName: 'GIVEN0' } } });
  });
});

describe('a run that fails partway', () => {
  it('stops all its workers, and the retry brings everyone up to date with one RemapCompleted', async () => {
    const { store, readStore, bus, listId, ids } = await fixture(40);
    await readStore.setCheckpoint('main', Number.MAX_SAFE_INTEGER);
    // one person's append fails once (a disk hiccup, say): the run that meets it fails
    let failOnce = true;
    const flaky = new Proxy(store, {
      get(target, key) {
        if (key === 'appendToStream') {
          return async (stream: string, ...rest: unknown[]) => {
            if (failOnce && stream === streams.person(ids[20])) { failOnce = false; throw new Error('disk hiccup'); }
            return (target.appendToStream as (...a: unknown[]) => unknown)(stream, ...rest);
          };
        }
        const v = (target as unknown as Record<string | symbol, unknown>)[key];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as EventStore;
    const svc = new MappingService({ store: flaky, readStore, bus, remapRetryMs: 20 });
    cleanup.push(() => svc.stop());
    await svc.start();
    const upper = defaultMappings().map((m) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' as const } : m));
    const res = await svc.set({ listId, mappings: upper, groupRules: [], actor: { kind: 'admin', id: 'test' }, correlationId: randomUUID() });
    expect(res).toMatchObject({ changed: true, remap: { pending: true, mappingsVersion: 1 } });
    await until(() => svc.remaps.finished === 1);
    expect(svc.remaps).toMatchObject({ failures: 0 });
    for (const id of ids) {
      const events = await store.readStream(streams.person(id));
      expect(events.filter((e) => e.type === 'AttributesChanged')).toHaveLength(1);
      expect(events.at(-1)!.data).toMatchObject({ fields: { firstName: expect.stringMatching(/^GIVEN\d+$/) } });
    }
    const completed = (await store.readStream(streams.list(listId))).filter((e) => e.type === 'RemapCompleted');
    expect(completed).toHaveLength(1);
    expect(completed[0].data).toMatchObject({ mappingsVersion: 1 });
  });
});

describe('a remap still owed when a run fails', () => {
  it('is retried with backoff until it succeeds, then recorded once', async () => {
    const { store, readStore, bus, listId, ids: [personId] } = await fixture(1);
    const upper = defaultMappings().map((m) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' as const } : m));
    const changed = await append(store, streams.list(listId), [{ type: 'MappingsChanged', data: { listId, mappings: upper, groupRules: [] } }]);
    // the read models list the person but are behind the log: a remap run cannot trust them yet and fails
    await readStore.setCheckpoint('main', changed.position - 1);

    const svc = new MappingService({ store, readStore, bus, consistencyTimeoutMs: 30, remapRetryMs: 20 });
    cleanup.push(() => svc.stop());
    await svc.start();
    await until(() => svc.remaps.failures >= 2);
    expect(svc.remaps.lastError).toMatch(/read models did not reach position/);
    expect(svc.remaps.finished).toBe(0);
    expect((await store.readStream(streams.person(personId))).length).toBe(1);
    expect((await svc.get(listId)).remap).toEqual({ pending: true, mappingsVersion: 1 });

    await readStore.setCheckpoint('main', await store.headPosition());
    await until(() => svc.remaps.finished === 1);
    const personEvents = await store.readStream(streams.person(personId));
    expect(personEvents.at(-1)).toMatchObject({ type: 'AttributesChanged', data: { cause: 'remap', fields: { firstName: 'GIVEN0' } } });
    const listEvents = await store.readStream(streams.list(listId));
    // caused by the mapping change the run finished
    const mappingsChanged = listEvents.find((e) => e.type === 'MappingsChanged')!;
    expect(personEvents.at(-1)!.metadata).toMatchObject({ causationId: mappingsChanged.eventId, source: { kind: 'remap' } });
    expect(listEvents.filter((e) => e.type === 'RemapCompleted').map((e) => e.data)).toEqual([{ listId, mappingsVersion: 1, remapped: 1 }]);
    expect((await svc.get(listId)).remap).toEqual({ pending: false, mappingsVersion: 1 });
    // nothing more happens afterwards
    const failures = svc.remaps.failures;
    await new Promise((r) => setTimeout(r, 100));
    expect(svc.remaps).toMatchObject({ finished: 1, failures });
    expect((await store.readStream(streams.list(listId))).length).toBe(listEvents.length);
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
