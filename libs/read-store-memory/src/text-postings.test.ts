import { find as mingoFind } from 'mingo';
import { describe, expect, it } from 'vitest';
import { createMemoryReadStore, type MemoryCollection } from './memory.ts';
import type { Doc, Filter } from '@muster/read-store/port';
import type { MemoryIndexSpec as IndexSpec } from './memory.ts';
import { rng } from './testing/rng.ts';
import { escapeRegex } from '@muster/read-store/text';
import { gramKeys } from './text-postings.ts';

/**
 * The exact n-gram lists and columns (./text-postings.ts) must never change a result: every
 * count and page here is compared with mingo evaluating the same filter over every document
 * (a plain scan), on random data and after random writes.
 */

const INDEXES: IndexSpec[] = [
  { key: { listId: 1, status: 1, n: 1 }, name: 'list_status_n', searchFields: ['search'] },
  { key: { listId: 1, status: 1, 'f.last': 1 }, name: 'list_status_last', searchFields: ['search', 'f.first'] },
];

// few letters, so that texts repeat and grams are shared; upper case, non-ASCII and wide characters too
const LETTERS = ['a', 'b', 'c', 'n', 'o', 'A', 'B', 'é', 'É', 'ß', 'ſ', 'S', 's', '.', ' ', '@', '中', '文', 'İ', 'ı'];

function word(rand: () => number, min: number, max: number): string {
  const len = min + Math.floor(rand() * (max - min + 1));
  let out = '';
  for (let i = 0; i < len; i++) out += LETTERS[Math.floor(rand() * LETTERS.length)];
  return out;
}

function randomDoc(rand: () => number, id: string): Doc {
  const r = rand();
  const d: Record<string, unknown> = {
    _id: id,
    n: Math.floor(rand() * 20_000), // many distinct values: too many to keep as a column
  };
  // mostly plain scalars, sometimes what only the document can decide: missing, null, arrays, other types
  const listId = rand();
  if (listId < 0.9) d.listId = listId < 0.6 ? 'L1' : 'L2';
  else if (listId < 0.95) d.listId = ['L1', 'L3'];
  const status = rand();
  if (status < 0.85) d.status = status < 0.6 ? 'active' : 'inactive';
  else if (status < 0.9) d.status = null;
  else if (status < 0.95) d.status = ['active'];
  if (r < 0.8) d.search = word(rand, 0, 14);
  else if (r < 0.88) d.search = [word(rand, 1, 8), word(rand, 1, 8)];
  else if (r < 0.92) d.search = 42;
  else if (r < 0.96) d.search = { nested: word(rand, 3, 6) };
  const f = rand();
  if (f < 0.9) d.f = { first: word(rand, 1, 8), last: word(rand, 1, 6) };
  else if (f < 0.95) d.f = [{ first: word(rand, 1, 8) }];
  return d as Doc;
}

/** a text to search: mostly a piece of some document's value (so that there are matches), in random case */
function randomText(rand: () => number, docs: Doc[]): string {
  if (rand() < 0.2) return word(rand, 1, 5);
  const d = docs[Math.floor(rand() * docs.length)];
  const v = typeof d.search === 'string' ? d.search : Array.isArray(d.search) ? String(d.search[0]) : 'abc';
  const from = Math.floor(rand() * v.length);
  const text = v.slice(from, from + 1 + Math.floor(rand() * 5)) || 'ab';
  return rand() < 0.3 ? text.toUpperCase() : text;
}

function randomFilter(rand: () => number, docs: Doc[]): Filter {
  const text = randomText(rand, docs);
  const re = escapeRegex(text);
  const search = rand() < 0.5 ? { $regex: re } : rand() < 0.5 ? { $regex: re, $options: 'i' } : new RegExp(re, rand() < 0.5 ? 'i' : '');
  const shape = rand();
  const status = rand() < 0.8 ? 'active' : { $eq: 'inactive' };
  if (shape < 0.4) return { listId: 'L1', status, search };
  if (shape < 0.55) return { listId: rand() < 0.5 ? 'L2' : 'L9', search };
  if (shape < 0.7) return { listId: 'L1', $or: [{ search }, { 'f.first': { $regex: re, $options: 'i' } }] };
  if (shape < 0.8) return { $and: [{ status: 'active' }, { search }], n: { $gte: 5_000 } }; // a condition no column answers
  if (shape < 0.9) return { status, search, n: docs[Math.floor(rand() * docs.length)].n as number };
  return { search, 'f.first': { $regex: escapeRegex(text.slice(0, 2)), $options: 'i' } };
}

const ids = (docs: Doc[]): string[] => docs.map((d) => d._id);
const mingoAll = (docs: Doc[], filter: Filter): Doc[] => mingoFind(docs, filter).all() as Doc[];

async function loadStore(docs: Doc[], textPostings: boolean): Promise<MemoryCollection> {
  const store = createMemoryReadStore({ textPostings });
  await store.ensureIndexes('people', INDEXES);
  const c = store.collection('people');
  for (const d of docs) await c.insertOne(d);
  await c.searchReady();
  return c;
}

describe('text postings: exact n-gram lists and columns', () => {
  it('gram keys: trigrams of the folded text, the bigram of a two-character text, nothing below that', () => {
    expect(gramKeys('a')).toBeNull();
    expect(gramKeys('')).toBeNull();
    expect(gramKeys('ab')).toHaveLength(1);
    expect(gramKeys('ab')).toEqual(gramKeys('AB'));
    expect(gramKeys('abcd')).toHaveLength(2);
    expect(gramKeys('aaaa')).toHaveLength(1); // repeated grams once
    expect(gramKeys('Straße')).toEqual(gramKeys('STRAßE'));
    expect(gramKeys('中文字')).toHaveLength(1);
  });

  it('counts and sorted pages equal a plain scan on random documents and filters', async () => {
    const rand = rng(2024);
    const docs: Doc[] = [];
    for (let i = 0; i < 4000; i++) docs.push(randomDoc(rand, `d${String(i).padStart(5, '0')}`));
    const lists = await loadStore(docs, true);
    const blocks = await loadStore(docs, false);
    const stages: Record<string, number> = {};
    let nonEmpty = 0;
    for (let i = 0; i < 400; i++) {
      const filter = randomFilter(rand, docs);
      const label = JSON.stringify(filter, (_k, v) => (v instanceof RegExp ? String(v) : v));
      const expected = mingoAll(docs, filter);
      if (expected.length > 0) nonEmpty++;
      expect(await lists.countDocuments(filter), label).toBe(expected.length);
      expect(await blocks.countDocuments(filter), label).toBe(expected.length);
      expect(ids(await lists.find(filter)).sort(), label).toEqual(ids(expected).sort());
      const sort = { n: -1 as const, _id: 1 as const };
      const page = { sort, skip: 3, limit: 7 };
      const want = expected.sort((a, b) => (b.n as number) - (a.n as number) || (a._id < b._id ? -1 : 1)).slice(3, 10);
      expect(ids(await lists.find(filter, page)), label).toEqual(ids(want));
      const stage = lists.explain(filter).stage;
      stages[stage] = (stages[stage] ?? 0) + 1;
    }
    expect(nonEmpty).toBeGreaterThan(150);
    expect(stages.TEXT).toBeGreaterThan(150); // most searches are served by the lists
  });

  it('the columns decide equality and text conditions without reading documents', async () => {
    const store = createMemoryReadStore();
    await store.ensureIndexes('people', INDEXES);
    const c = store.collection('people');
    for (let i = 0; i < 3000; i++) {
      await c.insertOne({ _id: `p${i}`, listId: `L${i % 3}`, status: i % 5 === 0 ? 'inactive' : 'active', n: i, search: `person${i} ${i % 7 === 0 ? 'hopper' : 'turing'}` });
    }
    const expected = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 5 !== 0 && i % 7 === 0).length;
    const plan = c.explain({ listId: 'L1', status: 'active', search: { $regex: 'hopper' } });
    expect(plan).toMatchObject({ stage: 'TEXT', nReturned: expected, docsExamined: 0 });
    expect(plan.textPostings!.candidates).toBeLessThan(500); // of 3,000 documents
    // a condition no column answers: only the candidates passing the columns read their document
    const residual = c.explain({ listId: 'L1', status: 'active', search: { $regex: 'hopper' }, n: { $lt: 1500 } });
    expect(residual.stage).toBe('TEXT');
    expect(residual.docsExamined).toBe(expected);
    expect(residual.nReturned).toBe(Array.from({ length: 1500 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 5 !== 0 && i % 7 === 0).length);
    // an unknown value: no document holds it, nothing is read
    expect(c.explain({ listId: 'L9', status: 'active', search: { $regex: 'hopper' } })).toMatchObject({ nReturned: 0, docsExamined: 0 });
    // a two-character text uses its bigram; one character narrows nothing, but the columns still decide every document cheaply
    expect(c.explain({ listId: 'L1', search: { $regex: 'ho' } }).stage).toBe('TEXT');
    expect(c.explain({ listId: 'L1', search: { $regex: 'h' } })).toMatchObject({ stage: 'TEXT', textPostings: { candidates: 3000 }, docsExamined: 0 });
    expect(c.explain({ listId: 'L1', search: { $regex: 'h' } }, { sort: { n: 1 }, limit: 5 }).stage).toBe('IXSCAN'); // the index walk stops after 5
    expect(await c.countDocuments({ listId: 'L1', search: { $regex: 'h' } })).toBe(Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 7 === 0).length);
  });

  it('random inserts, updates, replacements and deletes keep counts exact (with compaction of retired entries)', async () => {
    const rand = rng(77);
    const store = createMemoryReadStore();
    await store.ensureIndexes('people', INDEXES);
    const c = store.collection('people');
    const current = new Map<string, Doc>();
    for (let i = 0; i < 300; i++) {
      const d = randomDoc(rand, `p${i}`);
      current.set(d._id, d);
      await c.insertOne(d);
    }
    const pickId = () => `p${Math.floor(rand() * 400)}`;
    let checks = 0;
    for (let step = 0; step < 4000; step++) {
      const id = pickId();
      const op = rand();
      if (op < 0.15) {
        if (current.has(id)) continue;
        const d = randomDoc(rand, id);
        await c.insertOne(d);
        current.set(id, d);
      } else if (op < 0.6) {
        const set = rand() < 0.6 ? { search: word(rand, 0, 12) } : rand() < 0.5 ? { status: rand() < 0.5 ? 'active' : 'inactive' } : { listId: 'L2', f: { first: word(rand, 1, 6), last: word(rand, 1, 4) } };
        const res = await c.updateOne({ _id: id }, { $set: set });
        if (res.matchedCount > 0) current.set(id, (await c.findOne({ _id: id }))!);
      } else if (op < 0.75) {
        const d = randomDoc(rand, id);
        const res = await c.replaceOne({ _id: id }, d);
        if (res.matchedCount > 0) current.set(id, d);
      } else if (op < 0.85) {
        await c.deleteOne({ _id: id });
        current.delete(id);
      } else {
        const docs = [...current.values()];
        if (docs.length === 0) continue;
        const filter = randomFilter(rand, docs);
        expect(await c.countDocuments(filter), JSON.stringify(filter)).toBe(mingoAll(docs, filter).length);
        checks++;
      }
    }
    expect(checks).toBeGreaterThan(400);
  });

  it('bulk loads and indexes declared later: the lists follow (rebuilt when next searched)', async () => {
    const store = createMemoryReadStore();
    await store.ensureIndexes('people', [INDEXES[0]]);
    const c = store.collection('people');
    const filter = { listId: 'L1', status: 'active', search: { $regex: 'ab' } };
    expect(await c.countDocuments(filter)).toBe(0); // lists of an empty collection
    const rand = rng(5);
    const docs: Doc[] = [];
    for (let i = 0; i < 6000; i++) docs.push(randomDoc(rand, `b${i}`));
    await store.bulkLoad!('people', docs);
    await c.searchReady();
    expect(c.explain(filter).stage).toBe('TEXT');
    expect(await c.countDocuments(filter)).toBe(mingoAll(docs, filter).length);
    // a second index with another search field: its lists are built too
    await store.ensureIndexes('people', [INDEXES[1]]);
    const byFirst = { listId: 'L1', 'f.first': { $regex: 'Ab', $options: 'i' } };
    await c.searchReady();
    expect(c.explain(byFirst).stage).toBe('TEXT');
    expect(await c.countDocuments(byFirst)).toBe(mingoAll(docs, byFirst).length);
    expect(await c.countDocuments(filter)).toBe(mingoAll(docs, filter).length);
    await store.close();
  });

  it('a large collection is listed in the background: queries stay exact meanwhile and writes during the build are listed', async () => {
    const store = createMemoryReadStore();
    await store.ensureIndexes('people', INDEXES);
    const c = store.collection('people');
    const docs: Array<Doc & { status: string; n: number; search: string }> = [];
    for (let i = 0; i < 30_000; i++) {
      const d = { _id: `p${String(i).padStart(5, '0')}`, listId: 'L1', status: i % 4 === 0 ? 'inactive' : 'active', n: i, search: `user${i} ${i % 10 === 0 ? 'lovelace' : 'babbage'}` };
      docs.push(d);
      await c.insertOne(d);
    }
    const lovelace = { listId: 'L1', status: 'active', search: { $regex: 'lovelace' } };
    const count = () => docs.filter((d) => d.status === 'active' && d.search.includes('lovelace')).length;
    // the first search starts the build and is answered from the index meanwhile
    expect(c.explain(lovelace).stage).toBe('IXSCAN');
    expect(await c.countDocuments(lovelace)).toBe(count());
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve)); // a few slices of the build
    expect(c.explain(lovelace).stage).toBe('IXSCAN');
    // writes while the build is under way: the first documents are listed already, the last not yet
    await c.updateOne({ _id: 'p00001' }, { $set: { search: 'user1 lovelace' } });
    docs[1].search = 'user1 lovelace';
    await c.updateOne({ _id: 'p29999' }, { $set: { search: 'user29999 lovelace' } });
    docs[29_999].search = 'user29999 lovelace';
    await c.deleteOne({ _id: 'p00010' });
    docs.splice(10, 1);
    await c.insertOne({ _id: 'q1', listId: 'L1', status: 'active', n: -1, search: 'new lovelace' });
    docs.push({ _id: 'q1', listId: 'L1', status: 'active', n: -1, search: 'new lovelace' });
    await c.searchReady();
    expect(c.explain(lovelace)).toMatchObject({ stage: 'TEXT', nReturned: count(), docsExamined: 0 });
    expect(await c.countDocuments(lovelace)).toBe(count());
    const first3 = docs.filter((d) => d.status === 'active' && d.search.includes('lovelace')).sort((a, b) => a.n - b.n).slice(0, 3);
    expect(first3.map((d) => d._id).slice(0, 2)).toEqual(['q1', 'p00001']);
    expect((await c.find(lovelace, { sort: { n: 1 }, limit: 3 })).map((d) => d._id)).toEqual(first3.map((d) => d._id));
    // dropping the collection stops nothing that matters: a new one starts empty
    await store.dropCollection('people');
    expect(await c.countDocuments(lovelace)).toBe(0);
    await store.close();
  });
});
