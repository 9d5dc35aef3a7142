import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedEventStore, withHashChain, type EventStore } from '@muster/event-store';
import { createMemoryReadStore, type MemoryReadStore } from '@muster/read-store-memory';
import { Projections, collectionNames } from '@muster/read-models';
import { Projector } from './projector.ts';
import { REBUILD_PREFIX, rebuildProjections } from './rebuild.ts';
import { appendScenario, dumpReadModels } from './testing/fixtures.ts';

let dir: string;
let store: EventStore;
let rs: MemoryReadStore;

async function cleanProjection() {
  const fresh = createMemoryReadStore();
  const p = new Projections(fresh, collectionNames(''));
  for (const e of await store.readAll()) await p.apply(e);
  return dumpReadModels(fresh);
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'muster-rebuild-'));
  store = withHashChain(await openEmbeddedEventStore({ dir }));
  rs = createMemoryReadStore();
  await appendScenario(store, 0);
  await appendScenario(store, 1);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each([['staged', true], ['direct', false]])('rebuildProjections (%s)', (_name, staging) => {
  it('rebuilds into fresh collections while queries answer from the old ones, then switches over and the live projector carries on', async () => {
    const live = new Projector({ store, readStore: rs });
    await live.start();
    await until(async () => live.currentPosition === (await store.headPosition()));
    // a read model gone wrong (say, a projection bug since fixed): the rebuild must repair it
    await rs.collection('people').deleteOne({ _id: 'p-0-0' });
    await rs.collection('lists').updateOne({ _id: 'list-0' }, { $set: { counts: { active: 99, inactive: 99 } } });

    const seenWhileProjecting: number[] = [];
    const result = await rebuildProjections({
      store, readStore: rs, live, batchSize: 10, staging,
      onProgress: (p) => {
        if (p.phase === 'projecting') void rs.collection('people').countDocuments({}).then((n) => seenWhileProjecting.push(n));
      },
      beforeSwitch: async () => {
        // the old collections still answer, untouched; the fresh ones are complete
        expect(await rs.collection('people').findOne({ _id: 'p-0-0' })).toBeNull();
        expect((await rs.collection('lists').findOne({ _id: 'list-0' }))?.counts).toEqual({ active: 99, inactive: 99 });
        expect(await rs.collection(`${REBUILD_PREFIX}people`).findOne({ _id: 'p-0-0' })).toMatchObject({ status: 'active' });
        expect(live.live).toBe(false); // paused for the switch
        await appendScenario(store, 2); // writes keep arriving: the live projector applies them after the switch
      },
    });
    expect(seenWhileProjecting.length).toBeGreaterThan(3);
    expect(new Set(seenWhileProjecting)).toEqual(new Set([11])); // 12 people, one deleted: the old collection served throughout
    expect(result.events).toBe(result.position + 1);
    expect(live.live).toBe(true);

    await until(async () => live.currentPosition === (await store.headPosition()));
    expect(await dumpReadModels(rs)).toEqual(await cleanProjection());
    expect((await rs.collection('lists').findOne({ _id: 'list-0' }))?.counts).toEqual({ active: 4, inactive: 2 });
    expect(rs.listCollections().filter((c) => c.startsWith(REBUILD_PREFIX))).toEqual([]);
    expect(await rs.getCheckpoint('rebuild')).toBeNull();
    expect(await rs.getCheckpoint('main')).toBe(await store.headPosition());

    await appendScenario(store, 3);
    await until(async () => live.currentPosition === (await store.headPosition()));
    expect(await dumpReadModels(rs)).toEqual(await cleanProjection());
    await live.stop();
  });

  it('without a live projector to pause (the CLI beside a server), one running elsewhere and concurrent writes still end consistent', async () => {
    const elsewhere = new Projector({ store, readStore: rs });
    await elsewhere.start();
    let writing = true;
    const writer = (async () => {
      for (let round = 2; writing && round < 40; round++) await appendScenario(store, round);
    })();
    await new Promise((r) => setTimeout(r, 20));
    const headBefore = await store.headPosition();
    // a rebuild of this small log can finish before the next write lands: wait for one before switching
    const result = await rebuildProjections({
      store, readStore: rs, batchSize: 25, staging,
      beforeSwitch: () => until(async () => (await store.headPosition()) > headBefore),
    });
    const headAfter = await store.headPosition();
    writing = false;
    await writer;
    expect(headAfter).toBeGreaterThan(headBefore); // the log grew while it rebuilt
    expect(result.events).toBeGreaterThan(0);
    await until(async () => elsewhere.currentPosition === (await store.headPosition()));
    await elsewhere.stop();
    expect(await dumpReadModels(rs)).toEqual(await cleanProjection());
    expect(rs.listCollections().filter((c) => c.startsWith(REBUILD_PREFIX))).toEqual([]);
  });

  it('an aborted rebuild leaves the live collections alone', async () => {
    const live = new Projector({ store, readStore: rs });
    await live.start();
    await until(async () => live.currentPosition === (await store.headPosition()));
    const before = await dumpReadModels(rs);
    const abort = new AbortController();
    await expect(rebuildProjections({ store, readStore: rs, live, batchSize: 5, staging, signal: abort.signal, onProgress: (p) => { if (p.events > 10) abort.abort(); } }))
      .rejects.toThrow(/aborted/);
    expect(await dumpReadModels(rs)).toEqual(before);
    expect(live.live).toBe(true);
    await live.stop();
  });
});
