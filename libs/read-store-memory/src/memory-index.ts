/**
 * Secondary indexes of the in-memory adapter: one sorted list of (key tuple, record) entries per
 * declared index, ordered like a MongoDB B-tree index (BSON order per key, then _id), plus the
 * query-analysis helpers that turn a filter into index ranges.
 *
 * Note on style: this code runs under tsx, whose transform keeps function names by wrapping every
 * `const f = () => ...` in a helper call that costs about a microsecond per closure created. Hot
 * paths therefore use module-level functions, class methods and inline callbacks only.
 */
import type { Doc, Filter, Sort } from '@muster/read-store/port';
import type { MemoryIndexSpec } from './memory.ts';
import type { CompiledFilter } from './matcher.ts';
import { SortedList, type Pos } from './sorted-list.ts';
import {
  compareStrings,
  compareValues,
  HIGH_UNIT,
  extractKeyValues,
  isIndexableScalar,
  isOperatorObject,
  isPlainObject,
  type Plain,
} from './values.ts';

/** one stored document; shared by the _id map and every index entry, so updates swap `doc` in place */
export interface Rec {
  readonly id: string;
  doc: Doc;
}

export interface Entry {
  k: unknown[];
  rec: Rec;
}

export interface KeySet {
  keys: unknown[][];
  multikey: boolean;
}

const NO_KEYS: KeySet = { keys: [], multikey: false };

/** a literal contains-search: an entry can match only if one alternative's text occurs in its field */
export interface SearchCond {
  alternatives: Array<{ field: string; text: string; grams: number[] | null }>;
}

/** per-block Bloom bitmap of the case-folded character trigrams of the search fields */
type Bloom = Uint32Array;
const BLOOM_WORDS = 2048; // 65,536 bits (8 KiB) per block of 512-1024 entries
const MAX_LOOKUP_COMBINATIONS = 1000;
/** BuildColumns: beyond this many entries sharing keys (and a sixteenth of them), ties are broken by id ranks instead of run sorts */
const MANY_TIES = 64;

export class MemoryIndex {
  readonly name: string;
  readonly fields: string[];
  readonly unique: boolean;
  readonly list: SortedList<Entry, Bloom>;
  /** MemoryIndexHints.pointLookups: entries by their full key (only keys made of strings), kept with the list */
  readonly points: PointMap | null;
  /** ids of documents that put an array on one of the key paths (no index-ordered sorts then) */
  readonly multikeyIds = new Set<string>();
  private readonly parts: string[][];
  readonly dirs: Array<1 | -1>;
  /** fields summarised per block for contains-searches (MemoryIndexHints.searchFields) */
  readonly searchFields: readonly string[];

  constructor(
    readonly spec: MemoryIndexSpec,
    readonly partial: CompiledFilter | null,
  ) {
    this.name = spec.name;
    this.fields = Object.keys(spec.key);
    this.parts = this.fields.map((f) => f.split('.'));
    this.dirs = this.fields.map((f) => spec.key[f]);
    this.unique = spec.unique === true;
    this.searchFields = spec.searchFields ?? [];
    const searchParts = this.searchFields.map((f) => f.split('.'));
    this.points = spec.pointLookups ? new PointMap(this.fields.length) : null;
    this.list = new (this.points ? pointedList(this.points) : SortedList)<Entry, Bloom>(
      (a, b) => compareEntries(this.dirs, a, b),
      searchParts.length === 0
        ? undefined
        : {
            build(entries) {
              const bloom = new Uint32Array(BLOOM_WORDS);
              for (const e of entries) addDocGrams(bloom, e.rec.doc, searchParts);
              return bloom;
            },
            add(bloom, e) {
              addDocGrams(bloom, e.rec.doc, searchParts);
            },
          },
    );
  }

  /** the key tuples a document contributes (none when a partial filter leaves it out) */
  keysFor(doc: Doc): KeySet {
    if (this.partial && !this.partial.test(doc)) return NO_KEYS;
    const simple = simpleKey(doc, this.parts);
    if (simple) return { keys: [simple], multikey: false };
    let combos: unknown[][] = [[]];
    let multikey = false;
    for (const parts of this.parts) {
      const ex = extractKeyValues(doc, parts);
      if (ex.multikey) multikey = true;
      if (ex.values.length === 1) {
        for (const c of combos) c.push(ex.values[0]);
        continue;
      }
      const next: unknown[][] = [];
      for (const c of combos) for (const v of ex.values) next.push([...c, v]);
      combos = next;
    }
    return { keys: combos, multikey };
  }

  compareKeys(a: unknown[], b: unknown[]): number {
    return compareKeyTuples(this.dirs, a, b);
  }

  /**
   * Fills this empty index from `recs` in one go: every entry collected, sorted once and cut into
   * blocks (SortedList.load), instead of a sorted insert per entry. Returns false, leaving the
   * index empty, when a unique index would hold one key for two documents: the caller then builds
   * one entry at a time to report the violation exactly as inserting would.
   */
  buildFrom(recs: Iterable<Rec>): boolean {
    return buildIndexes([this], recs) === null;
  }

  /**
   * the sorted entries for a bulk build, or null when a unique index would hold a key twice;
   * `shared`: entries[i] belongs to the build's i-th document (one entry per document)
   */
  private sortedForBuild(entries: Entry[], shared: BuildColumns | null): Entry[] | null {
    const sorted = (shared && shared.sortAligned(this.fields, this.dirs, entries)) ?? sortEntries(this.dirs, entries);
    if (this.unique) {
      const dirs = this.dirs;
      for (let i = 1; i < sorted.length; i++) {
        const a = sorted[i - 1];
        const b = sorted[i];
        if (a.rec.id !== b.rec.id && compareKeyTuples(dirs, a.k, b.k) === 0) return null;
      }
    }
    return sorted;
  }

  /** buildIndexes: fills this empty index with sorted entries */
  private loadSorted(sorted: Entry[], multikey: string[]): void {
    this.list.load(sorted);
    for (const id of multikey) this.multikeyIds.add(id);
  }

  /** buildIndexes: back to empty */
  private clear(): void {
    this.list.load([]);
    this.multikeyIds.clear();
  }

  static build(indexes: readonly MemoryIndex[], recs: Iterable<Rec>): MemoryIndex | null {
    for (const index of indexes) if (index.list.size > 0) throw new Error(`index ${index.name} is not empty`);
    // one pass over the documents for all indexes: each document is read once
    const entries: Entry[][] = indexes.map(() => []);
    const multikey: string[][] = indexes.map(() => []);
    const all: Rec[] = [];
    for (const rec of recs) {
      all.push(rec);
      for (let x = 0; x < indexes.length; x++) {
        const index = indexes[x];
        // the common case without the KeySet keysFor wraps it in
        const simple = index.partial ? null : simpleKey(rec.doc, index.parts);
        if (simple) {
          entries[x].push({ k: simple, rec });
          continue;
        }
        const { keys, multikey: mk } = index.keysFor(rec.doc);
        const out = entries[x];
        for (let i = 0; i < keys.length; i++) out.push({ k: keys[i], rec });
        if (mk) multikey[x].push(rec.id);
      }
    }
    // indexes with exactly one entry per document (no arrays on their paths, no partial filter
    // leaving documents out) share ranked columns and the documents' id order (BuildColumns)
    const shared = new BuildColumns(all);
    for (let x = 0; x < indexes.length; x++) {
      const aligned = entries[x].length === all.length && multikey[x].length === 0 && all.length > 1;
      const sorted = indexes[x].sortedForBuild(entries[x], aligned ? shared : null);
      entries[x] = [];
      if (!sorted) {
        for (const index of indexes) index.clear();
        return indexes[x];
      }
      indexes[x].loadSorted(sorted, multikey[x]);
    }
    return null;
  }

  /** id of another document holding `key`, if any */
  findDuplicate(key: unknown[], selfId: string): string | null {
    const dirs = this.dirs;
    const pos = this.list.lowerBound((e) => compareKeyTuples(dirs, e.k, key) < 0);
    let found: string | null = null;
    this.list.scan(pos, this.list.end(), false, (e) => {
      if (compareKeyTuples(dirs, e.k, key) !== 0) return true;
      if (e.rec.id !== selfId) {
        found = e.rec.id;
        return true;
      }
      return false;
    });
    return found;
  }

  /** positions [from, to) of the entries equal to `combo` on the first keys and, if given, starting with `prefix` on the next */
  rangeBounds(combo: unknown[], prefix: string | null): { from: Pos; to: Pos } {
    const dirs = this.dirs;
    const eqLen = combo.length;
    const from = this.list.lowerBound((e) => {
      const c = comparePrefix(dirs, e.k, combo);
      if (c !== 0) return c < 0;
      return prefix === null ? false : beforeStringPrefix(e.k[eqLen], prefix, dirs[eqLen]);
    });
    const to = this.list.lowerBound((e) => {
      const c = comparePrefix(dirs, e.k, combo);
      if (c !== 0) return c < 0;
      if (prefix === null) return true;
      const v = e.k[eqLen];
      return beforeStringPrefix(v, prefix, dirs[eqLen]) || (typeof v === 'string' && v.startsWith(prefix));
    });
    return { from, to };
  }

  /**
   * Index ranges serving the filter conditions (equality / $in on leading keys, then an anchored
   * regex prefix), or null when the index cannot narrow the filter nor deliver the sort order.
   */
  planRanges(conds: Map<string, FieldCond>, sort: Sort | undefined, search: SearchCond | null): RangePlan | null {
    let combos: unknown[][] = [[]];
    let eqLen = 0;
    for (const field of this.fields) {
      const c = conds.get(field);
      if (!c?.eq) break;
      if (combos.length * c.eq.length > MAX_LOOKUP_COMBINATIONS) break;
      const next: unknown[][] = [];
      for (const combo of combos) for (const v of c.eq) next.push([...combo, v]);
      combos = next;
      eqLen++;
    }
    const rangeField = this.fields[eqLen];
    const prefix = rangeField !== undefined ? (conds.get(rangeField)?.prefix ?? null) : null;
    const order = sort && combos.length === 1 && this.multikeyIds.size === 0 ? this.sortOrder(eqLen, sort) : null;
    if (eqLen === 0 && prefix === null && order === null && search === null) return null;
    const bounds: Array<{ from: Pos; to: Pos }> = [];
    let count = 0;
    for (const combo of combos) {
      const b = this.rangeBounds(combo, prefix);
      bounds.push(b);
      count += this.list.rank(b.to) - this.list.rank(b.from);
    }
    return { index: this, combos: combos.length, eqLen, prefix, count, bounds, order, search };
  }

  /** can this index (after `eqLen` single-valued equality keys) deliver documents in `sort` order? */
  sortOrder(eqLen: number, sort: Sort): 'forward' | 'reverse' | null {
    const constant = this.fields.slice(0, eqLen);
    const keys = Object.entries(sort).filter((kv) => !constant.includes(kv[0]));
    if (keys.length === 0) return 'forward';
    let sign: 1 | -1 | 0 = 0;
    let j = eqLen;
    for (let i = 0; i < keys.length; i++) {
      const [field, dir] = keys[i];
      if (field === '_id' && i === keys.length - 1 && j === this.fields.length) {
        // entries with equal keys are ordered by _id ascending
        const s = dir === 1 ? 1 : -1;
        if (sign === 0) sign = s;
        return s === sign ? (sign === 1 ? 'forward' : 'reverse') : null;
      }
      if (j >= this.fields.length || this.fields[j] !== field) return null;
      const s = dir === this.dirs[j] ? 1 : -1;
      if (sign === 0) sign = s;
      else if (s !== sign) return null;
      j++;
    }
    return sign === -1 ? 'reverse' : 'forward';
  }

  /**
   * Visits the entries of [from, to) in order (or reversed) until `visit` returns true, skipping
   * the blocks whose trigram summary shows that no alternative of `cond` can occur in them.
   */
  searchScan(from: Pos, to: Pos, reverse: boolean, cond: SearchCond, visit: (e: Entry) => boolean): { blocks: number; kept: number } {
    const alternatives = cond.alternatives;
    return this.list.scanBlocks(
      from,
      to,
      reverse,
      (bloom) => {
        for (const alt of alternatives) if (alt.grams === null || bloomHasAll(bloom, alt.grams)) return true;
        return false;
      },
      visit,
    );
  }

  /** a document's search fields changed while its keys did not: extend the summaries holding it */
  changed(keys: unknown[][], rec: Rec): void {
    for (const k of keys) this.list.changed({ k, rec });
  }

  /** a partial index may serve a query only when the query implies its filter */
  usableFor(filter: Filter): boolean {
    return !this.partial || impliesPartial(filter, this.spec.partialFilterExpression ?? {});
  }
}

/**
 * Fills empty indexes from `recs` in one go (MemoryIndex.buildFrom for several indexes, reading each
 * document once). Returns null when done, or the first unique index that would hold one key for
 * two documents; then every index is left empty.
 */
export function buildIndexes(indexes: readonly MemoryIndex[], recs: Iterable<Rec>): MemoryIndex | null {
  return MemoryIndex.build(indexes, recs);
}

/**
 * MemoryIndexHints.pointLookups: the entries of an index by their full key, for keys made only of strings
 * (entries with another value are found through the sorted list, and a query for strings can never
 * equal them). One level of maps per key field, so a lookup or an insert builds no key string.
 */
export class PointMap {
  private readonly root = new Map<string, unknown>();

  constructor(private readonly width: number) {}

  /** the entries whose key is exactly `values` (an empty array when none or a value is not a string) */
  get(values: readonly unknown[]): Entry[] {
    let node: unknown = this.root;
    for (let j = 0; j < this.width; j++) {
      const v = values[j];
      if (typeof v !== 'string') return [];
      node = (node as Map<string, unknown>).get(v);
      if (node === undefined) return [];
    }
    return node as Entry[];
  }

  add(e: Entry): void {
    const k = e.k;
    let node = this.root;
    for (let j = 0; j < this.width; j++) if (typeof k[j] !== 'string') return;
    for (let j = 0; j < this.width - 1; j++) {
      let next = node.get(k[j] as string) as Map<string, unknown> | undefined;
      if (next === undefined) { next = new Map(); node.set(k[j] as string, next); }
      node = next;
    }
    const last = k[this.width - 1] as string;
    const at = node.get(last) as Entry[] | undefined;
    if (at) at.push(e);
    else node.set(last, [e]);
  }

  remove(e: Entry): void {
    const k = e.k;
    const path: Array<Map<string, unknown>> = [];
    let node = this.root;
    for (let j = 0; j < this.width - 1; j++) {
      if (typeof k[j] !== 'string') return;
      const next = node.get(k[j] as string) as Map<string, unknown> | undefined;
      if (next === undefined) return;
      path.push(node);
      node = next;
    }
    const last = k[this.width - 1];
    if (typeof last !== 'string') return;
    const at = node.get(last) as Entry[] | undefined;
    if (!at) return;
    const i = at.findIndex((x) => x.rec.id === e.rec.id);
    if (i >= 0) at.splice(i, 1);
    if (at.length > 0) return;
    node.delete(last);
    // drop the maps left empty, deepest first
    for (let j = path.length - 1; j >= 0 && node.size === 0; j--) {
      path[j].delete(k[j] as string);
      node = path[j];
    }
  }

  clear(): void {
    this.root.clear();
  }

  /** true when no entry is held (the maps of removed keys are dropped with their last entry) */
  isEmpty(): boolean {
    return this.root.size === 0;
  }
}

/** a SortedList of index entries that keeps `points` (full key -> entries) in step with it */
function pointedList(points: PointMap) {
  return class PointedList<E extends Entry, S> extends SortedList<E, S> {
    override insert(e: E): void {
      super.insert(e);
      points.add(e);
    }
    override remove(e: E): boolean {
      if (!super.remove(e)) return false;
      points.remove(e);
      return true;
    }
    override load(sorted: readonly E[]): void {
      super.load(sorted);
      points.clear();
      for (let i = 0; i < sorted.length; i++) points.add(sorted[i]);
    }
  };
}

export interface RangePlan {
  index: MemoryIndex;
  combos: number;
  eqLen: number;
  prefix: string | null;
  /** index entries in the ranges (exact, from ranks) */
  count: number;
  bounds: Array<{ from: Pos; to: Pos }>;
  order: 'forward' | 'reverse' | null;
  /** contains-search served by this index's block summaries */
  search: SearchCond | null;
}

function addDocGrams(bloom: Bloom, doc: Doc, searchParts: string[][]): void {
  for (const parts of searchParts) for (const v of stringValues(doc, parts)) addGrams(bloom, v);
}

/** the strings a regex condition on `parts` is tested against (array elements included) */
export function stringValues(doc: Doc, parts: string[]): string[] {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    if (!isPlainObject(cur)) return [];
    cur = Object.prototype.hasOwnProperty.call(cur, parts[i]) ? cur[parts[i]] : undefined;
    if (Array.isArray(cur)) {
      const out: string[] = [];
      for (const v of extractKeyValues(doc, parts).values) if (typeof v === 'string') out.push(v);
      return out;
    }
  }
  return typeof cur === 'string' ? [cur] : [];
}

function addGrams(bloom: Bloom, s: string): void {
  if (s.length < 3) return;
  let a = fold(s.charCodeAt(0));
  let b = fold(s.charCodeAt(1));
  for (let i = 2; i < s.length; i++) {
    const c = fold(s.charCodeAt(i));
    const h = gramHash(a, b, c);
    bloom[h >>> 5] |= 1 << (h & 31);
    a = b;
    b = c;
  }
}

/** hashes of the folded trigrams of `text`; null when it is too short to rule anything out */
export function textGrams(text: string): number[] | null {
  if (text.length < 3) return null;
  const out: number[] = [];
  for (let i = 2; i < text.length; i++) {
    out.push(gramHash(fold(text.charCodeAt(i - 2)), fold(text.charCodeAt(i - 1)), fold(text.charCodeAt(i))));
  }
  return out;
}

function bloomHasAll(bloom: Bloom, grams: number[]): boolean {
  for (const h of grams) if ((bloom[h >>> 5] & (1 << (h & 31))) === 0) return false;
  return true;
}

function gramHash(a: number, b: number, c: number): number {
  let h = Math.imul(a + 1, 0x9e3779b1);
  h = Math.imul(h ^ b, 0x85ebca77);
  h = Math.imul(h ^ c, 0xc2b2ae3d);
  return (h ^ (h >>> 15)) & 0xffff;
}

const foldTable = new Int32Array(0x10000).fill(-1);

/**
 * Case folding exactly as a non-unicode JavaScript RegExp with the `i` flag compares characters
 * (ECMAScript Canonicalize): the upper-case code unit, except when that is not a single code unit
 * or would map a non-ASCII character to ASCII. Two characters match under /i iff they fold equal,
 * so a value containing the text (ignoring case) contains all of the text's folded trigrams.
 */
export function fold(code: number): number {
  if (code < 128) return code >= 97 && code <= 122 ? code - 32 : code;
  let f = foldTable[code];
  if (f < 0) {
    const upper = String.fromCharCode(code).toUpperCase();
    f = upper.length === 1 && upper.charCodeAt(0) >= 128 ? upper.charCodeAt(0) : code;
    foldTable[code] = f;
  }
  return f;
}

function compareKeyTuples(dirs: Array<1 | -1>, a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c * dirs[i];
  }
  return 0;
}

/**
 * Entries in index order (compareEntries), for building an index in bulk.
 *
 * When every key column holds only null, numbers (not NaN), booleans and strings without the code
 * units where UTF-16 and code point order disagree, each column's values are turned into ranks
 * (integer columns directly, others by ranking their distinct values once) and an entry's ranks are
 * packed into one integer (sortPacked), so the sort itself is a native sort of a Float64Array:
 * each value is compared O(log d) times rather than O(log n) times through its entry. Otherwise,
 * or when the ranks do not fit in 2^53, entries are sorted with a comparator: native operators on
 * simple columns (null, numbers, such strings), compareValues on the others.
 */
export function sortEntries(dirs: Array<1 | -1>, entries: Entry[]): Entry[] {
  const width = dirs.length;
  const n = entries.length;
  if (n > 1) {
    const packed = sortPacked(dirs, entries);
    if (packed) return packed;
  }
  const simple: boolean[] = new Array<boolean>(width).fill(true);
  for (let i = 0; i < n; i++) {
    const k = entries[i].k;
    for (let j = 0; j < width; j++) if (simple[j] && !isSimpleKeyValue(k[j])) simple[j] = false;
  }
  return entries.slice().sort((a, b) => {
    const ka = a.k;
    const kb = b.k;
    for (let j = 0; j < width; j++) {
      const x = ka[j];
      const y = kb[j];
      if (x === y) continue;
      const c = simple[j] ? compareSimple(x, y) : compareValues(x, y);
      if (c !== 0) return c * dirs[j];
    }
    return compareStrings(a.rec.id, b.rec.id);
  });
}

/**
 * keysFor's common case: every key path runs through plain objects (or stops at a missing or
 * scalar value) and ends at a value that is not an array; then the document has exactly the one
 * key this returns, the same extractKeyValues gives. Null when an array is met on the way.
 */
function simpleKey(doc: Doc, parts: readonly string[][]): unknown[] | null {
  const key: unknown[] = new Array(parts.length);
  for (let j = 0; j < parts.length; j++) {
    const path = parts[j];
    let cur: unknown = doc;
    for (let i = 0; i < path.length; i++) {
      if (!isPlainObject(cur)) {
        if (Array.isArray(cur)) return null;
        cur = undefined;
        break;
      }
      cur = Object.prototype.hasOwnProperty.call(cur, path[i]) ? (cur as Plain)[path[i]] : undefined;
    }
    if (Array.isArray(cur)) return null;
    key[j] = cur === undefined ? null : cur;
  }
  return key;
}

/** per-column rank group of a packed key value: compareValues orders null < numbers < strings < booleans */
const GROUP_NULL = 0;
const GROUP_NUMBER = 1;
const GROUP_STRING = 2;
const GROUP_BOOLEAN = 3;

/**
 * The ranks of column `j` (ascending in key order, counting down for a descending key) and how
 * many there are; null when a value cannot be packed (another type, NaN, a string with high code
 * units). A dense integer column (with or without nulls) is ranked by value, without a map.
 */
function columnRanks(entries: Entry[], j: number, up: boolean): { col: Float64Array; count: number } | null {
  const n = entries.length;
  const col = new Float64Array(n);
  let ints = true;
  let hasNull = false;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = entries[i].k[j];
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) { ints = false; break; }
      if (v < min) min = v;
      if (v > max) max = v;
    } else if (v === null || v === undefined) hasNull = true;
    else { ints = false; break; }
  }
  const offset = hasNull ? 1 : 0;
  // dense enough to use the values themselves (positions, counters); sparse ones are ranked below
  if (ints && (max >= min ? max - min + 1 : 0) + offset <= 2 * n + 2) {
    const count = (max >= min ? max - min + 1 : 0) + offset;
    for (let i = 0; i < n; i++) {
      const v = entries[i].k[j] as number | null | undefined;
      // + 0 turns -0 into 0: one key for both, as compareValues has it
      const r = typeof v === 'number' ? v - min + offset + 0 : 0;
      col[i] = up ? r : count - 1 - r;
    }
    return { col, count };
  }
  // distinct values in order of appearance, each entry's slot among them
  const slotOf = new Map<unknown, number>();
  const distinct: unknown[] = [];
  const slots = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v = entries[i].k[j];
    if (v === undefined) v = null;
    let s = slotOf.get(v);
    if (s === undefined) {
      if (typeof v === 'number' ? v !== v : v !== null && typeof v !== 'string' && typeof v !== 'boolean') return null;
      s = distinct.length;
      slotOf.set(v, s);
      distinct.push(v);
    }
    slots[i] = s;
  }
  const numbers: number[] = [];
  const strings: string[] = [];
  let hasFalse = false;
  let hasTrue = false;
  hasNull = false;
  for (let s = 0; s < distinct.length; s++) {
    const v = distinct[s];
    if (v === null) hasNull = true;
    else if (typeof v === 'number') numbers.push(v);
    else if (typeof v === 'string') {
      if (HIGH_UNIT.test(v)) return null;
      strings.push(v);
    } else if (v === false) hasFalse = true;
    else hasTrue = true;
  }
  const sortedNumbers = Float64Array.from(numbers).sort();
  strings.sort(); // code unit order = code point order for these strings
  const count = distinct.length;
  const rankOfSlot = new Float64Array(count);
  let r = 0;
  const give = (v: unknown) => { rankOfSlot[slotOf.get(v)!] = up ? r : count - 1 - r; r++; };
  for (let group = GROUP_NULL; group <= GROUP_BOOLEAN; group++) {
    if (group === GROUP_NULL && hasNull) give(null);
    else if (group === GROUP_NUMBER) for (let x = 0; x < sortedNumbers.length; x++) give(sortedNumbers[x]);
    else if (group === GROUP_STRING) for (let x = 0; x < strings.length; x++) give(strings[x]);
    else if (group === GROUP_BOOLEAN) { if (hasFalse) give(false); if (hasTrue) give(true); }
  }
  for (let i = 0; i < n; i++) col[i] = rankOfSlot[slots[i]];
  return { col, count };
}

/**
 * What the indexes of one bulk build share when each of them holds exactly one entry per document,
 * in document order (entries[i] is the i-th document's): the ranks of a key field, computed once
 * for every index that has the field (the list id leads most of them), and, computed only when an
 * index has many entries with equal keys, the documents' ranks in _id order, which then break the
 * ties inside the packed integers instead of a comparator sort of every run of equal keys.
 */
class BuildColumns {
  private readonly ranked = new Map<string, { col: Float64Array; count: number } | null>();
  /** rank of the i-th document's _id, and the document at each rank; null: an id needs code point order */
  private ids: { rank: Float64Array; at: Int32Array } | null | undefined;

  constructor(private readonly recs: readonly Rec[]) {}

  /** `entries` (aligned with the documents) in index order, or null when they cannot be packed */
  sortAligned(fields: readonly string[], dirs: Array<1 | -1>, entries: Entry[]): Entry[] | null {
    const n = entries.length;
    const columns: Float64Array[] = [];
    const radix: number[] = [];
    let capacity = n;
    for (let j = 0; j < fields.length; j++) {
      let column = this.ranked.get(fields[j]);
      if (column === undefined) {
        column = columnRanks(entries, j, true);
        this.ranked.set(fields[j], column);
      }
      if (!column) return null;
      const count = Math.max(column.count, 1);
      columns.push(column.col);
      radix.push(dirs[j] === 1 ? count : -count);
      capacity *= count;
      if (capacity > Number.MAX_SAFE_INTEGER) return null;
    }
    const width = columns.length;
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < width; j++) {
        const r = radix[j];
        // a descending column counts down from its highest rank
        acc = r > 0 ? acc * r + columns[j][i] : acc * -r + (-r - 1 - columns[j][i]);
      }
      packed[i] = acc * n + i;
    }
    packed.sort();
    // entries with equal keys go in id order: a few runs are sorted in place; when many entries
    // share keys, the documents' id ranks (computed once per build) replace the entry's position
    // in the packed integers and one more native sort does it
    let tied = 0;
    for (let i = 1; i < n; i++) if (Math.floor(packed[i] / n) === Math.floor(packed[i - 1] / n)) tied++;
    const ids = tied > Math.max(MANY_TIES, n >> 4) ? this.idOrder() : null;
    const out: Entry[] = new Array(n);
    if (ids) {
      for (let i = 0; i < n; i++) packed[i] = Math.floor(packed[i] / n) * n + ids.rank[packed[i] % n];
      packed.sort();
      for (let i = 0; i < n; i++) out[i] = entries[ids.at[packed[i] % n]];
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = entries[packed[i] % n];
    if (tied > 0) sortTiedRuns(out, packed, n);
    return out;
  }

  private idOrder(): { rank: Float64Array; at: Int32Array } | null {
    if (this.ids !== undefined) return this.ids;
    const n = this.recs.length;
    const sorted: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = this.recs[i].id;
      if (HIGH_UNIT.test(id)) return (this.ids = null);
      sorted[i] = id;
    }
    sorted.sort(); // code unit order = code point order for these ids
    const rankOf = new Map<string, number>();
    for (let r = 0; r < n; r++) rankOf.set(sorted[r], r);
    const rank = new Float64Array(n);
    const at = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = rankOf.get(this.recs[i].id)!;
      rank[i] = r;
      at[r] = i;
    }
    return (this.ids = { rank, at });
  }
}

/**
 * sortEntries on packable values (see columnRanks): an entry's ranks and its own position are
 * packed into one integer and the packed integers sorted natively. Runs of entries with equal
 * keys are then put in id order. Null when a column cannot be packed or the packed integers would
 * not fit in 2^53.
 */
function sortPacked(dirs: Array<1 | -1>, entries: Entry[]): Entry[] | null {
  const n = entries.length;
  const width = dirs.length;
  const ranks: Float64Array[] = [];
  const radix: number[] = [];
  let capacity = n;
  for (let j = 0; j < width; j++) {
    const column = columnRanks(entries, j, dirs[j] === 1);
    if (!column) return null;
    ranks.push(column.col);
    radix.push(Math.max(column.count, 1));
    capacity *= Math.max(column.count, 1);
    if (capacity > Number.MAX_SAFE_INTEGER) return null;
  }
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < width; j++) acc = acc * radix[j] + ranks[j][i];
    packed[i] = acc * n + i;
  }
  packed.sort();
  const out: Entry[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = entries[packed[i] % n];
  sortTiedRuns(out, packed, n);
  return out;
}

/** puts each run of entries with equal keys (equal packed / n) in id order */
function sortTiedRuns(out: Entry[], packed: Float64Array, n: number): void {
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && Math.floor(packed[i] / n) === Math.floor(packed[start] / n)) continue;
    if (i - start > 1) sortRunById(out, start, i);
    start = i;
  }
}

/** puts out[start, end) in id order (code point order; native comparisons when no id needs more) */
function sortRunById(out: Entry[], start: number, end: number): void {
  const run = out.slice(start, end);
  let high = false;
  for (let x = 0; x < run.length; x++) if (HIGH_UNIT.test(run[x].rec.id)) { high = true; break; }
  if (high) run.sort((a, b) => compareStrings(a.rec.id, b.rec.id));
  else run.sort((a, b) => (a.rec.id < b.rec.id ? -1 : a.rec.id > b.rec.id ? 1 : 0));
  for (let x = 0; x < run.length; x++) out[start + x] = run[x];
}

function isSimpleKeyValue(v: unknown): boolean {
  if (v === null) return true;
  if (typeof v === 'number') return v === v;
  return typeof v === 'string' && !HIGH_UNIT.test(v);
}

/** compareValues for two different simple key values (null < numbers < strings) */
function compareSimple(x: unknown, y: unknown): number {
  const tx = x === null ? 1 : typeof x === 'number' ? 2 : 3;
  const ty = y === null ? 1 : typeof y === 'number' ? 2 : 3;
  if (tx !== ty) return tx - ty;
  return (x as number | string) < (y as number | string) ? -1 : (x as number | string) > (y as number | string) ? 1 : 0;
}

function compareEntries(dirs: Array<1 | -1>, a: Entry, b: Entry): number {
  const c = compareKeyTuples(dirs, a.k, b.k);
  return c !== 0 ? c : compareStrings(a.rec.id, b.rec.id);
}

function comparePrefix(dirs: Array<1 | -1>, k: unknown[], combo: unknown[]): number {
  for (let i = 0; i < combo.length; i++) {
    const c = compareValues(k[i], combo[i]);
    if (c !== 0) return c * dirs[i];
  }
  return 0;
}

/** is `v` ordered before every string starting with `prefix` (in direction `dir`)? */
function beforeStringPrefix(v: unknown, prefix: string, dir: 1 | -1): boolean {
  if (typeof v === 'string' && v.startsWith(prefix)) return false;
  return dir * compareValues(v, prefix) < 0;
}

// ---------------------------------------------------------------------------------------------
// filter analysis
// ---------------------------------------------------------------------------------------------

export interface FieldCond {
  /** equality candidates (from a scalar, $eq or $in of scalars) */
  eq?: unknown[];
  /** string prefix from an anchored, case-sensitive regular expression */
  prefix?: string;
}

/** top-level (and $and-nested) conditions that an index can serve */
export function analyzeFilter(filter: Filter): Map<string, FieldCond> {
  const out = new Map<string, FieldCond>();
  visitConditions(filter, out);
  return out;
}

function addCond(out: Map<string, FieldCond>, field: string, cond: FieldCond): void {
  const prev = out.get(field) ?? {};
  if (cond.eq && (!prev.eq || cond.eq.length < prev.eq.length)) prev.eq = cond.eq;
  if (cond.prefix && (!prev.prefix || cond.prefix.length > prev.prefix.length)) prev.prefix = cond.prefix;
  out.set(field, prev);
}

function visitConditions(f: Plain, out: Map<string, FieldCond>): void {
  for (const key in f) {
    const value = f[key];
    if (key === '$and') {
      if (Array.isArray(value)) for (const c of value) if (isPlainObject(c)) visitConditions(c, out);
      continue;
    }
    if (key.startsWith('$')) continue;
    if (isIndexableScalar(value)) addCond(out, key, { eq: [value] });
    else if (value instanceof RegExp) {
      const prefix = regexPrefix(value.source, value.flags);
      if (prefix) addCond(out, key, { prefix });
    } else if (isOperatorObject(value)) {
      if ('$eq' in value && isIndexableScalar(value.$eq)) addCond(out, key, { eq: [value.$eq] });
      const $in = value.$in;
      if (Array.isArray($in) && $in.length > 0 && $in.every(isIndexableScalar)) addCond(out, key, { eq: $in });
      if ('$regex' in value) {
        const re = value.$regex;
        const opts = typeof value.$options === 'string' ? value.$options : '';
        const prefix =
          re instanceof RegExp ? regexPrefix(re.source, re.flags + opts) : typeof re === 'string' ? regexPrefix(re, opts) : null;
        if (prefix) addCond(out, key, { prefix });
      }
    }
  }
}

/**
 * A literal contains-search on `fields`: `{ f: <literal regex> }` or `$or` whose every branch is
 * exactly `{ f_i: <literal regex> }`, at the top level or inside `$and`.
 */
export function findSearchCondition(filter: Plain, fields: readonly string[]): SearchCond | null {
  for (const key in filter) {
    const value = filter[key];
    if (key === '$or' && Array.isArray(value) && value.length > 0) {
      const alternatives: SearchCond['alternatives'] = [];
      for (const branch of value) {
        if (!isPlainObject(branch)) break;
        const keys = Object.keys(branch);
        if (keys.length !== 1 || !fields.includes(keys[0])) break;
        const text = literalText(branch[keys[0]]);
        if (text === null) break;
        alternatives.push({ field: keys[0], text, grams: textGrams(text) });
      }
      if (alternatives.length === value.length) return { alternatives };
    } else if (key === '$and' && Array.isArray(value)) {
      for (const c of value) {
        if (!isPlainObject(c)) continue;
        const found = findSearchCondition(c, fields);
        if (found) return found;
      }
    } else if (fields.includes(key)) {
      const text = literalText(value);
      if (text !== null) return { alternatives: [{ field: key, text, grams: textGrams(text) }] };
    }
  }
  return null;
}

/** the text of a regex condition whose pattern is a plain literal (flags: none or i), else null */
function literalText(cond: unknown): string | null {
  let source: string;
  let flags: string;
  if (cond instanceof RegExp) {
    source = cond.source;
    flags = cond.flags;
  } else if (isOperatorObject(cond) && Object.keys(cond).every((k) => k === '$regex' || k === '$options')) {
    const re = cond.$regex;
    const options = cond.$options;
    if (typeof re === 'string' && (options === undefined || typeof options === 'string')) {
      source = re;
      flags = options ?? '';
    } else if (re instanceof RegExp && options === undefined) {
      source = re.source;
      flags = re.flags;
    } else return null;
  } else return null;
  if (flags !== '' && flags !== 'i') return null;
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) return null;
      text += n;
      i++;
    } else if ('.[](){}*+?^$|'.includes(c)) {
      return null;
    } else {
      text += c;
    }
  }
  return text.length > 0 ? text : null;
}

/** literal prefix of an anchored regex (`^abc...`), or null when the regex can match elsewhere */
export function regexPrefix(source: string, flags: string): string | null {
  if (/[imx]/.test(flags) || !source.startsWith('^') || source.includes('|')) return null;
  let out = '';
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    let literal: string;
    let width: number;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) break;
      literal = n;
      width = 2;
    } else if ('.[](){}*+?^$'.includes(c)) {
      break;
    } else {
      literal = c;
      width = 1;
    }
    const after = source[i + width];
    if (after === '*' || after === '?' || after === '{') break; // optional: not part of the prefix
    out += literal;
    i += width;
    if (after === '+') break;
  }
  return out.length > 0 ? out : null;
}

/** conservative: the filter repeats every top-level condition of the partial filter verbatim */
function impliesPartial(filter: Filter, partial: Filter): boolean {
  for (const k in partial) {
    if (!(k in filter) || compareValues(filter[k], partial[k]) !== 0) return false;
  }
  return true;
}
