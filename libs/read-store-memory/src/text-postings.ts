/**
 * Exact n-gram posting lists and small columns for the in-memory adapter's literal
 * contains-searches (`IndexSpec.searchFields`).
 *
 * Postings: every document gets an ordinal and is listed under every case-folded character
 * trigram and bigram of its search fields' string values (array elements included, see
 * `stringValues`). A literal text of three or more characters can only occur in a value holding
 * all of its trigrams (a two-character text: its bigram), so intersecting those lists gives every
 * matching document plus a few that hold the grams but not the text, in microseconds.
 *
 * Columns: testing those candidates against the stored documents costs several cache misses per
 * document (record, document, property storage, string) and dominated a count over a large
 * list. So beside the lists each ordinal keeps, in arrays indexed by ordinal, the string of
 * every search field (when it is one plain string) and a small integer code for the scalar value
 * of every key field of the indexes declaring searchFields (the `listId`, `status` of a roster
 * index; a field with more than MAX_CODES distinct values stops being kept). `ColumnCheck`
 * answers the filter's top-level equality and text conditions from these columns: "no", "yes"
 * (when nothing else is in the filter) or "ask the document" (anything else: other conditions,
 * arrays, missing or non-scalar values), and the query runs the full matcher (./matcher.ts) only
 * in the last case. Equality is JavaScript's === on scalars and the text test is the filter's
 * own RegExp (`toRegExp`), exactly what the compiled matcher decides for such values.
 *
 * Folding is `fold` from ./memory-index.ts (what a non-unicode `i` regex compares), so the same
 * lists serve case-sensitive and case-insensitive literals.
 *
 * Maintenance is append-only: a document whose listed values change (or that is deleted) retires
 * its ordinal and gets a fresh one, so every list stays sorted without moving entries; retired
 * ordinals are skipped when read and dropped by the next build (once they outnumber the live
 * ones). Everything is built on the first query that can use it, so loading or rebuilding a
 * collection does not pay for it: a small collection at once, a large one (about 8 µs per
 * document) in slices of a few milliseconds between other work, while queries keep using the
 * index ranges and block summaries until it is ready.
 *
 * Hot paths avoid `const f = () => ...` closures: see the note in ./memory-index.ts.
 */
import { toRegExp } from './matcher.ts';
import { fold, stringValues, type Rec, type SearchCond } from './memory-index.ts';
import type { Doc, Filter } from '@muster/read-store/port';
import { isOperatorObject, isPlainObject, sortKey, type Plain } from './values.ts';

/** one gram's ordinals, ascending, in a growable typed array */
interface Posting {
  ords: Int32Array;
  n: number;
}

/** Map keys of grams: a small integer when every code unit is below 1024 (nearly all text), else a string */
type GramKey = number | string;

/** candidates of one literal search: ascending ordinals (null: every ordinal) and how many lists were read */
export interface TextCandidates {
  ords: Int32Array | null;
  /** candidates named (retired ordinals included) */
  count: number;
  grams: number;
}

/** column code of a value that is not one plain scalar (missing, null, array, object, NaN): the document decides */
const UNKNOWN = -1;
/** code looked up for a scalar no document holds */
const ABSENT = -2;
/** a key field with more distinct values than this is not kept as a column (it would not narrow anything cheaply) */
const MAX_CODES = 4096;

/** collections up to this size are listed at once when first needed; larger ones in slices */
const SYNC_BUILD_MAX = 5_000;
/**
 * Milliseconds of listing per slice of a background build: as long as the event loop spent on
 * other work since the previous slice (half the time each, so a busy server still finishes soon),
 * at least SLICE_MS and at most MAX_SLICE_MS (the most a request can wait for a slice).
 */
const SLICE_MS = 4;
const MAX_SLICE_MS = 20;

/** ColumnCheck verdicts */
export const NO = 0;
export const YES = 1;
export const ASK_DOC = 2;

export class TextPostings {
  /** ordinal → record; undefined once retired */
  private recs: Array<Rec | undefined> = [];
  private readonly ordOf = new Map<Rec, number>();
  private readonly fields = new Map<string, FieldPostings>();
  private readonly columns = new Map<string, CodeColumn>();
  private readonly sortColumns = new Map<string, SortColumn>();
  private retired = 0;
  private phase: 'idle' | 'building' | 'built' = 'idle';
  /** bumped by every reset: a background build of an older generation stops */
  private generation = 0;
  private waiters: Array<() => void> = [];
  /** the fields listed (every searchFields entry of the collection's indexes) */
  readonly fieldNames: readonly string[];
  /** key fields of those indexes, kept as code columns while their values stay few */
  readonly keyFields: readonly string[];

  constructor(searchFields: Iterable<string>, keyFields: Iterable<string>) {
    for (const f of searchFields) this.fields.set(f, new FieldPostings(f.split('.')));
    for (const f of keyFields) this.columns.set(f, new CodeColumn(f.split('.')));
    this.fieldNames = [...this.fields.keys()];
    this.keyFields = [...this.columns.keys()];
  }

  /** whether the lists are complete and current (writes before the first search query cost nothing) */
  get isBuilt(): boolean {
    return this.phase === 'built';
  }

  /**
   * Starts listing the collection's documents unless that is done or under way: at once for a
   * small collection, else in slices (setImmediate) that follow the live map, so documents
   * inserted, changed or deleted meanwhile are listed as they are when reached.
   */
  ensureBuilt(docs: Map<string, Rec>): void {
    if (this.phase !== 'idle') return;
    this.clear();
    if (docs.size <= SYNC_BUILD_MAX) {
      for (const rec of docs.values()) this.append(rec);
      this.finished();
      return;
    }
    this.phase = 'building';
    const generation = this.generation;
    const it = docs.values();
    let lastEnd = performance.now();
    const slice = (): void => {
      if (generation !== this.generation) return;
      const start = performance.now();
      const until = start + Math.min(MAX_SLICE_MS, Math.max(SLICE_MS, start - lastEnd));
      for (let i = 1; ; i++) {
        const next = it.next();
        if (next.done) {
          this.finished();
          return;
        }
        this.append(next.value);
        if ((i & 127) === 0 && performance.now() >= until) break;
      }
      lastEnd = performance.now();
      setImmediate(slice);
    };
    setImmediate(slice);
  }

  /** resolves once the lists are built (or were dropped by a reset) */
  whenBuilt(): Promise<void> {
    if (this.phase !== 'building') return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** forgets everything (stopping a build under way); the next query builds again */
  reset(): void {
    this.generation++;
    this.clear();
    this.phase = 'idle';
    this.wake();
  }

  private finished(): void {
    for (const f of this.fields.values()) f.trim();
    this.phase = 'built';
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  inserted(rec: Rec): void {
    // while building, the map iteration reaches the new entry (it is added at the map's end)
    if (this.phase === 'built') this.append(rec);
  }

  /** `rec.doc` was replaced; `prev` is the document before */
  replaced(rec: Rec, prev: Doc): void {
    if (!this.ordOf.has(rec)) return; // not listed (yet): listed as it is when reached
    let same = true;
    for (const f of this.fields.values()) {
      if (!f.sameValues(prev, rec.doc)) {
        same = false;
        break;
      }
    }
    if (same) {
      for (const c of this.columns.values()) {
        if (c.usable && c.codeOf(prev) !== c.codeOf(rec.doc)) {
          same = false;
          break;
        }
      }
    }
    if (same) {
      const ord = this.ordOf.get(rec)!;
      for (const c of this.sortColumns.values()) c.values[ord] = undefined; // read again when next needed
      return;
    }
    this.retire(rec);
    this.append(rec);
  }

  deleted(rec: Rec): void {
    this.retire(rec);
  }

  /** true when retired ordinals have piled up and a rebuild would pay for itself */
  get needsCompaction(): boolean {
    return this.phase === 'built' && this.retired > 1024 && this.retired > this.ordOf.size;
  }

  /**
   * Ordinals of the documents that can satisfy `cond` (every one that does, plus a few that
   * hold the grams but not the text). A one-character text narrows nothing: then every ordinal
   * (`ords` null), still cheaper to decide from the columns than reading documents.
   */
  candidates(cond: SearchCond): TextCandidates {
    const perAlt: Int32Array[] = [];
    let grams = 0;
    for (const alt of cond.alternatives) {
      const keys = this.fields.has(alt.field) ? gramKeys(alt.text) : null;
      if (keys === null) return { ords: null, count: this.recs.length, grams: 0 };
      grams += keys.length;
      perAlt.push(this.fields.get(alt.field)!.intersect(keys));
    }
    const ords = perAlt.length === 1 ? perAlt[0] : union(perAlt);
    return { ords, count: ords.length, grams };
  }

  /** sort keys of `path` kept per ordinal (filled as queries read them), or null past MAX_SORT_COLUMNS paths */
  sortColumn(path: string): SortColumn | null {
    let c = this.sortColumns.get(path);
    if (!c && this.sortColumns.size < MAX_SORT_COLUMNS) {
      c = new SortColumn(path.split('.'));
      this.sortColumns.set(path, c);
    }
    return c ?? null;
  }

  /** the live record of an ordinal, or undefined when it was retired */
  recAt(ord: number): Rec | undefined {
    return this.recs[ord];
  }

  /** what the columns can decide of `filter` (see ColumnCheck) */
  check(filter: Filter): ColumnCheck {
    const check = new ColumnCheck();
    this.addConditions(filter, check);
    return check;
  }

  private addConditions(filter: Plain, check: ColumnCheck): void {
    for (const key of Object.keys(filter)) {
      const cond = filter[key];
      if (key === '$and' && Array.isArray(cond) && cond.length > 0 && cond.every(isPlainObject)) {
        for (const c of cond) this.addConditions(c as Plain, check);
      } else if (key === '$or' && Array.isArray(cond) && cond.length > 0) {
        const group: TextTest[] = [];
        for (const branch of cond) {
          const keys = isPlainObject(branch) ? Object.keys(branch) : [];
          const test = keys.length === 1 ? this.textTest(keys[0], (branch as Plain)[keys[0]]) : null;
          if (!test) break;
          group.push(test);
        }
        if (group.length === cond.length) check.texts.push(group);
        else check.residual = true;
      } else if (key.startsWith('$')) {
        check.residual = true;
      } else {
        const column = this.columns.get(key);
        const value = isOperatorObject(cond) && Object.keys(cond).length === 1 && '$eq' in cond ? cond.$eq : cond;
        if (column?.usable && isColumnScalar(value)) {
          check.codes.push(column.codes);
          check.wanted.push(column.lookup(value));
          continue;
        }
        const test = this.textTest(key, cond);
        if (test) check.texts.push([test]);
        else check.residual = true;
      }
    }
  }

  /** `{ field: regex }` on a search field, as a test of its string column; null otherwise */
  private textTest(field: string, cond: unknown): TextTest | null {
    const postings = this.fields.get(field);
    if (!postings) return null;
    let re: RegExp | null = null;
    if (cond instanceof RegExp) re = toRegExp(cond, undefined);
    else if (isOperatorObject(cond) && '$regex' in cond && Object.keys(cond).every((k) => k === '$regex' || k === '$options')) {
      re = toRegExp(cond.$regex, cond.$options);
    }
    return re ? { strings: postings.strings, re } : null;
  }

  private append(rec: Rec): void {
    const ord = this.recs.length;
    this.recs.push(rec);
    this.ordOf.set(rec, ord);
    for (const f of this.fields.values()) f.add(rec.doc, ord);
    for (const c of this.columns.values()) c.set(ord, rec.doc);
  }

  private retire(rec: Rec): void {
    const ord = this.ordOf.get(rec);
    if (ord === undefined) return;
    this.recs[ord] = undefined;
    this.ordOf.delete(rec);
    this.retired++;
  }

  private clear(): void {
    this.recs = [];
    this.ordOf.clear();
    this.retired = 0;
    for (const f of this.fields.values()) f.clear();
    for (const c of this.columns.values()) c.clear();
    this.sortColumns.clear();
  }
}

/** at most this many sort paths get a column per collection */
const MAX_SORT_COLUMNS = 16;
const COMPLEX = Symbol('complex');

/**
 * Sort keys of one path per ordinal, so that ordering thousands of candidates does not read each
 * document again: filled the first time a query needs an ordinal's key, cleared when its document
 * changes. Only the plain case is kept (a path through plain objects to a non-array value, what
 * `sortKey` returns directly); arrays and the like are read from the document every time.
 */
export class SortColumn {
  /** per ordinal: undefined until read, COMPLEX when the document must decide */
  readonly values: unknown[] = [];

  constructor(private readonly parts: string[]) {}

  key(ord: number, doc: Doc, dir: 1 | -1): unknown {
    let v = this.values[ord];
    if (v === undefined) {
      v = plainSortValue(doc, this.parts);
      this.values[ord] = v;
    }
    return v === COMPLEX ? sortKey(doc, this.parts, dir) : v;
  }
}

/** `sortKey`'s direct case: the value (null when missing) at a path through plain objects, unless it is an array */
function plainSortValue(doc: Doc, parts: string[]): unknown {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    if (!isPlainObject(cur)) return COMPLEX;
    cur = Object.prototype.hasOwnProperty.call(cur, parts[i]) ? cur[parts[i]] : undefined;
  }
  if (Array.isArray(cur)) return COMPLEX;
  return cur === undefined ? null : cur;
}

interface TextTest {
  /** the field's string per ordinal (undefined: not one plain string) */
  strings: Array<string | undefined>;
  re: RegExp;
}

/**
 * The top-level conditions of a filter that the columns answer: equalities on code columns and
 * regex tests (alone or as an `$or` of them) on search fields. `residual` when anything else is
 * in the filter: then a candidate passing the columns still needs the full matcher.
 */
export class ColumnCheck {
  readonly codes: Int32Array[] = [];
  readonly wanted: number[] = [];
  /** a conjunction of disjunctions */
  readonly texts: TextTest[][] = [];
  residual = false;

  /** NO, YES or ASK_DOC for one ordinal */
  test(ord: number): number {
    let ask = this.residual;
    for (let i = 0; i < this.codes.length; i++) {
      const code = this.codes[i][ord];
      if (code === this.wanted[i]) continue;
      if (code !== UNKNOWN) return NO;
      ask = true;
    }
    for (let g = 0; g < this.texts.length; g++) {
      const group = this.texts[g];
      let hit = false;
      let unknown = false;
      for (let i = 0; i < group.length; i++) {
        const s = group[i].strings[ord];
        if (s === undefined) unknown = true;
        else if (group[i].re.test(s)) {
          hit = true;
          break;
        }
      }
      if (hit) continue;
      if (!unknown) return NO;
      ask = true;
    }
    return ask ? ASK_DOC : YES;
  }
}

function isColumnScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));
}

/**
 * The value at a dotted path when it is reached through plain objects only (no arrays on the
 * way); undefined otherwise. For such a value the compiled matcher decides alone.
 */
function plainValue(doc: Doc, parts: string[]): unknown {
  let cur: unknown = doc;
  for (let i = 0; i < parts.length; i++) {
    if (!isPlainObject(cur)) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, parts[i]) ? cur[parts[i]] : undefined;
  }
  return cur;
}

/** small integer codes of a key field's scalar values, per ordinal */
class CodeColumn {
  codes = new Int32Array(1024);
  private readonly dict = new Map<string | number | boolean, number>();
  usable = true;

  constructor(private readonly parts: string[]) {}

  clear(): void {
    this.codes = new Int32Array(1024);
    this.dict.clear();
    this.usable = true;
  }

  /** the code of a scalar, ABSENT when no document holds it */
  lookup(value: string | number | boolean): number {
    return this.dict.get(value) ?? ABSENT;
  }

  codeOf(doc: Doc): number {
    const v = plainValue(doc, this.parts);
    return isColumnScalar(v) ? (this.dict.get(v) ?? ABSENT) : UNKNOWN;
  }

  set(ord: number, doc: Doc): void {
    if (!this.usable) return;
    const v = plainValue(doc, this.parts);
    let code = UNKNOWN;
    if (isColumnScalar(v)) {
      const known = this.dict.get(v);
      if (known !== undefined) code = known;
      else if (this.dict.size >= MAX_CODES) {
        this.usable = false; // too many distinct values: stop keeping this field
        this.codes = new Int32Array(0);
        this.dict.clear();
        return;
      } else {
        code = this.dict.size;
        this.dict.set(v, code);
      }
    }
    if (ord >= this.codes.length) {
      const grown = new Int32Array(Math.max(this.codes.length * 2, ord + 1));
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[ord] = code;
  }
}

/**
 * Postings by small-integer gram key in an open-addressing hash table (a Map costs about twice
 * as much per lookup, and a build looks up every gram of every document).
 */
class GramTable {
  private keys = new Int32Array(1024);
  /** posting index + 1 per slot; 0: empty */
  private slots = new Int32Array(1024);
  private mask = 1023;
  private shift = 22;
  readonly postings: Posting[] = [];

  get(key: number): Posting | undefined {
    const keys = this.keys;
    const slots = this.slots;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.shift; ; i = (i + 1) & this.mask) {
      const slot = slots[i];
      if (slot === 0) return undefined;
      if (keys[i] === key) return this.postings[slot - 1];
    }
  }

  getOrAdd(key: number): Posting {
    const keys = this.keys;
    const slots = this.slots;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (; ; i = (i + 1) & this.mask) {
      const slot = slots[i];
      if (slot === 0) break;
      if (keys[i] === key) return this.postings[slot - 1];
    }
    const p: Posting = { ords: new Int32Array(4), n: 0 };
    this.postings.push(p);
    keys[i] = key;
    slots[i] = this.postings.length;
    if (this.postings.length * 2 > slots.length) this.grow();
    return p;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    const size = oldSlots.length * 2;
    this.keys = new Int32Array(size);
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    this.shift--;
    for (let j = 0; j < oldSlots.length; j++) {
      if (oldSlots[j] === 0) continue;
      let i = Math.imul(oldKeys[j], 0x9e3779b1) >>> this.shift;
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.keys[i] = oldKeys[j];
      this.slots[i] = oldSlots[j];
    }
  }
}

/** the n-gram lists and string column of one search field */
class FieldPostings {
  private table = new GramTable();
  /** grams with a code unit of 1024 or more */
  private readonly wide = new Map<string, Posting>();
  /** the field's value per ordinal when it is one plain string, else undefined */
  strings: Array<string | undefined> = [];

  constructor(private readonly parts: string[]) {}

  clear(): void {
    this.table = new GramTable();
    this.wide.clear();
    this.strings = [];
  }

  sameValues(a: Doc, b: Doc): boolean {
    const x = stringValues(a, this.parts);
    const y = stringValues(b, this.parts);
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return this.plainString(a) === this.plainString(b); // e.g. 'x' and ['x'] list the same grams
  }

  private plainString(doc: Doc): string | undefined {
    const v = plainValue(doc, this.parts);
    return typeof v === 'string' ? v : undefined;
  }

  add(doc: Doc, ord: number): void {
    this.strings[ord] = this.plainString(doc);
    for (const s of stringValues(doc, this.parts)) {
      if (s.length < 2) continue;
      let a = fold(s.charCodeAt(0));
      let b = fold(s.charCodeAt(1));
      this.push(bigramKey(a, b), ord);
      for (let i = 2; i < s.length; i++) {
        const c = fold(s.charCodeAt(i));
        this.push(bigramKey(b, c), ord);
        this.push(trigramKey(a, b, c), ord);
        a = b;
        b = c;
      }
    }
  }

  /** drops the growth slack of every list (up to half of their memory); later appends grow them again */
  trim(): void {
    for (const p of this.table.postings) trimPosting(p);
    for (const p of this.wide.values()) trimPosting(p);
  }

  private posting(key: GramKey): Posting | undefined {
    return typeof key === 'number' ? this.table.get(key) : this.wide.get(key);
  }

  private push(key: GramKey, ord: number): void {
    let p: Posting | undefined;
    if (typeof key === 'number') p = this.table.getOrAdd(key);
    else {
      p = this.wide.get(key);
      if (p === undefined) {
        p = { ords: new Int32Array(4), n: 0 };
        this.wide.set(key, p);
      }
    }
    if (p.n > 0 && p.ords[p.n - 1] === ord) {
      return; // the gram occurs more than once in this document
    } else if (p.n === p.ords.length) {
      const grown = new Int32Array(p.ords.length * 2);
      grown.set(p.ords);
      p.ords = grown;
    }
    p.ords[p.n++] = ord;
  }

  /** ordinals listed under every key (ascending) */
  intersect(keys: GramKey[]): Int32Array {
    const lists: Posting[] = [];
    for (const k of keys) {
      const p = this.posting(k);
      if (p === undefined) return new Int32Array(0);
      if (!lists.includes(p)) lists.push(p);
    }
    lists.sort(byLength);
    let out: Int32Array = lists[0].ords.slice(0, lists[0].n);
    for (let i = 1; i < lists.length && out.length > 0; i++) out = intersectSorted(out, lists[i]);
    return out;
  }
}

function trimPosting(p: Posting): void {
  if (p.ords.length > p.n + (p.n >>> 3) + 4) p.ords = p.ords.slice(0, p.n);
}

function byLength(a: Posting, b: Posting): number {
  return a.n - b.n;
}

/** bigram keys are negative, trigram keys not, so that they never meet (both stay small integers) */
function bigramKey(a: number, b: number): GramKey {
  return a < 1024 && b < 1024 ? -1 - ((a << 10) | b) : String.fromCharCode(a, b);
}

function trigramKey(a: number, b: number, c: number): GramKey {
  return a < 1024 && b < 1024 && c < 1024 ? (a << 20) | (b << 10) | c : String.fromCharCode(a, b, c);
}

/** the keys a literal text must hold all of: its trigrams, or its bigram; null when shorter than 2 */
export function gramKeys(text: string): GramKey[] | null {
  if (text.length < 2) return null;
  const f: number[] = [];
  for (let i = 0; i < text.length; i++) f.push(fold(text.charCodeAt(i)));
  if (f.length === 2) return [bigramKey(f[0], f[1])];
  const keys: GramKey[] = [];
  for (let i = 2; i < f.length; i++) {
    const k = trigramKey(f[i - 2], f[i - 1], f[i]);
    if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

/**
 * The elements of ascending `a` that are also in posting `p`: a merge when the sizes are close,
 * a galloping search through `p` when `a` is much smaller.
 */
function intersectSorted(a: Int32Array, p: Posting): Int32Array {
  const b = p.ords;
  const bn = p.n;
  const out = new Int32Array(Math.min(a.length, bn));
  let n = 0;
  if (a.length * 16 < bn) {
    let lo = 0;
    for (let i = 0; i < a.length && lo < bn; i++) {
      const x = a[i];
      // gallop to a bound, then binary search
      let step = 1;
      let hi = lo;
      while (hi < bn && b[hi] < x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
      }
      if (hi > bn) hi = bn;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (b[mid] < x) lo = mid + 1;
        else hi = mid;
      }
      if (lo < bn && b[lo] === x) out[n++] = x;
    }
  } else {
    let i = 0;
    let j = 0;
    while (i < a.length && j < bn) {
      const x = a[i];
      const y = b[j];
      if (x === y) {
        out[n++] = x;
        i++;
        j++;
      } else if (x < y) i++;
      else j++;
    }
  }
  return out.subarray(0, n);
}

/** ascending union without duplicates */
function union(lists: Int32Array[]): Int32Array {
  let total = 0;
  for (const l of lists) total += l.length;
  const all = new Int32Array(total);
  let at = 0;
  for (const l of lists) {
    all.set(l, at);
    at += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[n++] = all[i];
  return all.subarray(0, n);
}
