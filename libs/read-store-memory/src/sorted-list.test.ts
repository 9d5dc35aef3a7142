import { describe, expect, it } from 'vitest';
import { SortedList } from './sorted-list.ts';
import { regexPrefix, textGrams, fold, findSearchCondition } from './memory-index.ts';
import { compareStrings, compareValues } from './values.ts';
import { rng } from './testing/rng.ts';


describe('SortedList', () => {
  it('matches a sorted array under random inserts and removes (several blocks)', () => {
    const rand = rng(5);
    const cmp = (a: number, b: number) => a - b;
    // summaries: the set of values a block ever held; must always cover the block
    const list = new SortedList<number, Set<number>>(cmp, {
      build: (entries) => new Set(entries),
      add: (summary, e) => void summary.add(e),
    });
    const model: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (rand() < 0.65 || model.length === 0) {
        const v = Math.floor(rand() * 1e6) + rand();
        list.insert(v);
        model.splice(model.findIndex((x) => x > v) === -1 ? model.length : model.findIndex((x) => x > v), 0, v);
      } else {
        const v = model[Math.floor(rand() * model.length)];
        expect(list.remove(v)).toBe(true);
        model.splice(model.indexOf(v), 1);
      }
    }
    expect(list.remove(-1)).toBe(false);
    expect(list.size).toBe(model.length);
    expect(list.toArray()).toEqual(model);
    expect(list.blockCount).toBeGreaterThan(5);

    // lowerBound + rank + scans in both directions
    for (const probe of [0, 1234.5, 500_000, 999_999, 2e6]) {
      const pos = list.lowerBound((x) => x < probe);
      const expectedRank = model.filter((x) => x < probe).length;
      expect(list.rank(pos)).toBe(expectedRank);
      const to = list.lowerBound((x) => x < probe + 100_000);
      const forward: number[] = [];
      list.scan(pos, to, false, (x) => void forward.push(x));
      expect(forward).toEqual(model.filter((x) => x >= probe && x < probe + 100_000));
      const backward: number[] = [];
      list.scan(pos, to, true, (x) => void backward.push(x));
      expect(backward).toEqual([...forward].reverse());
      // block skipping: every element must be in its block's summary
      const kept: number[] = [];
      const r = list.scanBlocks(pos, to, false, (summary) => summary.size > 0, (x) => void kept.push(x));
      expect(kept).toEqual(forward);
      expect(r.kept).toBe(r.blocks);
    }
    // early stop
    const firstThree: number[] = [];
    list.scan(list.start(), list.end(), false, (x) => firstThree.push(x) === 3);
    expect(firstThree).toEqual(model.slice(0, 3));
  });

  it('summaries always cover their block (so skipping a block never loses an element)', () => {
    const rand = rng(8);
    const list = new SortedList<number, Set<number>>((a, b) => a - b, {
      build: (entries) => new Set(entries),
      add: (summary, e) => void summary.add(e),
    });
    const values: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const v = Math.floor(rand() * 1e9);
      list.insert(v);
      values.push(v);
      if (i % 3 === 0) list.remove(values.splice(Math.floor(rand() * values.length), 1)[0]);
    }
    for (const target of values.slice(0, 200)) {
      const seen: number[] = [];
      list.scanBlocks(list.start(), list.end(), false, (summary) => summary.has(target), (x) => void seen.push(x));
      expect(seen).toContain(target);
    }
  });
});

describe('index helpers', () => {
  it('orders values like BSON: strings by code point, types by BSON type order', () => {
    // U+FF21 (fullwidth A) < U+1F600 by code point, although its UTF-16 unit is larger than a surrogate's
    expect(compareStrings('\uff21', '\u{1f600}')).toBeLessThan(0);
    expect(compareStrings('\u{1f600}', '\uff21')).toBeGreaterThan(0);
    expect(compareStrings('ab', 'abc')).toBeLessThan(0);
    expect(compareStrings('b', 'abc')).toBeGreaterThan(0);
    const ordered = [null, -1, 2.5, 10, '', 'a', 'b', { a: 1 }, [1], false, true, new Date(0), new Date(1), /x/];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(Math.sign(compareValues(ordered[i], ordered[j])), `${String(ordered[i])} vs ${String(ordered[j])}`).toBe(Math.sign(i - j));
      }
    }
    expect(compareValues(undefined, null)).toBe(0);
    expect(compareValues(1, 1.0)).toBe(0);
  });

  it('regexPrefix keeps only the literal part that every match starts with', () => {
    expect(regexPrefix('^abc', '')).toBe('abc');
    expect(regexPrefix('^abc?', '')).toBe('ab');
    expect(regexPrefix('^ab*', '')).toBe('a');
    expect(regexPrefix('^ab+c', '')).toBe('ab');
    expect(regexPrefix('^a\\.b', '')).toBe('a.b');
    expect(regexPrefix('^a\\d', '')).toBe('a');
    expect(regexPrefix('^ab{2}', '')).toBe('a');
    expect(regexPrefix('^a.c', '')).toBe('a');
    expect(regexPrefix('^(ab)', '')).toBeNull();
    expect(regexPrefix('^ab|x', '')).toBeNull();
    expect(regexPrefix('abc', '')).toBeNull();
    expect(regexPrefix('^abc', 'i')).toBeNull();
    expect(regexPrefix('^abc', 'm')).toBeNull();
  });

  it('fold compares characters exactly like a RegExp with the i flag', () => {
    const rand = rng(2);
    const sample = (): number => (rand() < 0.5 ? Math.floor(rand() * 128) : Math.floor(rand() * 0x3000));
    const specials = [0x17f, 0x212a, 0xdf, 0x130, 0x131, 0x3c2, 0x3a3, 0x1e9e, 0xb5, 0x39c, 0x69, 0x49, 0x73, 0x53, 0x6b, 0x4b];
    const codes = [...specials, ...Array.from({ length: 3000 }, sample)];
    for (let i = 0; i < codes.length; i++) {
      const a = codes[i];
      const b = codes[(i * 7 + 3) % codes.length];
      for (const [x, y] of [
        [a, b],
        [a, a],
        [a, specials[i % specials.length]],
      ]) {
        if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) continue;
        const re = new RegExp(String.fromCharCode(x).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
        expect(fold(x) === fold(y), `${x.toString(16)} vs ${y.toString(16)}`).toBe(re.test(String.fromCharCode(y)));
      }
    }
    expect(textGrams('ab')).toBeNull();
    expect(textGrams('ABC')).toEqual(textGrams('abc'));
  });

  it('findSearchCondition accepts only literal contains-searches on summarised fields', () => {
    const fields = ['a', 'b'];
    expect(findSearchCondition({ a: { $regex: 'x\\.y', $options: 'i' } }, fields)?.alternatives).toHaveLength(1);
    expect(findSearchCondition({ $or: [{ a: /abc/ }, { b: /abc/i }] }, fields)?.alternatives).toHaveLength(2);
    expect(findSearchCondition({ $and: [{ z: 1 }, { a: /abc/ }] }, fields)).not.toBeNull();
    expect(findSearchCondition({ $or: [{ a: /abc/ }, { c: /abc/ }] }, fields)).toBeNull();
    expect(findSearchCondition({ $or: [{ a: /abc/, b: 1 }] }, fields)).toBeNull();
    expect(findSearchCondition({ a: /a.c/ }, fields)).toBeNull();
    expect(findSearchCondition({ a: /abc/m }, fields)).toBeNull();
    expect(findSearchCondition({ a: { $regex: 'abc', $options: 'x' } }, fields)).toBeNull();
    expect(findSearchCondition({ c: /abc/ }, fields)).toBeNull();
  });
});

describe('SortedList.load', () => {
  it('holds what one-by-one inserts hold, in blocks, and keeps working for inserts, removes, scans and ranks', () => {
    const rand = rng(11);
    const cmp = (a: number, b: number) => a - b;
    const hooks = { build: (entries: readonly number[]) => new Set(entries), add: (summary: Set<number>, e: number) => void summary.add(e) };
    const values = Array.from({ length: 5_000 }, () => Math.floor(rand() * 1e6));
    const one = new SortedList<number, Set<number>>(cmp, hooks);
    for (const v of values) one.insert(v);
    const bulk = new SortedList<number, Set<number>>(cmp, hooks);
    bulk.load([...values].sort(cmp));
    expect(bulk.toArray()).toEqual(one.toArray());
    expect(bulk.size).toBe(values.length);
    expect(bulk.blockCount).toBeGreaterThan(5);
    expect(bulk.isSorted()).toBe(true);
    // every block's summary covers exactly its elements: a block-skipping scan finds everything
    const seen: number[] = [];
    const r = bulk.scanBlocks(bulk.start(), bulk.end(), false, (s) => s.size > 0, (e) => void seen.push(e));
    expect(seen).toEqual(one.toArray());
    expect(r.kept).toBe(bulk.blockCount);
    for (let i = 0; i < 3_000; i++) {
      const v = Math.floor(rand() * 1e6);
      if (rand() < 0.5) { one.insert(v); bulk.insert(v); } else {
        const existing = one.toArray()[Math.floor(rand() * one.size)];
        expect(bulk.remove(existing)).toBe(one.remove(existing));
      }
    }
    expect(bulk.toArray()).toEqual(one.toArray());
    for (const probe of [0, 1e5, 5e5, 2e6]) {
      expect(bulk.rank(bulk.lowerBound((x) => x < probe))).toBe(one.rank(one.lowerBound((x) => x < probe)));
    }
    bulk.load([]);
    expect(bulk.size).toBe(0);
    expect(bulk.toArray()).toEqual([]);
  });

  it('isSorted tells a list loaded out of order', () => {
    const list = new SortedList<number>((a, b) => a - b);
    list.load([1, 3, 2]);
    expect(list.isSorted()).toBe(false);
  });
});
