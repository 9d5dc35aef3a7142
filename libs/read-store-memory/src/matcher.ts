/**
 * Filter evaluation for the in-memory adapter.
 *
 * mingo is the reference semantics. Because mingo's generic evaluator costs ~1-2 µs per document
 * for a regex on a nested path, a small compiled matcher answers the common, unambiguous cases
 * (scalar values on paths that do not cross arrays) and says "don't know" otherwise; whenever the
 * compiled matcher does not know, for the whole filter or for a single document, mingo decides.
 * memory.test.ts checks the two agree on randomised documents and filters.
 *
 * Fast path subset: implicit equality and $eq/$ne/$in/$nin with string/number/boolean/null values,
 * $gt/$gte/$lt/$lte with a number or string bound, $exists, $regex (string or RegExp, flags i/m/s),
 * RegExp literals, $and/$or/$nor. Anything else compiles to "use mingo".
 */
import { Query } from 'mingo';
import { isOperatorObject, isPlainObject, type Plain } from './values.ts';

/** true / false, or undefined for "cannot tell here, ask mingo" */
type Tri = boolean | undefined;
type Pred = (doc: Plain) => Tri;

const UNKNOWN = Symbol('unknown');

export interface CompiledFilter {
  test(doc: Plain): boolean;
  /** whether the compiled matcher covers the filter's shape (per-document fallbacks may still happen) */
  readonly compiled: boolean;
}

export interface MatcherStats {
  fastDecisions: number;
  mingoDecisions: number;
}

export function compileFilter(filter: Plain, options: { fastPath?: boolean; stats?: MatcherStats } = {}): CompiledFilter {
  if (Object.keys(filter).length === 0) return MATCH_ALL;
  const fast = options.fastPath === false ? null : compileDoc(filter);
  return new Matcher(filter, fast, options.stats);
}

const MATCH_ALL: CompiledFilter = {
  compiled: true,
  test(): boolean {
    return true;
  },
};

class Matcher implements CompiledFilter {
  private query: Query | undefined;
  readonly compiled: boolean;

  constructor(
    private readonly filter: Plain,
    private readonly fast: Pred | null,
    private readonly stats: MatcherStats | undefined,
  ) {
    this.compiled = fast !== null;
  }

  test(doc: Plain): boolean {
    if (this.fast) {
      const r = this.fast(doc);
      if (r !== undefined) {
        if (this.stats) this.stats.fastDecisions++;
        return r;
      }
    }
    this.query ??= new Query(this.filter, {});
    if (this.stats) this.stats.mingoDecisions++;
    return this.query.test(doc);
  }
}

function compileDoc(filter: Plain): Pred | null {
  const preds: Pred[] = [];
  for (const key of Object.keys(filter)) {
    const cond = filter[key];
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(cond) || cond.length === 0) return null;
      const subs: Pred[] = [];
      for (const c of cond) {
        if (!isPlainObject(c)) return null;
        const p = compileDoc(c);
        if (!p) return null;
        subs.push(p);
      }
      preds.push(key === '$and' ? and(subs) : key === '$or' ? or(subs) : not(or(subs)));
      continue;
    }
    if (key.startsWith('$')) return null;
    const p = compileField(key, cond);
    if (!p) return null;
    preds.push(p);
  }
  return preds.length === 1 ? preds[0] : and(preds);
}

function and(preds: Pred[]): Pred {
  return (doc) => {
    let unknown = false;
    for (const p of preds) {
      const r = p(doc);
      if (r === false) return false;
      if (r === undefined) unknown = true;
    }
    return unknown ? undefined : true;
  };
}

function or(preds: Pred[]): Pred {
  return (doc) => {
    let unknown = false;
    for (const p of preds) {
      const r = p(doc);
      if (r === true) return true;
      if (r === undefined) unknown = true;
    }
    return unknown ? undefined : false;
  };
}

function not(p: Pred): Pred {
  return (doc) => {
    const r = p(doc);
    return r === undefined ? undefined : !r;
  };
}

type Prim = string | number | boolean | null | undefined;
type ValueTest = (x: Prim) => boolean;

function isSimpleValue(v: unknown): v is string | number | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));
}

function negate(t: ValueTest): ValueTest {
  return (x) => !t(x);
}

function eqTest(v: string | number | boolean | null): ValueTest {
  return v === null ? (x) => x === null || x === undefined : (x) => x === v;
}

/** $gt/$gte/$lt/$lte with type bracketing: only values of the bound's type can match */
function rangeTest(op: string, bound: string | number): ValueTest {
  const type = typeof bound;
  switch (op) {
    case '$gt':
      return (x) => typeof x === type && (x as string | number) > bound;
    case '$gte':
      return (x) => typeof x === type && (x as string | number) >= bound;
    case '$lt':
      return (x) => typeof x === type && (x as string | number) < bound;
    default:
      return (x) => typeof x === type && (x as string | number) <= bound;
  }
}

/** the RegExp a `$regex` (string or RegExp, with `$options`) or RegExp condition tests, or null outside the compiled matcher's subset */
export function toRegExp(pattern: unknown, options: unknown): RegExp | null {
  let source: string;
  let flags = '';
  if (pattern instanceof RegExp) {
    source = pattern.source;
    flags = pattern.flags;
  } else if (typeof pattern === 'string') source = pattern;
  else return null;
  if (options !== undefined) {
    if (typeof options !== 'string' || pattern instanceof RegExp) return null;
    flags = options;
  }
  if (!/^[ims]*$/.test(flags)) return null;
  try {
    return new RegExp(source, flags);
  } catch {
    return null;
  }
}

function compileField(path: string, cond: unknown): Pred | null {
  const tests: ValueTest[] = [];
  let existsTest: boolean | undefined;
  if (cond instanceof RegExp) {
    const re = toRegExp(cond, undefined);
    if (!re) return null;
    tests.push((x) => typeof x === 'string' && re.test(x));
  } else if (isSimpleValue(cond)) {
    tests.push(eqTest(cond));
  } else if (isOperatorObject(cond)) {
    for (const op of Object.keys(cond)) {
      const arg = cond[op];
      switch (op) {
        case '$eq':
          if (!isSimpleValue(arg)) return null;
          tests.push(eqTest(arg));
          break;
        case '$ne':
          if (!isSimpleValue(arg)) return null;
          tests.push(negate(eqTest(arg)));
          break;
        case '$in':
        case '$nin': {
          if (!Array.isArray(arg) || !arg.every(isSimpleValue)) return null;
          const values = arg as Array<string | number | boolean | null>;
          const hasNull = values.includes(null);
          if (op === '$in') tests.push((x) => (x == null ? hasNull : values.includes(x)));
          else tests.push((x) => !(x == null ? hasNull : values.includes(x)));
          break;
        }
        case '$gt':
        case '$gte':
        case '$lt':
        case '$lte':
          if (!(typeof arg === 'string' || (typeof arg === 'number' && !Number.isNaN(arg)))) return null;
          tests.push(rangeTest(op, arg));
          break;
        case '$exists':
          if (typeof arg !== 'boolean') return null;
          existsTest = arg;
          break;
        case '$regex': {
          const re = toRegExp(arg, cond.$options);
          if (!re) return null;
          tests.push((x) => typeof x === 'string' && re.test(x));
          break;
        }
        case '$options':
          if (!('$regex' in cond)) return null;
          break;
        default:
          return null;
      }
    }
  } else {
    return null;
  }
  const parts = path.split('.');
  if (parts.some((p) => p === '' || /^\d+$/.test(p) || p in Object.prototype)) return null;
  const get = pathGetter(path);
  const exists = existsTest;
  if (tests.length === 1 && exists === undefined) {
    const t = tests[0];
    return (doc) => {
      const x = get(doc);
      if (x === UNKNOWN || x !== x) return undefined; // x !== x: NaN
      return t(x);
    };
  }
  return (doc) => {
    const x = get(doc);
    if (x === UNKNOWN || x !== x) return undefined;
    if (exists !== undefined && (x !== undefined) !== exists) return false;
    for (const t of tests) if (!t(x)) return false;
    return true;
  };
}

type Getter = (doc: Plain) => Prim | typeof UNKNOWN;

function prim(v: unknown): Prim | typeof UNKNOWN {
  return v === undefined || v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
    ? (v as Prim)
    : UNKNOWN;
}

/** a plain (non-array, non-class) object whose fields a dotted path can descend into */
function isRecord(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  return ctor === Object || (ctor === undefined && Object.getPrototypeOf(v) === null);
}

const getters = new Map<string, Getter>();
const MAX_CACHED_GETTERS = 10_000;

/**
 * The primitive at a dotted path: undefined when missing, UNKNOWN when arrays, null intermediates
 * or non-primitive values are involved (mingo decides those).
 *
 * Getters are generated per path so that every path gets its own property-access inline caches:
 * one shared closure reading `obj[key]` for all paths goes megamorphic and costs ~5x more per
 * document on long scans. Path segments are embedded with JSON.stringify (no code injection) and
 * prototype property names never reach here (see compileField).
 */
function pathGetter(path: string): Getter {
  const cached = getters.get(path);
  if (cached) return cached;
  const parts = path.split('.');
  let body = 'let v = doc;\n';
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) body += 'if (v === undefined) return undefined;\nif (!isRecord(v)) return UNKNOWN;\n';
    body += `v = v[${JSON.stringify(parts[i])}];\n`;
  }
  body += 'return prim(v);';
  const factory = new Function('isRecord', 'prim', 'UNKNOWN', `return function getPath(doc) {\n${body}\n};`) as (
    r: typeof isRecord,
    p: typeof prim,
    u: typeof UNKNOWN,
  ) => Getter;
  const getter = factory(isRecord, prim, UNKNOWN);
  if (getters.size < MAX_CACHED_GETTERS) getters.set(path, getter);
  return getter;
}
