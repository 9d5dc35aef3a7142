/**
 * Bulk-built indexes (MemoryIndex.buildFrom: collect, sort once, cut into blocks) and bulk loads
 * (ReadStore.bulkLoad) must be indistinguishable from building one entry / inserting one document
 * at a time: same index entries in the same order, same answers and plans, same unique-index errors.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryReadStore } from './memory.ts';
import { buildIndexes, MemoryIndex, sortEntries, type Entry, type Rec } from './memory-index.ts';
import { compileFilter } from './matcher.ts';
import { DuplicateKeyError, type Doc, type Filter, type FindOptions } from '@muster/read-store/port';
import type { MemoryIndexSpec as IndexSpec } from './memory.ts';
import { rng } from './testing/rng.ts';

type Flavour = 'strings' | 'simple' | 'packable' | 'mixed';

/**
 * random documents; 'strings' keeps to null and strings below U+D800, 'packable' adds numbers and
 * booleans (both sorted packed), 'simple' has non-integer numbers too, 'mixed' any type (compareValues)
 */
function randomDocs(seed: number, count: number, flavour: Flavour, oddIds = false): Doc[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const strings = ['a', 'ab', 'b', 'B', 'é', 'zz', '', 'a b', 'list-1', 'list-10', 'list-2'];
  const odd = ['\uffff', '😀', '\ud7ff', 'a😀', 'a\uffff', '\u{10000}z'];
  const scalar = (): unknown => {
    const r = rand();
    if (r < 0.1) return null;
    if (r < 0.3) return flavour === 'strings' ? pick(['0', '-1', '2.5', '7']) : pick([0, -0, 1, -1, 2.5, 1e9, -1e-9, 7]);
    if (flavour === 'packable' && r < 0.4) return pick([true, false, 3, -0, 1e15, 2 ** 53 - 1, -(2 ** 53 - 1), 0.5]);
    if (flavour === 'simple' || flavour === 'packable' || r < 0.7) return pick(strings);
    return pick<unknown>([...odd, true, false, { x: 1 }, { x: 'a' }, new Date(86_400_000 * Math.floor(rand() * 3)), [], [1, 'a']]);
  };
  const docs: Doc[] = [];
  for (let i = 0; i < count; i++) {
    const id = oddIds && rand() < 0.3 ? `${pick(odd)}${i}` : `d${String(Math.floor(rand() * 1e6)).padStart(6, '0')}-${i}`;
    const n = Math.floor(rand() * 50);
    const d: Record<string, unknown> = { _id: id, a: scalar(), b: scalar(), n: flavour === 'strings' ? `n${String(n).padStart(2, '0')}` : n, s: pick(['x', 'y']), i: flavour === 'packable' && rand() < 0.9 ? i * 3 - 700 : null };
    if (rand() < 0.8) d.c = { d: scalar(), e: pick(strings) };
    if (rand() < 0.3) delete d.b;
    if (rand() < 0.4) d.tags = rand() < 0.2 ? [] : [pick(strings), pick(strings), scalar()];
    d.text = `${pick(strings)} ${pick(['alpha', 'beta', 'gamma', 'delta'])} ${Math.floor(rand() * 100)}`;
    docs.push(d as Doc);
  }
  return docs;
}

const SPECS: IndexSpec[] = [
  { key: { a: 1 }, name: 'a' },
  { key: { a: -1, b: 1 }, name: 'a_desc_b' },
  { key: { s: 1, n: -1, 'c.d': 1 }, name: 's_n_cd', searchFields: ['text'] },
  { key: { s: 1, tags: 1 }, name: 's_tags' },
  { key: { 'c.e': 1, n: 1 }, name: 'ce_n', partialFilterExpression: { s: 'x' } },
  { key: { s: 1, i: -1 }, name: 's_i_desc' },
  { key: { i: 1, a: 1 }, name: 'i_a' },
];

const recsOf = (docs: Doc[]): Rec[] => docs.map((doc) => ({ id: doc._id, doc }));
const entryView = (entries: readonly Entry[]) => entries.map((e) => [e.rec.id, e.k]);

function incremental(spec: IndexSpec, recs: Rec[]): MemoryIndex {
  const index = new MemoryIndex(spec, spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : null);
  for (const rec of recs) {
    const { keys, multikey } = index.keysFor(rec.doc);
    for (const k of keys) index.list.insert({ k, rec });
    if (multikey) index.multikeyIds.add(rec.id);
  }
  return index;
}

function bulk(spec: IndexSpec, recs: Rec[]): MemoryIndex {
  const index = new MemoryIndex(spec, spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : null);
  expect(index.buildFrom(recs)).toBe(true);
  return index;
}

describe('MemoryIndex.buildFrom', () => {
  for (const [flavour, oddIds] of [['strings', false], ['simple', false], ['packable', false], ['mixed', false], ['strings', true], ['packable', true], ['mixed', true]] as Array<[Flavour, boolean]>) {
    it(`holds exactly the entries of a one-by-one build, in the same order (${flavour} values${oddIds ? ', ids beyond U+D7FF' : ''})`, () => {
      const recs = recsOf(randomDocs(flavour === 'mixed' ? 2 : 1, 3_000, flavour, oddIds));
      for (const spec of SPECS) {
        const a = incremental(spec, recs);
        const b = bulk(spec, recs);
        expect(entryView(b.list.toArray()), spec.name).toEqual(entryView(a.list.toArray()));
        expect([...b.multikeyIds].sort(), spec.name).toEqual([...a.multikeyIds].sort());
        // and it keeps working as a sorted list afterwards
        const extra = recsOf(randomDocs(9, 200, flavour, oddIds).map((d) => ({ ...d, _id: `x-${d._id}` })));
        for (const index of [a, b]) for (const rec of extra) for (const k of index.keysFor(rec.doc).keys) index.list.insert({ k, rec });
        for (const index of [a, b]) for (const rec of recs.slice(0, 500)) for (const k of index.keysFor(rec.doc).keys) expect(index.list.remove({ k, rec })).toBe(true);
        expect(entryView(b.list.toArray()), spec.name).toEqual(entryView(a.list.toArray()));
      }
    });
  }

  // built together, the indexes with one entry per document share ranked fields (a, s, n, i appear
  // in several specs) and the documents' id order; each must still equal its one-by-one build
  for (const [flavour, oddIds] of [['strings', false], ['packable', false], ['simple', false], ['mixed', false], ['strings', true]] as Array<[Flavour, boolean]>) {
    it(`indexes built in one pass equal their one-by-one builds (${flavour} values${oddIds ? ', ids beyond U+D7FF' : ''})`, () => {
      const recs = recsOf(randomDocs(flavour === 'packable' ? 5 : 4, 4_000, flavour, oddIds));
      const specs: IndexSpec[] = [...SPECS, { key: { s: -1, a: 1, n: 1 }, name: 's_desc_a_n' }, { key: { n: 1 }, name: 'n' }, { key: { s: 1 }, name: 's' }];
      const together = specs.map((spec) => new MemoryIndex(spec, spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : null));
      expect(buildIndexes(together, recs)).toBeNull();
      specs.forEach((spec, x) => {
        expect(entryView(together[x].list.toArray()), spec.name).toEqual(entryView(incremental(spec, recs).list.toArray()));
      });
    });
  }

  it('sorts with a comparator when the packed keys would not fit in 2^53, with the same order', () => {
    const rand = rng(3);
    const docs: Doc[] = [];
    for (let i = 0; i < 20_000; i++) docs.push({ _id: `r${i}`, w: rand(), x: rand(), y: rand(), z: Math.floor(rand() * 1e6) });
    const spec: IndexSpec = { key: { w: 1, x: -1, y: 1, z: 1 }, name: 'wide' };
    const recs = recsOf(docs);
    expect(entryView(bulk(spec, recs).list.toArray())).toEqual(entryView(incremental(spec, recs).list.toArray()));
  });

  it('sortEntries keeps a record\'s several entries (multikey) and the id order among equal keys', () => {
    const recs = recsOf([{ _id: 'b', t: ['y', 'x'] }, { _id: 'a', t: ['x', 'y', null] }, { _id: 'c', t: 'x' }]);
    const index = new MemoryIndex({ key: { t: 1 }, name: 't' }, null);
    const entries: Entry[] = [];
    for (const rec of recs) for (const k of index.keysFor(rec.doc).keys) entries.push({ k, rec });
    expect(entryView(sortEntries([1], entries))).toEqual([
      ['a', [null]], ['a', ['x']], ['b', ['x']], ['c', ['x']], ['a', ['y']], ['b', ['y']],
    ]);
  });

  it('a unique index: false and empty on a duplicate key, true when every key is held by one document', () => {
    const spec: IndexSpec = { key: { k: 1 }, name: 'k', unique: true };
    const dup = new MemoryIndex(spec, null);
    expect(dup.buildFrom(recsOf([{ _id: 'a', k: 1 }, { _id: 'b', k: 2 }, { _id: 'c', k: 1.0 }]))).toBe(false);
    expect(dup.list.size).toBe(0);
    const ok = new MemoryIndex(spec, null);
    // one document holding a key twice in an array is no violation
    expect(ok.buildFrom(recsOf([{ _id: 'a', k: [1, 1, 3] }, { _id: 'b', k: 2 }]))).toBe(true);
    expect(ok.list.size).toBe(3);
  });
});

/** inserts docs one by one until one fails; the error and the ids that made it in */
async function insertOneByOne(specs: IndexSpec[], docs: Doc[], indexesFirst: boolean) {
  const store = createMemoryReadStore();
  const c = store.collection('c');
  if (indexesFirst) await store.ensureIndexes('c', specs);
  let error: unknown = null;
  for (const d of docs) {
    try {
      await c.insertOne(d);
    } catch (err) {
      error = err;
      break;
    }
  }
  if (!indexesFirst && error === null) await store.ensureIndexes('c', specs).catch((err: unknown) => { error = err; });
  return { store, error, ids: (await c.find({})).map((d) => d._id).sort() };
}

async function sameAnswers(specs: IndexSpec[], docs: Doc[], queries: Array<[Filter, FindOptions?]>) {
  const one = (await insertOneByOne(specs, docs, true)).store; // every index maintained per insert
  const after = createMemoryReadStore(); // indexes declared over the loaded data (bulk build)
  for (const d of docs) await after.collection('c').insertOne(d);
  await after.ensureIndexes('c', specs);
  const loaded = createMemoryReadStore(); // bulkLoad into an empty collection with its indexes
  await loaded.ensureIndexes('c', specs);
  await loaded.bulkLoad!('c', structuredClone(docs));
  for (const [filter, options] of queries) {
    const expected = await one.collection('c').find(filter, options);
    const plan = one.collection('c').explain(filter, options);
    for (const store of [after, loaded]) {
      expect(await store.collection('c').find(filter, options), JSON.stringify(filter)).toEqual(expected);
      expect(await store.collection('c').countDocuments(filter)).toBe(await one.collection('c').countDocuments(filter));
      const p = store.collection('c').explain(filter, options);
      expect({ ...p, textBlocks: undefined }, JSON.stringify(filter)).toEqual({ ...plan, textBlocks: undefined });
    }
  }
}

describe('bulk-built indexes and bulkLoad answer like one-by-one inserts', () => {
  it('same results and plans for equality, $in, prefix, sorted, multikey, partial and text queries', async () => {
    const docs = randomDocs(7, 4_000, 'simple');
    await sameAnswers(SPECS, randomDocs(5, 2_000, 'strings'), [
      [{ a: 'ab' }], [{ s: 'x', n: { $in: ['n03', 'n04'] } }, { sort: { n: -1 }, limit: 10 }], [{ s: 'x', tags: 'ab' }],
      [{ s: 'y', text: { $regex: 'beta', $options: 'i' } }, { sort: { n: -1, 'c.d': 1 }, limit: 15 }],
    ]);
    await sameAnswers(SPECS, docs, [
      [{ a: 'ab' }], [{ a: null }], [{ a: { $in: ['b', 'zz', 7] } }, { sort: { a: -1, b: 1 } }],
      [{ a: 'a', b: { $in: ['ab', null] } }], [{ s: 'x', n: { $in: [3, 4, 5] } }, { sort: { n: -1 }, limit: 10 }],
      [{ s: 'y' }, { sort: { n: -1, 'c.d': 1 }, skip: 5, limit: 20 }], [{ s: 'x', tags: 'ab' }], [{ tags: { $in: ['b', 'list-1'] } }],
      [{ s: 'x', 'c.e': { $regex: '^list' } }], [{ s: 'x', text: { $regex: 'gamm', $options: 'i' } }, { sort: { n: -1 }, limit: 15 }],
      [{ s: 'y', $or: [{ text: { $regex: 'alpha 1' } }, { text: { $regex: 'BETA', $options: 'i' } }] }],
    ]);
  });

  it('mixed value types too', async () => {
    const docs = randomDocs(8, 2_000, 'mixed', true);
    await sameAnswers(SPECS, docs, [[{ a: 'é' }], [{ a: true }], [{}, { sort: { a: -1, b: 1 }, limit: 30 }], [{ s: 'x', tags: '😀' }]]);
  });

  const UNIQUE: IndexSpec[] = [
    { key: { list: 1, user: 1 }, name: 'list_user', unique: true },
    { key: { email: 1 }, name: 'email', unique: true, partialFilterExpression: { hasEmail: true } },
  ];
  const people = (n: number, collide: (i: number) => Record<string, unknown>): Doc[] =>
    Array.from({ length: n }, (_, i) => ({ _id: `p${n - i}`, list: `L${i % 3}`, user: `u${i}`, email: `e${i}@x`, hasEmail: i % 2 === 0, ...collide(i) }));

  it('a unique violation found while building an index is the one a one-by-one build reports', async () => {
    for (const collide of [
      (i: number) => (i === 700 ? { list: 'L1', user: 'u4' } : {}), // i=4 is in L1 too
      (i: number) => (i === 900 ? { email: 'e2@x' } : i === 600 ? { email: 'e10@x' } : {}), // both even: the earlier violation wins
      (i: number) => (i === 901 ? { email: 'e2@x' } : {}), // odd: outside the partial index, no violation
    ]) {
      const docs = people(1_000, collide);
      const indexFirst = await insertOneByOne(UNIQUE, docs, true);
      const indexAfter = await insertOneByOne(UNIQUE, docs, false);
      if (indexFirst.error === null) {
        expect(indexAfter.error).toBeNull();
        continue;
      }
      expect(indexAfter.error).toBeInstanceOf(DuplicateKeyError);
      expect((indexAfter.error as Error).message).toBe((indexFirst.error as Error).message);
      // the failed index is not registered: no query uses it
      const failed = (indexAfter.error as DuplicateKeyError).index;
      for (const q of [{ list: 'L1', user: 'u4' }, { email: 'e2@x', hasEmail: true }]) {
        expect(indexAfter.store.collection('c').explain(q).index).not.toBe(failed);
      }
    }
  });

  it('bulkLoad stops at the first violating document like ordered inserts: same error, same documents kept', async () => {
    const cases: Array<{ docs: Doc[]; preload: Doc[] }> = [
      { docs: people(500, (i) => (i === 300 ? { list: 'L0', user: 'u0' } : {})), preload: [] }, // unique key
      { docs: people(500, (i) => (i === 200 ? { email: 'e0@x' } : i === 400 ? { list: 'L1', user: 'u1' } : {})), preload: [] },
      { docs: [...people(50, () => ({})), { _id: 'p7', list: 'Lz', user: 'z', email: 'z', hasEmail: false }], preload: [] }, // _id
      { docs: people(50, (i) => (i === 30 ? { user: 'pre' } : {})), preload: [{ _id: 'q', list: 'L0', user: 'pre' }] }, // non-empty collection
      { docs: people(50, () => ({})), preload: [{ _id: 'q', list: 'L0', user: 'pre' }] },
    ];
    for (const { docs, preload } of cases) {
      const one = createMemoryReadStore();
      const loaded = createMemoryReadStore();
      for (const store of [one, loaded]) {
        await store.ensureIndexes('c', UNIQUE);
        for (const d of preload) await store.collection('c').insertOne(d);
      }
      let expected: unknown = null;
      for (const d of docs) {
        try {
          await one.collection('c').insertOne(d);
        } catch (err) {
          expected = err;
          break;
        }
      }
      let actual: unknown = null;
      await loaded.bulkLoad!('c', structuredClone(docs)).catch((err: unknown) => { actual = err; });
      if (expected === null) expect(actual).toBeNull();
      else {
        expect(actual).toBeInstanceOf(DuplicateKeyError);
        expect((actual as Error).message).toBe((expected as Error).message);
      }
      const all = async (store: typeof one) => store.collection('c').find({}, { sort: { _id: 1 } });
      expect(await all(loaded)).toEqual(await all(one));
      // the indexes are complete and exact after a partial load as well
      for (const d of (await all(one)).slice(0, 20)) {
        expect(await loaded.collection('c').find({ list: d.list, user: d.user })).toEqual(await one.collection('c').find({ list: d.list, user: d.user }));
        expect(loaded.collection('c').explain({ list: d.list, user: d.user })).toEqual(one.collection('c').explain({ list: d.list, user: d.user }));
      }
    }
  });

  it('bulkLoad adopts the documents (no copies are handed out), validates them first and creates the collection', async () => {
    const store = createMemoryReadStore();
    await expect(store.bulkLoad!('c', [{ _id: 'a' }, { _id: 3 } as unknown as Doc])).rejects.toThrow(TypeError);
    expect(await store.collection('c').countDocuments({})).toBe(0);
    const nested = { deep: [1, 2] };
    await store.bulkLoad!('c', new Map([['a', { _id: 'a', nested }], ['b', { _id: 'b', nested }]]).values());
    const a = await store.collection('c').findOne({ _id: 'a' });
    expect(a).toEqual({ _id: 'a', nested: { deep: [1, 2] } });
    a!.nested = null; // reads are copies
    expect((await store.collection('c').findOne({ _id: 'a' }))?.nested).toEqual({ deep: [1, 2] });
    // updates of one document leave the other (sharing the adopted object) alone
    await store.collection('c').updateOne({ _id: 'a' }, { $set: { 'nested.deep': [3] } });
    expect((await store.collection('c').findOne({ _id: 'b' }))?.nested).toEqual({ deep: [1, 2] });
    expect(store.listCollections()).toEqual(['c']);
  });
});
