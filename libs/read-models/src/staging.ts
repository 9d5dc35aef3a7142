/**
 * A staging read store for rebuilds: plain maps, no indexes, no copies, and only the operations
 * the projections issue (documents addressed by `_id`, optionally guarded by `lastPosition`).
 *
 * Why: a rebuild writes collections that start empty, so it can fold the whole log in process
 * memory at a few microseconds per event and then load the final documents into the real read
 * store once (one insert per document instead of several reads and updates per event). Anything
 * outside the supported subset throws, so a projection that starts using a new query shape fails
 * the rebuild tests instead of silently diverging.
 *
 * Updates never mutate values they did not create: arrays and objects on a modified path are
 * copied first, so event data that documents point to stays untouched. Inserted documents are
 * adopted as they are (the caller must not change them afterwards), and findOne hands out the
 * stored document itself: a later update replaces it with a new object, never changes it.
 */
import {
  DuplicateKeyError,
  type Collection,
  type Doc,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type ReadStore,
  type Update,
  type UpdateResult,
} from '@muster/read-store/port';

export class StagingUnsupportedError extends Error {
  constructor(what: string) {
    super(`staging read store: unsupported ${what}`);
    this.name = 'StagingUnsupportedError';
  }
}

type Plain = Record<string, unknown>;

const isObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => same(x, (b as unknown[])[i]));
  const ka = Object.keys(a as Plain);
  const kb = Object.keys(b as Plain);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Plain)[k], (b as Plain)[k]));
}

/** a compiled `{ _id, lastPosition?: n | { $lt: n } }` filter (data, not a closure: see matches()) */
interface Target {
  id: string;
  /** 0: any document; 1: lastPosition === bound; 2: lastPosition < bound */
  mode: 0 | 1 | 2;
  bound: number;
}

// Hot path: no closures created per call (tsx/esbuild wraps each one in a naming helper).
function compile(filter: Filter): Target {
  let id: string | undefined;
  let mode: 0 | 1 | 2 = 0;
  let bound = 0;
  for (const k in filter) {
    const v = filter[k];
    if (k === '_id' && typeof v === 'string') id = v;
    else if (k === 'lastPosition' && typeof v === 'number') { mode = 1; bound = v; }
    else if (k === 'lastPosition' && isObject(v) && typeof v.$lt === 'number' && Object.keys(v).length === 1) { mode = 2; bound = v.$lt; }
    else throw new StagingUnsupportedError(`filter ${JSON.stringify(filter)}`);
  }
  if (id === undefined) throw new StagingUnsupportedError(`filter without a string _id: ${JSON.stringify(filter)}`);
  return { id, mode, bound };
}

function matches(d: Doc | undefined, t: Target): d is Doc {
  if (!d) return false;
  if (t.mode === 0) return true;
  const lp = d.lastPosition;
  return t.mode === 1 ? lp === t.bound : typeof lp === 'number' && lp < t.bound;
}

function lookup(doc: Plain, path: string): unknown {
  if (!path.includes('.')) return doc[path];
  let node: unknown = doc;
  for (const part of path.split('.')) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** the container holding `path`'s last segment, copying every object on the way (copy-on-write) */
function parentOf(doc: Plain, path: string): [Plain, string] {
  if (!path.includes('.')) return [doc, path];
  const parts = path.split('.');
  let node = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const cur = node[parts[i]];
    if (cur !== undefined && cur !== null && !isObject(cur)) throw new StagingUnsupportedError(`update through a non-object at ${path}`);
    const copy: Plain = cur ? { ...cur } : {};
    node[parts[i]] = copy;
    node = copy;
  }
  return [node, parts[parts.length - 1]];
}

function arrayAt(parent: Plain, key: string, path: string): unknown[] {
  const cur = parent[key];
  if (cur === undefined || cur === null) return [];
  if (!Array.isArray(cur)) throw new StagingUnsupportedError(`array operator on a non-array at ${path}`);
  return cur;
}

const eachOf = (v: unknown): unknown[] => (isObject(v) && Array.isArray(v.$each) && Object.keys(v).length === 1 ? v.$each : [v]);

/**
 * applies a Mongo update document to a shallow copy of `doc`, made at the first change; returns
 * `doc` itself when nothing changes (a `$max` that is not larger, `$unset`/`$pull` of a missing path)
 */
function applyUpdate(doc: Doc, update: Update): Doc {
  let next: Plain | null = null;
  for (const op in update) {
    const fields = update[op];
    if (!isObject(fields)) throw new StagingUnsupportedError(`update ${op}`);
    for (const path in fields) {
      const value = fields[path];
      if (path === '_id') throw new StagingUnsupportedError('update of _id');
      // like Mongo, $unset and $pull leave a missing path missing
      if ((op === '$unset' || op === '$pull') && lookup(next ?? doc, path) === undefined) continue;
      if (op === '$max' && (typeof value === 'string' || typeof value === 'number')) {
        const cur = lookup(next ?? doc, path);
        if (typeof cur === typeof value && value <= (cur as string | number)) continue;
      }
      next ??= { ...doc };
      const [parent, key] = parentOf(next, path);
      switch (op) {
        case '$set': parent[key] = value; break;
        case '$unset': delete parent[key]; break;
        case '$inc': {
          const cur = parent[key] ?? 0;
          if (typeof cur !== 'number' || typeof value !== 'number') throw new StagingUnsupportedError(`$inc on a non-number at ${path}`);
          parent[key] = cur + value;
          break;
        }
        case '$max': {
          const cur = parent[key];
          if (cur === undefined || cur === null) parent[key] = value;
          else if (typeof cur === typeof value && (typeof cur === 'string' || typeof cur === 'number')) { if ((value as string | number) > cur) parent[key] = value; }
          else throw new StagingUnsupportedError(`$max between ${typeof cur} and ${typeof value} at ${path}`);
          break;
        }
        case '$push': parent[key] = [...arrayAt(parent, key, path), ...eachOf(value)]; break;
        case '$addToSet': {
          const out = [...arrayAt(parent, key, path)];
          for (const v of eachOf(value)) if (!out.some((x) => same(x, v))) out.push(v);
          parent[key] = out;
          break;
        }
        case '$pull': {
          const cur = arrayAt(parent, key, path);
          if (isObject(value)) {
            if (!(Object.keys(value).length === 1 && Array.isArray(value.$in))) throw new StagingUnsupportedError(`$pull condition at ${path}`);
            const out = value.$in as unknown[];
            parent[key] = cur.filter((x) => !out.some((o) => same(x, o)));
          } else parent[key] = cur.filter((x) => !same(x, value));
          break;
        }
        default:
          throw new StagingUnsupportedError(`update operator ${op}`);
      }
    }
  }
  return (next ?? doc) as Doc;
}

function project<T extends Doc>(doc: Doc, options?: FindOptions): T {
  const p = options?.projection;
  if (!p || Object.keys(p).length === 0) return doc as T;
  const keys = Object.entries(p);
  if (keys.some(([, v]) => v !== 1) || keys.some(([k]) => k.includes('.'))) throw new StagingUnsupportedError(`projection ${JSON.stringify(p)}`);
  const out: Plain = { _id: doc._id };
  for (const [k] of keys) if (k in doc) out[k] = doc[k];
  return out as T;
}

class StagingCollection<T extends Doc> implements Collection<T> {
  constructor(readonly name: string, private readonly docs: Map<string, Doc>) {}

  async findOne(filter: Filter, options?: FindOptions): Promise<T | null> {
    const t = compile(filter);
    const d = this.docs.get(t.id);
    return matches(d, t) ? project<T>(d, options) : null;
  }
  async find(filter: Filter, options?: FindOptions): Promise<T[]> {
    if (options?.sort || options?.skip || options?.limit) throw new StagingUnsupportedError('find with sort/skip/limit');
    const one = await this.findOne(filter, options);
    return one ? [one] : [];
  }
  async countDocuments(filter: Filter): Promise<number> {
    return (await this.findOne(filter)) ? 1 : 0;
  }
  async insertOne(doc: T): Promise<void> {
    if (typeof doc._id !== 'string') throw new TypeError('document _id must be a string');
    if (this.docs.has(doc._id)) throw new DuplicateKeyError(this.name, '_id_');
    // adopted, not copied: the projections insert fresh objects and never touch them again
    this.docs.set(doc._id, doc);
  }
  async replaceOne(filter: Filter, doc: T, options?: { upsert?: boolean }): Promise<UpdateResult> {
    const t = compile(filter);
    if (matches(this.docs.get(t.id), t)) { this.docs.set(t.id, { ...doc, _id: t.id }); return { matchedCount: 1, modifiedCount: 1 }; }
    if (options?.upsert) throw new StagingUnsupportedError('upsert');
    return { matchedCount: 0, modifiedCount: 0 };
  }
  async updateOne(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<UpdateResult> {
    if (options?.upsert) throw new StagingUnsupportedError('upsert');
    const t = compile(filter);
    const d = this.docs.get(t.id);
    if (!matches(d, t)) return { matchedCount: 0, modifiedCount: 0 };
    const next = applyUpdate(d, update);
    if (next === d) return { matchedCount: 1, modifiedCount: 0 };
    this.docs.set(t.id, next);
    return { matchedCount: 1, modifiedCount: 1 };
  }
  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    return this.updateOne(filter, update);
  }
  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const t = compile(filter);
    if (!matches(this.docs.get(t.id), t)) return { deletedCount: 0 };
    this.docs.delete(t.id);
    return { deletedCount: 1 };
  }
  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    return this.deleteOne(filter);
  }
}

export interface StagingReadStore extends ReadStore {
  /** every staged collection with its documents (insertion order) */
  collections(): Map<string, Map<string, Doc>>;
  /** documents staged in all collections */
  size(): number;
}

/** an empty staging store (see the module comment for what it supports) */
export function createStagingReadStore(): StagingReadStore {
  const colls = new Map<string, Map<string, Doc>>();
  const checkpoints = new Map<string, number>();
  const docsOf = (name: string) => {
    let m = colls.get(name);
    if (!m) { m = new Map(); colls.set(name, m); }
    return m;
  };
  return {
    async ensureIndexes(_collection: string, _indexes: IndexSpec[]) { /* no indexes: every lookup is by _id */ },
    collection: <T extends Doc = Doc>(name: string) => new StagingCollection<T>(name, docsOf(name)),
    async dropCollection(name: string) { colls.delete(name); },
    async renameCollection() { throw new StagingUnsupportedError('renameCollection'); },
    async getCheckpoint(projection: string) { return checkpoints.get(projection) ?? null; },
    async setCheckpoint(projection: string, position: number) { checkpoints.set(projection, position); },
    async close() { colls.clear(); },
    collections: () => colls,
    size: () => [...colls.values()].reduce((n, m) => n + m.size, 0),
  };
}
