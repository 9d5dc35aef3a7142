/**
 * Value helpers shared by the in-memory adapter: BSON-like ordering, deep copies
 * and index-key extraction along dotted paths (with MongoDB's multikey fan-out).
 */

export type Plain = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Plain {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** true for `{ $op: ... }` documents (every key starts with '$'); `{}` is not an operator object */
export function isOperatorObject(v: unknown): v is Plain {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** Deep copy of JSON-like data plus Date/RegExp/typed arrays; other class instances are copied with structuredClone. */
export function cloneDeep<T>(v: T): T {
  return cloneValue(v) as T;
}

function cloneValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneValue(v[i]);
    return out;
  }
  if (isPlainObject(v)) {
    const out: Plain = {};
    for (const k in v) {
      // an own "__proto__" key (JSON.parse makes one) stays a key: assigning it would set the copy's prototype
      if (k === '__proto__') Object.defineProperty(out, k, { value: cloneValue(v[k]), enumerable: true, writable: true, configurable: true });
      else out[k] = cloneValue(v[k]);
    }
    return out;
  }
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof RegExp) return new RegExp(v.source, v.flags);
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Ordering. Follows MongoDB's BSON comparison order for the types a read model holds:
// (empty array in an index) < null/missing < numbers < strings < objects < arrays < binary
// < booleans < dates < regular expressions. Strings compare by code point (= UTF-8 byte order,
// which is what the server does without a collation).
// ---------------------------------------------------------------------------------------------

/** marker used as the index key of an empty array (Mongo indexes `[]` as `undefined`) */
export const EMPTY_ARRAY_KEY: unique symbol = Symbol('emptyArray');

function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 1;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 8;
    case 'symbol':
      return v === EMPTY_ARRAY_KEY ? 0 : 3;
    case 'object':
      if (Array.isArray(v)) return 5;
      if (v instanceof Date) return 9;
      if (v instanceof RegExp) return 11;
      if (ArrayBuffer.isView(v)) return 6;
      if (isPlainObject(v)) return 4;
      return 7; // ObjectId-like and other class instances
    default:
      return 12;
  }
}

/** a code unit at which UTF-16 order and code point order can disagree (surrogates, U+E000..U+FFFF) */
export const HIGH_UNIT = /[\ud800-\uffff]/;

export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  // native (UTF-16) order equals code point order unless both strings hold such code units
  if (!HIGH_UNIT.test(a) || !HIGH_UNIT.test(b)) return a < b ? -1 : 1;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x < 0xd800 && y < 0xd800 ? x - y : codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** maps UTF-16 code units so that their order equals code point order (surrogates sort above U+FFFF) */
function codePointRank(c: number): number {
  if (c >= 0xe000) return c - 0x800;
  if (c >= 0xd800) return c + 0x2000;
  return c;
}

export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'string') return compareStrings(a as string, b as string);
    if (ta === 'number' && a === a && b === b) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
    case 1:
      return 0;
    case 2: {
      const x = Number(a);
      const y = Number(b);
      if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
      if (Number.isNaN(y)) return 1;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3:
      return compareStrings(String(a), String(b));
    case 4:
      return compareObjects(a as Plain, b as Plain);
    case 5: {
      const xs = a as unknown[];
      const ys = b as unknown[];
      const n = Math.min(xs.length, ys.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xs[i], ys[i]);
        if (c !== 0) return c;
      }
      return xs.length - ys.length;
    }
    case 8:
      return (a ? 1 : 0) - (b ? 1 : 0);
    case 9:
      return (a as Date).getTime() - (b as Date).getTime();
    case 11: {
      const c = compareStrings((a as RegExp).source, (b as RegExp).source);
      return c !== 0 ? c : compareStrings((a as RegExp).flags, (b as RegExp).flags);
    }
    default:
      return compareStrings(String(a), String(b));
  }
}

function compareObjects(a: Plain, b: Plain): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const va = a[ka[i]];
    const vb = b[kb[i]];
    const t = typeRank(va) - typeRank(vb);
    if (t !== 0) return t;
    const k = compareStrings(ka[i], kb[i]);
    if (k !== 0) return k;
    const c = compareValues(va, vb);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

/** equality as a unique index sees it (1 equals 1.0, missing equals null, key order matters in objects) */
export function valuesEqual(a: unknown, b: unknown): boolean {
  return compareValues(a, b) === 0;
}

// ---------------------------------------------------------------------------------------------
// Path extraction
// ---------------------------------------------------------------------------------------------

export interface Extracted {
  values: unknown[];
  /** an array was met on the path (the index becomes "multikey": no ordered scans) */
  multikey: boolean;
}

/**
 * Values a MongoDB index would hold for `path` in `doc`: arrays fan out into their elements
 * (at any level), a missing field gives `null`, an empty array at the end gives EMPTY_ARRAY_KEY.
 */
export function extractKeyValues(doc: unknown, parts: readonly string[]): Extracted {
  const out: unknown[] = [];
  const state = { multikey: false };
  walk(doc, parts, 0, out, state);
  if (out.length === 0) out.push(null);
  return { values: dedupe(out), multikey: state.multikey };
}

function walk(v: unknown, parts: readonly string[], i: number, out: unknown[], state: { multikey: boolean }): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      state.multikey = true;
      if (v.length === 0) out.push(EMPTY_ARRAY_KEY);
      else for (const e of v) out.push(e === undefined ? null : e);
    } else {
      out.push(v === undefined ? null : v);
    }
    return;
  }
  if (Array.isArray(v)) {
    state.multikey = true;
    const part = parts[i];
    if (/^\d+$/.test(part)) {
      const idx = Number(part);
      if (idx < v.length) walk(v[idx], parts, i + 1, out, state);
    }
    let any = false;
    for (const e of v) {
      if (isPlainObject(e)) {
        walk(own(e, part), parts, i + 1, out, state);
        any = true;
      }
    }
    if (!any) out.push(null);
    return;
  }
  if (isPlainObject(v)) {
    walk(own(v, parts[i]), parts, i + 1, out, state);
    return;
  }
  out.push(null);
}

function own(o: Plain, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function dedupe(values: unknown[]): unknown[] {
  if (values.length < 2) return values;
  const out: unknown[] = [];
  for (const v of values) if (!out.some((o) => valuesEqual(o, v))) out.push(v);
  return out;
}

/** MongoDB sort key of a document for one sort field: min element ascending, max element descending */
export function sortKey(doc: unknown, parts: readonly string[], dir: 1 | -1): unknown {
  // shortcut: a path through plain objects to a non-array value
  let cur: unknown = doc;
  let simple = true;
  for (let i = 0; i < parts.length; i++) {
    if (!isPlainObject(cur)) {
      simple = false;
      break;
    }
    cur = own(cur, parts[i]);
  }
  if (simple && !Array.isArray(cur)) return cur === undefined ? null : cur;
  const { values } = extractKeyValues(doc, parts);
  let best = values[0] === EMPTY_ARRAY_KEY ? null : values[0];
  for (let i = 1; i < values.length; i++) {
    const v = values[i] === EMPTY_ARRAY_KEY ? null : values[i];
    const c = compareValues(v, best);
    if ((dir === 1 && c < 0) || (dir === -1 && c > 0)) best = v;
  }
  return best;
}

/** plain scalar values an index lookup can be driven by */
export function isIndexableScalar(v: unknown): boolean {
  return (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && !Number.isNaN(v)) ||
    (v instanceof Date && !Number.isNaN(v.getTime()))
  );
}

/** sets a dotted path, creating intermediate objects */
export function setPath(target: Plain, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Plain = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (isPlainObject(next)) cur = next;
    else {
      const created: Plain = {};
      cur[parts[i]] = created;
      cur = created;
    }
  }
  cur[parts[parts.length - 1]] = value;
}

export function describeKey(fields: readonly string[], key: readonly unknown[]): string {
  const parts = fields.map((f, i) => `${f}: ${formatValue(key[i])}`);
  return `{ ${parts.join(', ')} }`;
}

function formatValue(v: unknown): string {
  if (v === EMPTY_ARRAY_KEY) return 'undefined';
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
