/**
 * The EventStoreDB adapter's own logic, run against an in-memory fake of the client (see
 * testing/fake-esdb-client.ts). The real-server run is esdb.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventStoreContract } from './contract.ts';
import { createEsdbEventStore } from './esdb.ts';
import { createFakeEsdbClient } from './testing/fake-esdb-client.ts';

const shared = createFakeEsdbClient({ systemEventsAtStart: 1200 });

eventStoreContract('eventstoredb adapter (fake client)', async () => {
  const store = createEsdbEventStore({ client: shared.client });
  return { store, cleanup: () => store.close() };
});

describe('eventstoredb adapter details (fake client)', () => {
  const ev = (i: number) => ({ eventId: randomUUID(), type: 'Paged', data: { i }, metadata: {} });

  it('pages readAll past the client page size, skipping system and binary events', async () => {
    const fake = createFakeEsdbClient({ systemEventsAtStart: 700 });
    const store = createEsdbEventStore({ client: fake.client });
    expect(await store.headPosition()).toBe(-1); // only system and binary events so far
    for (let b = 0; b < 12; b++) await store.appendToStream('paged', Array.from({ length: 100 }, (_, i) => ev(b * 100 + i)));
    expect(fake.systemEvents()).toBe(712);

    const all = await store.readAll();
    expect(all.map((e) => e.data.i)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    const some = await store.readAll({ fromPosition: all[99].position, maxCount: 1001 });
    expect(some.map((e) => e.data.i)).toEqual(Array.from({ length: 1001 }, (_, i) => i + 100));
    expect(await store.headPosition()).toBe(all[1199].position);
    await store.close();
  });

  it('maps an exact-revision conflict to the typed error with the caller expectation', async () => {
    const store = createEsdbEventStore({ client: createFakeEsdbClient().client });
    await store.appendToStream('s', [ev(0)]);
    await expect(store.appendToStream('s', [ev(1)], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      name: 'WrongExpectedRevisionError',
      streamId: 's',
      expected: 'no_stream',
      actual: 0,
    });
  });
});
