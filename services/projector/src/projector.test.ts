import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedEventStore, withHashChain, type EventStore, type RecordedEvent } from '@muster/event-store';
import { DuplicateKeyError, type Collection, type Doc, type ReadStore } from '@muster/read-store';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { Projections, READ_MODELS, StagingUnsupportedError, collectionNames, createStagingReadStore } from '@muster/read-models';
import { Projector, percentiles } from './projector.ts';
import { appendScenario, dumpReadModels } from './testing/fixtures.ts';

let dir: string;
let store: EventStore;
let events: RecordedEvent[];
/** the read models a single clean pass produces */
let clean: Record<string, Doc[]>;

async function projectOnce(evs: RecordedEvent[]): Promise<ReadStore> {
  const rs = createMemoryReadStore();
  const p = new Projections(rs, collectionNames(''));
  for (const e of evs) await p.apply(e);
  return rs;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'muster-projector-'));
  store = withHashChain(await openEmbeddedEventStore({ dir }));
  await appendScenario(store, 0);
  await appendScenario(store, 1);
  events = await store.readAll();
  clean = await dumpReadModels(await projectOnce(events));
});
afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('read models', () => {
  it('keep sessions with their copies and edits, changesets with their counts, and changeset writes in the provisioning log', () => {
    expect(clean.sessions.find((d) => d._id === 's-0')).toMatchObject({ listId: 'list-0', people: 1, edited: 1, changesets: ['cs-0'] });
    expect(clean.session_people.find((d) => d._id === 's-0:p-0-manual')).toMatchObject({ edited: true, fields: { lastName: 'Edited' }, base: { fields: { lastName: 'Entry' } } });
    expect(clean.changesets.find((d) => d._id === 'cs-0')).toMatchObject({ status: 'applied', counts: { changes: 1, approved: 1, applied: 1 }, progress: null });
    expect(clean.provisioning_log.find((d) => d.changesetId === 'cs-0')).toMatchObject({ source: 'changeset', operation: 'UPDATE', resourceId: 'p-0-manual', cause: 'changeset' });
    expect(clean.people.find((d) => d._id === 'p-0-manual')).toMatchObject({ fields: { lastName: 'Edited' } });
  });

  it('keep lists with counts and last sync, people with status, groups and the provisioning log', () => {
    const list = clean.lists.find((l) => l._id === 'list-0')!;
    // p1 reactivated, p2 deactivated, p3 unlinked then relinked (active), p4 provisioned inactive, manual active
    expect(list.counts).toEqual({ active: 4, inactive: 2 });
    expect(list.lastSyncAt).toEqual(expect.any(String));
    const people = Object.fromEntries(clean.people.filter((p) => p.listId === 'list-0').map((p) => [p._id, p]));
    expect(people['p-0-0']).toMatchObject({ status: 'active', fields: { department: 'Engines' }, groups: [] });
    expect(people['p-0-2']).toMatchObject({ status: 'inactive', groups: ['g-0-1'] });
    expect(people['p-0-3']).toMatchObject({ status: 'active', linked: true, groups: ['g-0-1'] });
    expect(clean.groups.find((g) => g._id === 'g-0-1')).toMatchObject({ displayName: 'Engineering', members: ['p-0-2', 'p-0-3'] });
    expect(clean.groups.find((g) => g._id === 'g-0-2')).toBeUndefined();
    expect(clean.tokens.find((t) => t._id === 'tok-0')).toMatchObject({ revokedAt: expect.any(String), revokedReason: 'revoked' });
    expect(clean.provisioning_log.filter((l) => l.listId === 'list-0').map((l) => l.status)).toContain('SKIPPED');
    expect(clean.organisations.find((o) => o._id === 'org-0')).toMatchObject({ plan: 'pro' });
  });
});

describe('exactly-once effect', () => {
  it('applying every event twice in a row leaves the same state as applying it once', async () => {
    const rs = createMemoryReadStore();
    const p = new Projections(rs, collectionNames(''));
    for (const e of events) { await p.apply(e); await p.apply(e); }
    expect(await dumpReadModels(rs)).toEqual(clean);
  });

  it('replaying a whole suffix again (a checkpoint written per batch, then a crash) leaves the same state', async () => {
    for (const from of [0, Math.floor(events.length / 3), events.length - 5]) {
      const rs = createMemoryReadStore();
      const p = new Projections(rs, collectionNames(''));
      for (const e of events) await p.apply(e);
      for (const e of events.slice(from)) await p.apply(e);
      expect(await dumpReadModels(rs), `replay from ${from}`).toEqual(clean);
    }
  });

  it('a crash at any write of an event, then a restart from the checkpoint, ends in the same state; the checkpoint never covers a half-applied event', async () => {
    const probe = crashingReadStore(createMemoryReadStore(), Infinity);
    const p0 = new Projector({ store, readStore: probe.rs });
    await p0.start();
    await until(() => p0.currentPosition === events[events.length - 1].position);
    await p0.stop();
    const totalWrites = probe.writes();
    expect(totalWrites).toBeGreaterThan(events.length * 2);

    // every 3rd write (and the first few) as a crash point keeps this quick while covering every kind of write
    const points = [...new Set([1, 2, 3, 4, ...Array.from({ length: Math.floor(totalWrites / 3) }, (_, i) => i * 3 + 5)])].filter((k) => k <= totalWrites);
    for (const k of points) {
      const inner = createMemoryReadStore();
      const crashing = crashingReadStore(inner, k);
      const first = new Projector({ store, readStore: crashing.rs, retryDelayMs: 60_000 });
      await first.start();
      await until(() => first.failed !== null);
      await first.stop();
      const cp = await inner.getCheckpoint('main');
      const inflight = crashing.failedAt();
      if (inflight !== null) expect(cp ?? -1, `crash at write ${k}`).toBeLessThan(inflight);
      // restart: a new projector on the same read store resumes from the checkpoint
      const second = new Projector({ store, readStore: inner });
      await second.start();
      await until(() => second.currentPosition === events[events.length - 1].position);
      await second.stop();
      expect(second.stats.eventsApplied, `crash at write ${k}`).toBe(events.length - 1 - (cp ?? -1));
      expect(await dumpReadModels(inner), `crash at write ${k}`).toEqual(clean);
    }
  });

  it('after a failure the running projector re-subscribes from its checkpoint by itself', async () => {
    const inner = createMemoryReadStore();
    const crashing = crashingReadStore(inner, 40);
    const p = new Projector({ store, readStore: crashing.rs, retryDelayMs: 10 });
    await p.start();
    await until(() => p.currentPosition === events[events.length - 1].position);
    await p.stop();
    expect(p.stats.restarts).toBeGreaterThanOrEqual(1);
    expect(p.failed).toBeNull();
    expect(await dumpReadModels(inner)).toEqual(clean);
  });
});

describe('staging read store (rebuilds fold in it)', () => {
  it('folds every event to the same documents as the read store', async () => {
    const staging = createStagingReadStore();
    const p = new Projections(staging, collectionNames(''));
    for (const e of events) { await p.apply(e); await p.apply(e); }
    const dump: Record<string, Doc[]> = {};
    for (const m of READ_MODELS) dump[m] = [...(staging.collections().get(m)?.values() ?? [])].sort((a, b) => (a._id < b._id ? -1 : 1));
    expect(JSON.parse(JSON.stringify(dump))).toEqual(JSON.parse(JSON.stringify(clean)));
    // event data that documents point to is never modified by later updates
    expect(await store.readAll()).toEqual(events);
  });

  it('refuses what it does not implement instead of guessing', async () => {
    const c = createStagingReadStore().collection('people');
    await c.insertOne({ _id: 'a', n: 1, tags: ['x'] });
    await expect(c.findOne({ status: 'active' })).rejects.toThrow(StagingUnsupportedError);
    await expect(c.updateOne({ _id: 'a' }, { $mul: { n: 2 } })).rejects.toThrow(/\$mul/);
    await expect(c.updateOne({ _id: 'a' }, { $set: { n: 2 } }, { upsert: true })).rejects.toThrow(/upsert/);
    await expect(c.find({ _id: 'a' }, { sort: { n: 1 } })).rejects.toThrow(/sort/);
    await expect(c.insertOne({ _id: 'a' })).rejects.toThrow(DuplicateKeyError);
    expect(await c.updateOne({ _id: 'a', lastPosition: { $lt: 5 } }, { $set: { n: 2 } })).toMatchObject({ matchedCount: 0 });
    await c.updateOne({ _id: 'a' }, { $pull: { missing: 'x' }, $addToSet: { tags: { $each: ['x', 'y'] } }, $inc: { 'deep.count': 2 }, $max: { at: '2025' } });
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 1, tags: ['x', 'y'], deep: { count: 2 }, at: '2025' });
  });
});

describe('staging read store: copies', () => {
  it('an update that changes nothing keeps the document; one that changes it makes a new object and leaves the old one as it was', async () => {
    const c = createStagingReadStore().collection('lists');
    await c.insertOne({ _id: 'l', at: '2025-02', n: 5, counts: { active: 1 } });
    const before = await c.findOne({ _id: 'l' });
    expect(await c.updateOne({ _id: 'l' }, { $max: { at: '2025-01', n: 5 } })).toEqual({ matchedCount: 1, modifiedCount: 0 });
    expect(await c.updateOne({ _id: 'l' }, { $unset: { missing: '' }, $pull: { none: 'x' } })).toEqual({ matchedCount: 1, modifiedCount: 0 });
    expect(await c.findOne({ _id: 'l' })).toBe(before);
    expect(await c.updateOne({ _id: 'l' }, { $max: { at: '2025-03', n: 4 }, $inc: { 'counts.active': 1 } })).toEqual({ matchedCount: 1, modifiedCount: 1 });
    expect(before).toEqual({ _id: 'l', at: '2025-02', n: 5, counts: { active: 1 } });
    expect(await c.findOne({ _id: 'l' })).toEqual({ _id: 'l', at: '2025-03', n: 5, counts: { active: 2 } });
    // $max on a missing field or across types still writes (or refuses) as before
    await c.updateOne({ _id: 'l' }, { $max: { fresh: '2025' } });
    expect((await c.findOne({ _id: 'l' }))?.fresh).toBe('2025');
    await expect(c.updateOne({ _id: 'l' }, { $max: { n: 'x' } })).rejects.toThrow(StagingUnsupportedError);
  });
});

describe('checkpoints', () => {
  it('a restarted projector resumes where it stopped and applies only what is new', async () => {
    const localDir = await mkdtemp(join(tmpdir(), 'muster-projector-resume-'));
    const local = withHashChain(await openEmbeddedEventStore({ dir: localDir }));
    try {
      await appendScenario(local, 0);
      const rs = createMemoryReadStore();
      const first = new Projector({ store: local, readStore: rs });
      await first.start();
      const head1 = await local.headPosition();
      await until(() => first.currentPosition === head1);
      await first.stop();
      expect(await rs.getCheckpoint('main')).toBe(head1);

      await appendScenario(local, 1);
      const head2 = await local.headPosition();
      const second = new Projector({ store: local, readStore: rs });
      await second.start();
      await until(() => second.currentPosition === head2);
      expect(second.stats.eventsApplied).toBe(head2 - head1);
      expect(await second.waitFor(head2, 10)).toBe(true);
      expect(await second.waitFor(head2 + 1, 20)).toBe(false);
      await second.stop();
      expect(await dumpReadModels(rs)).toEqual(await dumpReadModels(await projectOnce(await local.readAll())));
    } finally {
      await local.close();
      await rm(localDir, { recursive: true, force: true });
    }
  });
});

describe('start on an empty read store', () => {
  it('folds the backlog in memory, loads it once, then follows the log live', async () => {
    const localDir = await mkdtemp(join(tmpdir(), 'muster-projector-bulk-'));
    const local = withHashChain(await openEmbeddedEventStore({ dir: localDir }));
    try {
      await appendScenario(local, 0);
      await appendScenario(local, 1);
      const rs = createMemoryReadStore();
      const p = new Projector({ store: local, readStore: rs, bulkStartMin: 10 });
      const applied: number[] = [];
      await p.start();
      const writer = appendScenario(local, 2); // arrives while the backlog loads
      await p.starting;
      await writer;
      p.onLagSample((_ms, e) => applied.push(e.position));
      await appendScenario(local, 3);
      await until(async () => p.currentPosition === (await local.headPosition()));
      await p.stop();
      expect(p.stats.eventsApplied).toBeLessThan((await local.headPosition()) + 1); // the backlog did not go event by event through the store
      expect(applied.length).toBeGreaterThan(10);
      expect(await rs.getCheckpoint('main')).toBe(await local.headPosition());
      expect(await dumpReadModels(rs)).toEqual(await dumpReadModels(await projectOnce(await local.readAll())));
      expect(rs.listCollections()).toEqual(expect.arrayContaining(['people', 'lists']));
      expect(rs.collection('people').explain({ listId: 'list-0', status: 'active' }).stage).toBe('IXSCAN'); // indexes built after the load
    } finally {
      await local.close();
      await rm(localDir, { recursive: true, force: true });
    }
  });

  it('replays event by event when the read store already holds documents without a checkpoint', async () => {
    const rs = createMemoryReadStore();
    await rs.collection('people').insertOne({ _id: 'leftover', listId: 'x', lastPosition: 0 });
    const p = new Projector({ store, readStore: rs, bulkStartMin: 10 });
    await p.start();
    await until(() => p.currentPosition === events[events.length - 1].position);
    await p.stop();
    expect(p.stats.eventsApplied).toBe(events.length);
  });
});

describe('lag', () => {
  it('samples the time from an event being stored to being projected, only for events stored after start', async () => {
    const localDir = await mkdtemp(join(tmpdir(), 'muster-projector-lag-'));
    const local = withHashChain(await openEmbeddedEventStore({ dir: localDir }));
    try {
      await appendScenario(local, 0);
      const seen: number[] = [];
      const p = new Projector({ store: local, readStore: createMemoryReadStore(), onLag: (ms) => seen.push(ms) });
      await new Promise((r) => setTimeout(r, 20));
      await p.start();
      await until(async () => p.currentPosition === (await local.headPosition()));
      expect(p.stats.lagSamples).toEqual([]); // the backlog at start is catch-up, not lag
      await appendScenario(local, 1);
      await until(async () => p.currentPosition === (await local.headPosition()));
      await p.stop();
      expect(p.stats.lagSamples.length).toBeGreaterThan(10);
      expect(seen).toEqual(p.stats.lagSamples);
      expect(Math.max(...seen)).toBeLessThan(5_000);
    } finally {
      await local.close();
      await rm(localDir, { recursive: true, force: true });
    }
  });

  it('percentiles use the nearest rank', () => {
    expect(percentiles([])).toEqual({ p50: null, p99: null, max: null, count: 0 });
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    expect(percentiles(xs)).toEqual({ p50: 50, p99: 99, max: 100, count: 100 });
  });
});

/**
 * A read store whose `failAt`-th write (any insert/update/delete or checkpoint) throws once. Tracks
 * the position carried by the failed write (lastPosition / position in it), when it has one.
 */
function crashingReadStore(inner: ReadStore, failAt: number) {
  let count = 0;
  let failedPosition: number | null = null;
  const tick = (carried: unknown) => {
    count++;
    if (count === failAt) {
      failedPosition = typeof carried === 'number' ? carried : null;
      throw new Error(`injected failure at write ${count}`);
    }
  };
  const positionIn = (x: unknown): unknown => {
    const o = x as Record<string, unknown> | undefined;
    if (!o) return undefined;
    const set = o.$set as Record<string, unknown> | undefined;
    return set?.lastPosition ?? o.lastPosition ?? o.position;
  };
  const wrap = (c: Collection): Collection => ({
    name: c.name,
    findOne: (f, o) => c.findOne(f, o),
    find: (f, o) => c.find(f, o),
    countDocuments: (f) => c.countDocuments(f),
    insertOne: async (d) => { tick(positionIn(d)); return c.insertOne(d); },
    replaceOne: async (f, d, o) => { tick(positionIn(d)); return c.replaceOne(f, d, o); },
    updateOne: async (f, u, o) => { tick(positionIn(u) ?? positionIn(f)); return c.updateOne(f, u, o); },
    updateMany: async (f, u) => { tick(positionIn(u)); return c.updateMany(f, u); },
    deleteOne: async (f) => { tick(undefined); return c.deleteOne(f); },
    deleteMany: async (f) => { tick(undefined); return c.deleteMany(f); },
  });
  const rs: ReadStore = {
    ensureIndexes: (c, i) => inner.ensureIndexes(c, i),
    collection: <T extends Doc = Doc>(name: string) => wrap(inner.collection(name)) as unknown as Collection<T>,
    dropCollection: (n) => inner.dropCollection(n),
    renameCollection: (a, b) => inner.renameCollection(a, b),
    getCheckpoint: (p) => inner.getCheckpoint(p),
    setCheckpoint: async (p, pos) => { tick(undefined); return inner.setCheckpoint(p, pos); },
    close: () => inner.close(),
  };
  return { rs, writes: () => count, failedAt: () => failedPosition };
}
