import { find as mingoFind } from 'mingo';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_INDEX_HINTS, readStoreContract } from '@muster/read-store/contract';
import { createMemoryReadStore, type MemoryCollection, type MemoryReadStore } from './memory.ts';
import { PointMap, type Entry } from './memory-index.ts';
import { DuplicateKeyError, SHARED_RESULTS, type Doc, type Filter, type FindOptions } from '@muster/read-store/port';
import type { MemoryIndexSpec as IndexSpec } from './memory.ts';
import { containsIgnoreCase, foldCase, foldedPrefix } from '@muster/read-store/text';
import { rng } from './testing/rng.ts';

readStoreContract('memory', async () => {
  const store = createMemoryReadStore({ indexHints: CONTRACT_INDEX_HINTS });
  return { store, cleanup: () => store.close() };
});

// every filter evaluated by mingo alone: the compiled matcher must not change any result
readStoreContract('memory (mingo evaluator only)', async () => {
  const store = createMemoryReadStore({ fastFilters: false, indexHints: CONTRACT_INDEX_HINTS });
  return { store, cleanup: () => store.close() };
});

// contains-searches served by index ranges and block summaries only, without the n-gram lists
readStoreContract('memory (no n-gram lists)', async () => {
  const store = createMemoryReadStore({ textPostings: false, indexHints: CONTRACT_INDEX_HINTS });
  return { store, cleanup: () => store.close() };
});

/** deterministic PRNG */

const sortedIds = (docs: Doc[]): string[] => docs.map((d) => d._id).sort();

interface Person extends Doc {
  listId: string;
  status: string;
  fields: { firstName: string; lastName: string; email: string };
  userNameLower: string;
  n: number;
}

describe('memory: indexed lookups on 100,000 documents do not scan', () => {
  const N = 100_000;
  const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie'];
  const LAST = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lamport', 'Smith', 'Smythe'];
  const docs: Person[] = [];
  let store: MemoryReadStore;
  let people: MemoryCollection<Person>;

  beforeAll(async () => {
    const rand = rng(1);
    for (let i = 0; i < N; i++) {
      const first = FIRST[Math.floor(rand() * FIRST.length)];
      const last = LAST[Math.floor(rand() * LAST.length)];
      const email = `${first}.${last}${i}@Example.com`;
      docs.push({
        _id: `p${i}`,
        listId: `L${i % 4}`,
        status: rand() < 0.9 ? 'active' : 'inactive',
        fields: { firstName: first, lastName: last, email },
        userNameLower: foldCase(email),
        n: i,
      });
    }
    store = createMemoryReadStore();
    await store.ensureIndexes('people', [
      { key: { userNameLower: 1 }, name: 'userNameLower_1', unique: true },
      {
        key: { listId: 1, status: 1, 'fields.lastName': 1 },
        name: 'list_status_lastName',
        searchFields: ['fields.firstName', 'fields.lastName', 'fields.email'],
      },
    ]);
    people = store.collection<Person>('people');
    for (const d of docs) await people.insertOne(d);
  }, 60_000);

  it('_id lookups read one document', () => {
    expect(people.explain({ _id: 'p77' })).toMatchObject({ stage: 'IDHACK', docsExamined: 1, nReturned: 1 });
    expect(people.explain({ _id: { $in: ['p1', 'p2', 'nope'] } })).toMatchObject({ stage: 'IDHACK', docsExamined: 2, nReturned: 2 });
  });

  it('equality and $in on a unique index examine only the matching documents', async () => {
    const d = docs[54321];
    const plan = people.explain({ userNameLower: d.userNameLower });
    expect(plan).toMatchObject({ stage: 'IXSCAN', index: 'userNameLower_1', nReturned: 1 });
    expect(plan.docsExamined).toBe(1);
    expect(plan.keysExamined).toBeLessThanOrEqual(1);
    expect((await people.findOne({ userNameLower: foldCase(d.fields.email.toUpperCase()) }))?._id).toBe('p54321');
    const three = [docs[1], docs[500], docs[99_999]].map((x) => x.userNameLower);
    expect(people.explain({ userNameLower: { $in: three }, status: { $exists: true } })).toMatchObject({ docsExamined: 3, nReturned: 3 });
  });

  it('a point lookup on a fully bound compound key uses that index, sorts its few matches, and falls back to comparing plans when many share the key', async () => {
    const s = createMemoryReadStore();
    await s.ensureIndexes('t', [
      { key: { listId: 1, status: 1 }, name: 'list_status' },
      { key: { listId: 1, name: 1 }, name: 'list_name' },
    ]);
    const t = s.collection<{ _id: string; listId: string; status: string; name: string; n: number }>('t');
    for (let i = 0; i < 200; i++) await t.insertOne({ _id: `d${i}`, listId: `L${i % 2}`, status: i % 10 === 0 ? 'gone' : 'active', name: `n${i % 50}`, n: i });
    // 4 documents behind (L1, n7): the point plan, whatever the sort
    const filter = { listId: 'L1', name: 'n7', status: 'active' };
    expect(t.explain(filter)).toMatchObject({ stage: 'IXSCAN', index: 'list_name', docsExamined: 4, nReturned: 4, indexesPlanned: 2 });
    expect((await t.find(filter, { sort: { n: -1 } })).map((d) => d.n)).toEqual([157, 107, 57, 7]);
    // (L0, active) holds 80 documents: not a point lookup, so the planner compares every index's range
    expect(t.explain({ listId: 'L0', status: 'active' })).toMatchObject({ index: 'list_status', docsExamined: 80, indexesPlanned: 3 });
    // the first fully bound index with few entries ends the planning
    expect(t.explain({ listId: 'L1', status: 'gone', name: 'n7' })).toMatchObject({ index: 'list_status', nReturned: 0, indexesPlanned: 1 });
    await s.close();
  });

  it('a field without an index is a collection scan (the counter is real)', () => {
    expect(people.explain({ 'fields.email': docs[5].fields.email })).toMatchObject({ stage: 'COLLSCAN', docsExamined: N, nReturned: 1 });
  });

  it('anchored prefixes use the index range', async () => {
    const prefix = 'ada.lovelace1234';
    const expected = docs.filter((d) => d.userNameLower.startsWith(prefix));
    const plan = people.explain({ userNameLower: foldedPrefix(prefix) });
    expect(plan.stage).toBe('IXSCAN');
    expect(plan.docsExamined).toBe(expected.length);
    expect(sortedIds(await people.find({ userNameLower: foldedPrefix(prefix) }))).toEqual(sortedIds(expected));
    // compound: equality on the leading keys, prefix on the next one
    const filter = { listId: 'L2', status: 'active', 'fields.lastName': /^Smy/ };
    const compound = docs.filter((d) => d.listId === 'L2' && d.status === 'active' && d.fields.lastName.startsWith('Smy'));
    expect(people.explain(filter)).toMatchObject({ index: 'list_status_lastName', docsExamined: compound.length });
    expect(sortedIds(await people.find(filter))).toEqual(sortedIds(compound));
  });

  it('indexed equality lookups stay well under a millisecond', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 300; i++) {
      const d = docs[(i * 7919) % N];
      const t0 = performance.now();
      await people.findOne({ userNameLower: d.userNameLower });
      samples.push(performance.now() - t0);
    }
    samples.sort((a, b) => a - b);
    expect(samples[150]).toBeLessThan(1); // median, in ms (typically ~0.02)
  });

  it('sort + limit over a large candidate set follows the index order and stops early', async () => {
    const filter = { listId: 'L1', status: 'active' };
    const expected = docs
      .filter((d) => d.listId === 'L1' && d.status === 'active')
      .sort((a, b) => (a.fields.lastName < b.fields.lastName ? -1 : a.fields.lastName > b.fields.lastName ? 1 : a._id < b._id ? -1 : 1));
    const opts = { sort: { 'fields.lastName': 1 as const, _id: 1 as const }, skip: 10, limit: 50 };
    const plan = people.explain(filter, opts);
    expect(plan).toMatchObject({ stage: 'IXSCAN', sortedByIndex: true, docsExamined: 60, nReturned: 50 });
    expect((await people.find(filter, opts)).map((d) => d._id)).toEqual(expected.slice(10, 60).map((d) => d._id));
    // a whole-index walk serves a sort on a unique index's key, in both directions
    const byUser = [...docs].sort((a, b) => (a.userNameLower < b.userNameLower ? -1 : 1));
    const lastUsers = { sort: { userNameLower: -1 as const }, limit: 5 };
    expect(people.explain({}, lastUsers)).toMatchObject({ index: 'userNameLower_1', sortedByIndex: true, docsExamined: 5 });
    expect((await people.find({}, lastUsers)).map((d) => d._id)).toEqual(byUser.slice(-5).reverse().map((d) => d._id));
    expect((await people.find({}, { sort: { userNameLower: 1 }, limit: 5 })).map((d) => d._id)).toEqual(byUser.slice(0, 5).map((d) => d._id));
    const desc = { sort: { 'fields.lastName': -1 as const, _id: -1 as const }, limit: 20 };
    expect(people.explain(filter, desc)).toMatchObject({ sortedByIndex: true, docsExamined: 20 });
    expect((await people.find(filter, desc)).map((d) => d._id)).toEqual(expected.slice(-20).reverse().map((d) => d._id));
  });

  it('contains-searches examine only the candidates of the exact n-gram lists, with the same results', async () => {
    const page = (term: string) => ({
      listId: 'L3',
      status: 'active',
      $or: [
        { 'fields.firstName': containsIgnoreCase(term) },
        { 'fields.lastName': containsIgnoreCase(term) },
        { 'fields.email': containsIgnoreCase(term) },
      ],
    });
    const opts = { sort: { 'fields.lastName': 1 as const }, limit: 50 };
    // 100,000 documents: the first search starts listing them in the background and uses the block summaries meanwhile
    expect(people.explain(page('qqzx'), opts)).toMatchObject({ stage: 'IXSCAN', nReturned: 0 });
    expect(people.explain(page('qqzx'), opts).textBlocks?.withHits).toBeLessThanOrEqual(1);
    await people.searchReady();
    const none = people.explain(page('qqzx'), opts);
    expect(none).toMatchObject({ stage: 'TEXT', docsExamined: 0, nReturned: 0 });

    const target = docs.find((d) => d.listId === 'L3' && d.status === 'active' && d.n > 90_000)!;
    const term = target.fields.email.slice(0, -12).toUpperCase(); // e.g. "KEN.SMITH90123"
    const expected = docs.filter(
      (d) => d.listId === 'L3' && d.status === 'active' && [d.fields.firstName, d.fields.lastName, d.fields.email].some((v) => v.toUpperCase().includes(term)),
    );
    const rare = people.explain(page(term), opts);
    expect(rare).toMatchObject({ stage: 'TEXT', nReturned: expected.length });
    expect(rare.docsExamined).toBeLessThan(50);
    expect(sortedIds(await people.find(page(term), opts))).toEqual(sortedIds(expected));

    // a common text: a sorted page still walks the index (it fills after a few hundred entries),
    // the count (every match) tests only the candidates, far fewer than the list's range
    const common = (d: Person) => d.listId === 'L3' && d.status === 'active' && [d.fields.firstName, d.fields.lastName, d.fields.email].some((v) => v.toLowerCase().includes('ada'));
    const all = docs.filter(common);
    const range = docs.filter((d) => d.listId === 'L3' && d.status === 'active').length;
    expect(people.explain(page('ada'), opts)).toMatchObject({ stage: 'IXSCAN', sortedByIndex: true, nReturned: 50 });
    const count = people.explain(page('ada'));
    expect(count).toMatchObject({ stage: 'TEXT', nReturned: all.length });
    expect(count.docsExamined).toBeLessThan(range / 2);
    expect(await people.countDocuments(page('aDa'))).toBe(all.length);
    // a sort no index delivers: candidates, then the top of them
    const byFirst = { sort: { 'fields.firstName': -1 as const, _id: 1 as const }, skip: 5, limit: 20 };
    const want = [...all].sort((a, b) => (a.fields.firstName !== b.fields.firstName ? (a.fields.firstName < b.fields.firstName ? 1 : -1) : a._id < b._id ? -1 : 1));
    expect((await people.find(page('ada'), byFirst)).map((d) => d._id)).toEqual(want.slice(5, 25).map((d) => d._id));
    expect(people.explain(page('ada'), byFirst).stage).toBe('TEXT');
  });
});

describe('memory: block summaries follow document changes that keep the index keys', () => {
  it('finds text written by $set, replaceOne and updateMany after the document was indexed', async () => {
    const store = createMemoryReadStore({ textPostings: false, indexHints: CONTRACT_INDEX_HINTS }); // block summaries alone (the n-gram lists: text-postings.test.ts)
    await store.ensureIndexes('c', [{ key: { list: 1 }, name: 'list_1', searchFields: ['email', 'tags'] }]);
    const c = store.collection('c');
    for (let i = 0; i < 5000; i++) await c.insertOne({ _id: `p${i}`, list: 'L', email: `user${i}@example.org`, tags: [`t${i % 7}`] });
    const search = (text: string) => c.find({ list: 'L', email: containsIgnoreCase(text) });
    const searchTags = (text: string) => c.find({ list: 'L', tags: containsIgnoreCase(text) });

    expect(await search('QQZZXX')).toEqual([]);
    await c.updateOne({ _id: 'p1234' }, { $set: { email: 'qqzzxx@example.org' } }); // list (the key) unchanged
    expect((await search('QQZZXX')).map((d) => d._id)).toEqual(['p1234']);

    await c.replaceOne({ _id: 'p4321' }, { _id: 'p4321', list: 'L', email: 'wwvvkk@example.org', tags: [] });
    expect((await search('wwvvkk')).map((d) => d._id)).toEqual(['p4321']);

    await c.updateMany({ _id: { $in: ['p7', 'p4999'] } }, { $push: { tags: 'jjhhgg' } });
    expect((await searchTags('JJHHGG')).map((d) => d._id).sort()).toEqual(['p4999', 'p7']);
    const plan = c.explain({ list: 'L', tags: containsIgnoreCase('jjhhgg') });
    expect(plan.textBlocks!.withHits).toBeLessThan(plan.textBlocks!.scanned);
  });
});

describe('memory: partial and multikey indexes in queries', () => {
  it('a partial index serves only queries that imply its filter', async () => {
    const store = createMemoryReadStore();
    await store.ensureIndexes('c', [
      { key: { code: 1 }, name: 'code_active', unique: true, partialFilterExpression: { active: true } },
    ]);
    const c = store.collection('c');
    await c.insertOne({ _id: 'a', code: 'X', active: true });
    await c.insertOne({ _id: 'b', code: 'X', active: false });
    expect(c.explain({ code: 'X', active: true })).toMatchObject({ stage: 'IXSCAN', index: 'code_active', nReturned: 1 });
    const all = c.explain({ code: 'X' });
    expect(all.stage).toBe('COLLSCAN');
    expect(all.nReturned).toBe(2);
  });

  it('a multikey index finds array elements and never claims index order for sorts', async () => {
    const store = createMemoryReadStore();
    await store.ensureIndexes('c', [{ key: { tags: 1 }, name: 'tags_1' }]);
    const c = store.collection('c');
    await c.insertOne({ _id: 'a', tags: ['z', 'b'] });
    await c.insertOne({ _id: 'b', tags: ['c'] });
    await c.insertOne({ _id: 'c', tags: 'a' });
    for (let i = 0; i < 10; i++) await c.insertOne({ _id: `other${i}`, tags: ['q', `t${i}`] });
    expect(c.explain({ tags: 'b' })).toMatchObject({ stage: 'IXSCAN', docsExamined: 1, nReturned: 1 });
    expect(c.explain({ tags: { $in: ['z', 'b', 'c'] } })).toMatchObject({ docsExamined: 2, nReturned: 2 });
    const few = { _id: { $in: ['a', 'b', 'c'] } };
    const sorted = await c.find(few, { sort: { tags: -1 } });
    // descending sorts use each array's largest element: z (a), c (b), a (c)
    expect(sorted.map((d) => d._id)).toEqual(['a', 'b', 'c']);
    expect(c.explain({}, { sort: { tags: 1 } }).sortedByIndex).toBe(false);
    // ascending: smallest element: a (c), b (a), c (b)
    expect((await c.find(few, { sort: { tags: 1 } })).map((d) => d._id)).toEqual(['c', 'a', 'b']);
  });
});

// ---------------------------------------------------------------------------------------------
// differential tests: the planner + compiled filters against mingo on the same documents
// ---------------------------------------------------------------------------------------------

const SCALARS: unknown[] = ['a', 'b', 'B', 'abc', 'Abd', 'x', '', 1, 2, 2.5, -1, 0, true, false, null];

function randomDocs(rand: () => number, n: number): Doc[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const maybe = (v: () => unknown): unknown => (rand() < 0.2 ? undefined : v());
  const docs: Doc[] = [];
  for (let i = 0; i < n; i++) {
    const d: Record<string, unknown> = { _id: `d${String(i).padStart(3, '0')}` };
    const fields: Record<string, () => unknown> = {
      s: () => pick(['a', 'b', 'B', 'abc', 'Abd', 'xaby', '', null, 5]),
      n: () => pick([1, 2, 2.5, -1, 0, null, '1', 3]),
      flag: () => pick([true, false]),
      tags: () => pick([[], ['x'], ['x', 'y'], ['y', null], 'x', [['x']]]),
      a: () => pick([{ b: 1 }, { b: 'x' }, { b: null }, { c: 1 }, [{ b: 1 }, { b: 2 }], null, 'str', { b: 'Xab' }]),
      nested: () => ({ deep: pick([{ v: 'a' }, { v: 2 }, {}, { v: ['a', 'b'] }]) }),
      text: () => pick(['Hello World', 'hello', 'WORLD peace', 'Ünïcödé ß', 'abc-def', 'xyzzy']),
    };
    for (const [k, gen] of Object.entries(fields)) {
      const v = maybe(gen);
      if (v !== undefined) d[k] = v;
    }
    docs.push(d as Doc);
  }
  return docs;
}

function randomFilter(rand: () => number, depth = 0): Filter {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const field = pick(['s', 'n', 'flag', 'tags', 'a.b', 'a', 'nested.deep.v', 'text', '_id', 'missing']);
  const scalar = () => pick(SCALARS);
  const cond = (): unknown => {
    switch (Math.floor(rand() * 16)) {
      case 0:
        return scalar();
      case 1:
        return { $eq: scalar() };
      case 2:
        return { $ne: scalar() };
      case 3:
        return { $in: [scalar(), scalar()] };
      case 4:
        return { $nin: [scalar(), scalar()] };
      case 5:
        return { [pick(['$gt', '$gte', '$lt', '$lte'])]: pick([1, 2, 'a', 'B', 0]) };
      case 6:
        return { $exists: rand() < 0.5 };
      case 7:
        return { $regex: pick(['^a', 'b', '^A', 'x', '^abc', 'world', 'ab', '^abc?', '^ab*', '^x|b', '^a\\.?', '^Ab{1}d', '^(a)b']), ...(rand() < 0.5 ? { $options: 'i' } : {}) };
      case 8:
        return pick([/^a/, /b/i, /^x/, /World/, /^Ab/]);
      case 9:
        return { $size: pick([0, 1, 2]) };
      case 10:
        return { $elemMatch: { $eq: pick(['x', 'y']) } };
      case 11:
        return { $not: { $eq: scalar() } };
      case 12:
        return { $gt: 0, $lt: 3 };
      case 13:
        return { $type: pick(['string', 'number', 'array']) };
      case 14:
        return containsIgnoreCase(pick(['ell', 'WOR', 'ab', 'zz', 'ü', 'SS']));
      default:
        return { $in: [scalar(), null] };
    }
  };
  const r = rand();
  if (depth < 2 && r < 0.15) return { [pick(['$and', '$or', '$nor'])]: [randomFilter(rand, depth + 1), randomFilter(rand, depth + 1)] };
  const f: Record<string, unknown> = { [field]: cond() };
  if (r > 0.6) f[pick(['flag', 's', 'n'])] = cond();
  return f;
}

function mingoIds(docs: Doc[], filter: Filter): string[] {
  return (mingoFind(docs, filter).all() as Doc[]).map((d) => d._id).sort();
}

const DIFF_INDEXES: IndexSpec[] = [
  { key: { s: 1 }, name: 's_1' },
  { key: { n: 1, s: -1 }, name: 'n_s' },
  { key: { tags: 1 }, name: 'tags_1' },
  { key: { 'a.b': 1 }, name: 'a_b' },
  { key: { 'nested.deep.v': 1 }, name: 'deep' },
  { key: { flag: 1 }, name: 'flag_1', searchFields: ['text', 's', 'a.b'] },
];

describe('memory: results equal mingo on randomised documents and filters', () => {
  it('find and countDocuments, with and without indexes and the compiled matcher', async () => {
    const rand = rng(7);
    const docs = randomDocs(rand, 300);
    const stores: MemoryReadStore[] = [];
    for (const [indexes, fastFilters] of [
      [DIFF_INDEXES, true],
      [DIFF_INDEXES, false],
      [[], true],
    ] as const) {
      const store = createMemoryReadStore({ fastFilters });
      await store.ensureIndexes('c', indexes as IndexSpec[]);
      for (const d of docs) await store.collection('c').insertOne(d);
      stores.push(store);
    }
    let nonEmpty = 0;
    let indexed = 0;
    for (let i = 0; i < 400; i++) {
      const filter = randomFilter(rand);
      const expected = mingoIds(docs, filter);
      if (expected.length > 0) nonEmpty++;
      for (const store of stores) {
        const c = store.collection('c');
        const got = sortedIds(await c.find(filter));
        expect(got, JSON.stringify(filter)).toEqual(expected);
        expect(await c.countDocuments(filter)).toBe(expected.length);
      }
      if (stores[0].collection('c').explain(filter).stage === 'IXSCAN') indexed++;
    }
    // the generator must exercise both outcomes and the index paths
    expect(nonEmpty).toBeGreaterThan(100);
    expect(indexed).toBeGreaterThan(50);
  });

  it('contains-search candidates from block summaries or n-gram lists never lose a match', async () => {
    const rand = rng(11);
    const docs = randomDocs(rand, 3000); // several blocks
    for (const textPostings of [false, true]) {
      const store = createMemoryReadStore({ textPostings });
      await store.ensureIndexes('c', DIFF_INDEXES);
      const c = store.collection('c');
      for (const d of docs) await c.insertOne(d);
      for (const term of ['ell', 'WOR', 'hello world', 'xyz', 'Ünï', 'ß', 'ab', 'c-d', 'nope', 'Xab']) {
        for (const flag of [true, false]) {
          const filter = { flag, $or: [{ text: containsIgnoreCase(term) }, { s: containsIgnoreCase(term) }, { 'a.b': containsIgnoreCase(term) }] };
          const plan = c.explain(filter);
          if (textPostings) expect(plan.textBlocks ?? plan.textPostings, JSON.stringify(filter)).toBeDefined();
          else expect(plan.textBlocks, JSON.stringify(filter)).toBeDefined();
          expect(sortedIds(await c.find(filter)), JSON.stringify(filter)).toEqual(mingoIds(docs, filter));
          expect(await c.countDocuments(filter), JSON.stringify(filter)).toBe(mingoIds(docs, filter).length);
          const single = { flag, text: new RegExp(term.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')) };
          expect(sortedIds(await c.find(single)), String(single.text)).toEqual(mingoIds(docs, single));
        }
      }
    }
  });

  it('sorted results agree between index order and in-memory sort', async () => {
    const rand = rng(3);
    const docs = randomDocs(rand, 400).filter((d) => !Array.isArray((d as Record<string, unknown>).s));
    const indexed = createMemoryReadStore();
    await indexed.ensureIndexes('c', [{ key: { s: 1 }, name: 's_1' }, { key: { flag: 1, n: -1 }, name: 'flag_n' }]);
    const plain = createMemoryReadStore();
    for (const d of docs) {
      await indexed.collection('c').insertOne(d);
      await plain.collection('c').insertOne(d);
    }
    const cases: Array<[Filter, Record<string, 1 | -1>]> = [
      [{}, { s: 1, _id: 1 }],
      [{}, { s: -1, _id: -1 }],
      [{ flag: true }, { n: -1, _id: 1 }],
      [{ flag: false }, { n: 1, _id: -1 }],
      [{ flag: true, s: { $ne: 'a' } }, { flag: 1, n: -1, _id: 1 }],
    ];
    for (const [filter, sort] of cases) {
      for (const [skip, limit] of [
        [0, 0],
        [5, 10],
        [0, 1],
      ]) {
        const a = await indexed.collection('c').find(filter, { sort, skip, limit });
        const b = await plain.collection('c').find(filter, { sort, skip, limit });
        expect(a.map((d) => d._id), JSON.stringify({ filter, sort, skip, limit })).toEqual(b.map((d) => d._id));
      }
    }
    expect(indexed.collection('c').explain({ flag: true }, { sort: { n: -1, _id: 1 }, limit: 5 }).sortedByIndex).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// index maintenance: random writes against an indexed store and an unindexed twin
// ---------------------------------------------------------------------------------------------

describe('memory: indexes stay consistent under random writes', () => {
  it('inserts, updates, replaces and deletes keep unique indexes, lookups and search summaries exact', async () => {
    const rand = rng(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const indexed = createMemoryReadStore();
    await indexed.ensureIndexes('c', [
      { key: { email: 1 }, name: 'email_1', unique: true },
      { key: { list: 1, emp: 1 }, name: 'list_emp', unique: true, partialFilterExpression: { emp: { $exists: true } } },
      { key: { list: 1, last: 1 }, name: 'list_last', searchFields: ['first', 'last', 'email'] },
      { key: { tags: 1 }, name: 'tags_1' },
    ]);
    const plain = createMemoryReadStore();
    const A = indexed.collection('c');
    const B = plain.collection('c');
    const names = ['ann', 'bob', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon', 'kim', 'lee', 'max', 'ned', 'oz'];
    const randomPerson = (id: string): Doc => {
      const d: Record<string, unknown> = {
        _id: id,
        list: pick(['L1', 'L2']),
        first: pick(names),
        last: pick(names) + pick(names),
        email: `${pick(names)}${Math.floor(rand() * 300)}@x.org`,
        tags: rand() < 0.5 ? [pick(names), pick(names)] : pick(names),
      };
      if (rand() < 0.6) d.emp = `E${Math.floor(rand() * 200)}`;
      return d as Doc;
    };
    let ok = 0;
    let dup = 0;
    for (let step = 0; step < 2500; step++) {
      const id = `p${Math.floor(rand() * 400)}`;
      const op = rand();
      let run: (c: typeof A) => Promise<unknown>;
      if (op < 0.35) {
        const doc = randomPerson(id);
        run = (c) => c.insertOne(doc);
      } else if (op < 0.6) {
        const set = pick([
          { email: `${pick(names)}${Math.floor(rand() * 300)}@x.org` },
          { last: pick(names) + pick(names) },
          { first: pick(names), list: pick(['L1', 'L2']) },
          { emp: `E${Math.floor(rand() * 200)}` },
        ]);
        const upsert = rand() < 0.3;
        run = (c) => c.updateOne({ _id: id }, { $set: set }, { upsert });
      } else if (op < 0.7) {
        const doc = randomPerson(id);
        const upsert = rand() < 0.5;
        run = (c) => c.replaceOne({ _id: id }, doc, { upsert });
      } else if (op < 0.8) {
        const list = pick(['L1', 'L2']);
        const tag = pick(names);
        const last = pick(names);
        run = (c) => c.updateMany({ list, tags: tag }, { $set: { last }, $unset: { emp: '' } });
      } else if (op < 0.9) {
        run = (c) => c.deleteOne({ _id: id });
      } else {
        const tag = pick(names);
        run = (c) => c.deleteMany({ tags: tag, list: 'L2' });
      }
      const before = await A.find({}, { sort: { _id: 1 } });
      try {
        await run(A);
        ok++;
        await run(B);
      } catch (err) {
        if (!(err instanceof DuplicateKeyError)) throw err;
        dup++;
        // nothing was written for the failing document (updateMany may have written earlier ones)
        const after = await A.find({}, { sort: { _id: 1 } });
        const changed = after.filter((d, i) => JSON.stringify(d) !== JSON.stringify(before[i]));
        expect(after.length).toBe(before.length);
        // re-sync the twin with whatever the indexed store legitimately kept
        for (const d of changed) await B.replaceOne({ _id: d._id }, d);
      }
      if (step % 50 === 0 || step === 2499) {
        const all = await A.find({}, { sort: { _id: 1 } });
        expect(all).toEqual(await B.find({}, { sort: { _id: 1 } }));
        const emails = all.map((d) => d.email);
        expect(new Set(emails).size).toBe(emails.length);
        const emps = all.filter((d) => d.emp !== undefined).map((d) => `${d.list}/${d.emp}`);
        expect(new Set(emps).size).toBe(emps.length);
        for (const q of [
          { email: pick(emails) },
          { list: 'L1', last: { $regex: `^${pick(names)}` } },
          { tags: pick(names) },
          { list: pick(['L1', 'L2']), $or: [{ first: containsIgnoreCase(pick(names).slice(0, 3)) }, { email: containsIgnoreCase(pick(names)) }] },
          { list: 'L2', last: containsIgnoreCase(pick(names) + pick(names).slice(0, 1)) },
        ]) {
          expect(sortedIds(await A.find(q)), JSON.stringify(q)).toEqual(sortedIds(await B.find(q)));
        }
      }
    }
    expect(ok).toBeGreaterThan(1000);
    expect(dup).toBeGreaterThan(50);
  });
});

describe('memory: copies, validation, lifecycle', () => {
  it('projection results are copies too', async () => {
    const store = createMemoryReadStore();
    const c = store.collection('c');
    await c.insertOne({ _id: 'a', nested: { list: [1, 2] } });
    const projected = (await c.findOne({ _id: 'a' }, { projection: { nested: 1 } })) as { nested: { list: number[] } } | null;
    projected!.nested.list.push(3);
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', nested: { list: [1, 2] } });
  });

  it('rejects non-string ids, conflicting index definitions and use after close', async () => {
    const store = createMemoryReadStore();
    const c = store.collection('c');
    await expect(c.insertOne({ _id: 5 } as unknown as Doc)).rejects.toThrow(/_id/);
    await store.ensureIndexes('c', [{ key: { a: 1 }, name: 'a_1' }]);
    await expect(store.ensureIndexes('c', [{ key: { a: 1 }, name: 'a_1', unique: true }])).rejects.toThrow(/different options/);
    await expect(store.ensureIndexes('c', [{ key: { a: 1 }, name: 'other' }])).rejects.toThrow(/different name/);
    expect(store.listCollections()).toEqual(['c']);
    await store.close();
    await expect(c.find({})).rejects.toThrow(/closed/);
  });

  it('positional $ updates use the filter to pick the array element', async () => {
    const store = createMemoryReadStore();
    const c = store.collection('c');
    await c.insertOne({ _id: 'a', roles: [{ name: 'x', on: false }, { name: 'y', on: false }] });
    await c.updateOne({ _id: 'a', 'roles.name': 'y' }, { $set: { 'roles.$.on': true } });
    expect((await c.findOne({ _id: 'a' }))?.roles).toEqual([
      { name: 'x', on: false },
      { name: 'y', on: true },
    ]);
  });
});

describe('memory: top-level projections without mingo', () => {
  it('give what mingo gives for inclusion, exclusion and _id on random documents', async () => {
    const rand = rng(5);
    const keys = ['a', 'b', 'c', 'nested', 'list'];
    const docs: Doc[] = Array.from({ length: 200 }, (_, i) => {
      const d: Doc = { _id: `d${i}` };
      for (const k of keys) if (rand() < 0.7) d[k] = k === 'nested' ? { x: i, y: [i, { z: 'q' }] } : k === 'list' ? [i, 'v', null] : rand() < 0.2 ? null : `${k}${i}`;
      return d;
    });
    const store = createMemoryReadStore();
    const c = store.collection('p');
    for (const d of docs) await c.insertOne(d);
    const projections: Array<Record<string, 0 | 1>> = [{ _id: 1 }, { _id: 0 }, { a: 1 }, { a: 1, nested: 1, _id: 0 }, { b: 0 }, { b: 0, list: 0, _id: 0 }, { missing: 1 }, { missing: 0 }];
    for (let i = 0; i < 20; i++) {
      const pick = keys.filter(() => rand() < 0.4);
      const on = rand() < 0.5 ? 1 : 0;
      const p: Record<string, 0 | 1> = Object.fromEntries(pick.map((k) => [k, on]));
      if (rand() < 0.3) p._id = 0;
      if (Object.keys(p).length) projections.push(p);
    }
    for (const p of projections) {
      // no sort: both give documents in insertion order (and _id may be projected away)
      const got = await c.find({}, { projection: p });
      const want = mingoFind(docs.map((d) => structuredClone(d)), {}, p).all();
      expect(got, JSON.stringify(p)).toEqual(want);
    }
    // the documents handed out are copies
    const [first] = await c.find({ _id: 'd1' }, { projection: { nested: 1 } });
    (first.nested as { x: number }).x = -1;
    expect(((await c.findOne({ _id: 'd1' }))!.nested as { x: number }).x).toBe(1);
    await store.close();
  });
});

describe('memory: shared results for a caller that copies them itself', () => {
  it('hands out the stored documents with SHARED_RESULTS, copies without it, and an update replaces rather than changes them', async () => {
    const store = createMemoryReadStore();
    const c = store.collection('s');
    await c.insertOne({ _id: 'a', n: 1, tags: ['x'] });
    const shared1 = await c.findOne({ _id: 'a' }, { [SHARED_RESULTS]: true } as FindOptions);
    const shared2 = (await c.find({ n: 1 }, { [SHARED_RESULTS]: true } as FindOptions))[0];
    expect(shared1).toBe(shared2);
    const copy = await c.findOne({ _id: 'a' });
    expect(copy).toEqual(shared1);
    expect(copy).not.toBe(shared1);
    await c.updateOne({ _id: 'a' }, { $set: { n: 2 }, $push: { tags: 'y' } });
    expect(shared1).toEqual({ _id: 'a', n: 1, tags: ['x'] }); // what was handed out never changes
    expect(await c.findOne({ _id: 'a' }, { [SHARED_RESULTS]: true } as FindOptions)).toEqual({ _id: 'a', n: 2, tags: ['x', 'y'] });
    await store.close();
  });
});

describe('memory: pointLookups (a hash of full index keys beside the sorted index)', () => {
  it('answers exactly like the sorted index through random inserts, updates, deletes, bulk loads, arrays and non-string keys', async () => {
    const rand = rng(11);
    const spec = (pointLookups: boolean): IndexSpec => ({ key: { listId: 1, name: 1 }, name: 'by_list_name', ...(pointLookups ? { pointLookups } : {}) });
    const hashed = createMemoryReadStore();
    const plain = createMemoryReadStore();
    const names = ['ada', 'Ada', 'grace', '1:x', '', 'x\u0000y', 'zoë'];
    const value = (): unknown => {
      const r = rand();
      if (r < 0.6) return names[Math.floor(rand() * names.length)];
      if (r < 0.7) return [names[Math.floor(rand() * names.length)], names[Math.floor(rand() * names.length)]];
      if (r < 0.8) return 7;
      if (r < 0.9) return null;
      return undefined;
    };
    const doc = (i: number): Doc => {
      const d: Doc = { _id: `d${i}`, listId: `L${Math.floor(rand() * 3)}` };
      const v = value();
      if (v !== undefined) d.name = v;
      return d;
    };
    // the hashed store gets its index before (entry by entry) or after (bulk build) the first documents
    await plain.ensureIndexes('c', [spec(false)]);
    const seed = Array.from({ length: 150 }, (_, i) => doc(i));
    for (const d of seed) { await plain.collection('c').insertOne(d); await hashed.collection('c').insertOne(structuredClone(d)); }
    await hashed.ensureIndexes('c', [spec(true)]);
    const both = async (f: (s: ReturnType<typeof createMemoryReadStore>) => Promise<unknown>) => { await f(plain); await f(hashed); };
    const check = async () => {
      for (const l of ['L0', 'L1', 'L2']) for (const n of names) {
        const filter = { listId: l, name: n };
        const want = sortedIds(await plain.collection('c').find(filter));
        expect(sortedIds(await hashed.collection('c').find(filter)), JSON.stringify(filter)).toEqual(want);
        expect(hashed.collection('c').explain(filter)).toMatchObject({ index: 'by_list_name', pointLookup: true, nReturned: want.length });
      }
      // not strings: answered by the sorted index
      expect(hashed.collection('c').explain({ listId: 'L0', name: 7 }).pointLookup).toBeUndefined();
      expect(sortedIds(await hashed.collection('c').find({ listId: 'L0', name: 7 }))).toEqual(sortedIds(await plain.collection('c').find({ listId: 'L0', name: 7 })));
    };
    await check();
    for (let step = 0; step < 600; step++) {
      const id = `d${Math.floor(rand() * 200)}`;
      const r = rand();
      if (r < 0.35) {
        const d = doc(Number(id.slice(1)));
        await both(async (s) => { await s.collection('c').replaceOne({ _id: id }, structuredClone(d), { upsert: true }); });
      } else if (r < 0.7) {
        const v = value();
        const update = v === undefined ? { $unset: { name: 1 } } : { $set: { name: v } };
        await both(async (s) => { await s.collection('c').updateOne({ _id: id }, update); });
      } else {
        await both(async (s) => { await s.collection('c').deleteOne({ _id: id }); });
      }
      if (step % 100 === 99) await check();
    }
    await plain.close();
    await hashed.close();
  });
});

describe('PointMap (the pointLookups maps, one level per key field)', () => {
  const entry = (id: string, ...k: unknown[]): Entry => ({ k, rec: { id, doc: { _id: id } } });
  const ids = (es: readonly Entry[]) => es.map((e) => e.rec.id);

  it('holds entries by their full key of strings, never keys with other values, and drops emptied maps', () => {
    const m = new PointMap(3);
    const a = entry('a', 'L', 'x', '1');
    const b = entry('b', 'L', 'x', '1');
    const c = entry('c', 'L', 'y', '1');
    const n = entry('n', 'L', null, '1');
    const seven = entry('7', 'L', 7, '1');
    for (const e of [a, b, c, n, seven]) m.add(e);
    expect(ids(m.get(['L', 'x', '1']))).toEqual(['a', 'b']);
    expect(ids(m.get(['L', 'y', '1']))).toEqual(['c']);
    expect(m.get(['L', 'x'])).toEqual([]); // a prefix is not a key
    expect(m.get(['L', null, '1'])).toEqual([]);
    expect(m.get(['L', 7, '1'])).toEqual([]);
    expect(m.get(['L', 'x', '2'])).toEqual([]);
    m.remove(n); // never held: no change
    m.remove(a);
    expect(ids(m.get(['L', 'x', '1']))).toEqual(['b']);
    m.remove(entry('b', 'L', 'x', '1')); // found by id, not by identity
    m.remove(c);
    expect(m.get(['L', 'x', '1'])).toEqual([]);
    expect(m.isEmpty()).toBe(true);
  });
});


describe('memory: tuning hints given as adapter options (indexHints)', () => {
  it('apply to an index of that name in any collection, the port spec carrying none; a spec\'s own hints win', async () => {
    const store = createMemoryReadStore({ indexHints: { by_list_name: { pointLookups: true }, by_status: { searchFields: ['search'] } } });
    const port: IndexSpec[] = [{ key: { listId: 1, name: 1 }, name: 'by_list_name' }, { key: { status: 1 }, name: 'by_status' }];
    for (const c of ['people', 'rebuild_people']) {
      await store.ensureIndexes(c, port);
      await store.collection(c).insertOne({ _id: 'a', listId: 'L', name: 'ada', status: 'active', search: 'ada lovelace' });
      expect(store.collection(c).explain({ listId: 'L', name: 'ada' })).toMatchObject({ index: 'by_list_name', pointLookup: true, nReturned: 1 });
      await store.collection(c).searchReady();
      // served from the n-gram lists kept for the hinted search field
      expect(store.collection(c).explain({ status: 'active', search: { $regex: 'lovel', $options: 'i' } })).toMatchObject({ stage: 'TEXT', nReturned: 1 });
    }
    // the same names without hints: the same answers from the sorted index alone
    const bare = createMemoryReadStore();
    await bare.ensureIndexes('people', port);
    await bare.collection('people').insertOne({ _id: 'a', listId: 'L', name: 'ada', status: 'active', search: 'ada lovelace' });
    expect(bare.collection('people').explain({ listId: 'L', name: 'ada' })).toMatchObject({ index: 'by_list_name', nReturned: 1 });
    expect(bare.collection('people').explain({ listId: 'L', name: 'ada' }).pointLookup).toBeUndefined();
    expect(bare.collection('people').explain({ status: 'active', search: { $regex: 'lovel', $options: 'i' } })).toMatchObject({ stage: 'COLLSCAN', nReturned: 1 });
    // hints in a spec itself take precedence over the store's
    const own = createMemoryReadStore({ indexHints: { by_list_name: { pointLookups: true } } });
    await own.ensureIndexes('c', [{ key: { listId: 1, name: 1 }, name: 'by_list_name', pointLookups: false }]);
    await own.collection('c').insertOne({ _id: 'a', listId: 'L', name: 'ada' });
    expect(own.collection('c').explain({ listId: 'L', name: 'ada' }).pointLookup).toBeUndefined();
    for (const s of [store, bare, own]) await s.close();
  });
});
