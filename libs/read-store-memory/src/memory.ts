/**
 * In-memory read store. Executes the same Mongo filter/update documents as the MongoDB adapter
 * (mingo is the reference evaluator, see ./matcher.ts), enforces unique indexes like the server
 * and answers equality / prefix lookups on declared indexes from sorted index structures instead
 * of scanning (./memory-index.ts). See ../README.md for the supported subset.
 *
 * Hot paths avoid `const f = () => ...` closures: see the note in ./memory-index.ts.
 */
import { find as mingoFind } from 'mingo';
import { update as mingoUpdate } from 'mingo/updater';
import { randomBytes } from 'node:crypto';
import {
  CHECKPOINTS_COLLECTION,
  DuplicateKeyError,
  SHARED_RESULTS,
  type Collection,
  type Doc,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type ReadStore,
  type Sort,
  type Update,
  type UpdateResult,
} from '@muster/read-store/port';
import { compileFilter, type CompiledFilter } from './matcher.ts';
import { analyzeFilter, buildIndexes, findSearchCondition, MemoryIndex, type Entry, type KeySet, type RangePlan, type Rec } from './memory-index.ts';
import { NO, TextPostings, YES, type ColumnCheck, type SortColumn, type TextCandidates } from './text-postings.ts';
import { cloneDeep, compareValues, describeKey, isOperatorObject, isPlainObject, setPath, sortKey, valuesEqual, type Plain } from './values.ts';

/**
 * Tuning hints for one index of the in-memory engine, given as adapter options (indexHints) rather
 * than in the port's IndexSpec: MongoDB has no use for them, and query results are the same with or
 * without them, only the work differs.
 */
export interface MemoryIndexHints {
  /**
   * string fields kept as a per-block text summary beside this index, so that a literal "contains"
   * search on them (`{ $regex: escapeRegex(text), $options: 'i' }`, alone or in an `$or` over these
   * fields) combined with this index's range reads only the blocks holding the text. There is no
   * case-insensitive/collation flag: see @muster/read-store/text (foldCase).
   */
  searchFields?: readonly string[];
  /**
   * also keep a hash of the full key, so that a query binding every key field to one string is
   * answered by one lookup instead of two searches of the sorted index. For indexes behind hot point
   * lookups (the SCIM `userName eq` IdPs send before every write); it costs a map entry per document.
   */
  pointLookups?: boolean;
}

/** an index as the in-memory engine keeps it: the port's spec plus its hints */
export type MemoryIndexSpec = IndexSpec & MemoryIndexHints;

export interface MemoryReadStoreOptions {
  /** hints by index name, applied to an index of that name in any collection (rebuild_* copies too) */
  indexHints?: Readonly<Record<string, MemoryIndexHints>>;
  /**
   * Use the compiled matcher for common filter shapes (default true). With false every
   * document is tested by mingo; results are the same, only slower (used by the benchmark).
   */
  fastFilters?: boolean;
  /**
   * Answer literal contains-searches on `searchFields` from exact n-gram lists (default true).
   * With false they are served by index ranges and block summaries only; results are the same.
   */
  textPostings?: boolean;
}

/** What one query did; like the interesting part of Mongo's explain('executionStats'). */
export interface QueryPlan {
  /**
   * IDHACK: _id lookup; IXSCAN: declared index; COLLSCAN: every document; TEXT: only the documents
   * the exact n-gram lists of a literal contains-search name (./text-postings.ts)
   */
  stage: 'IDHACK' | 'IXSCAN' | 'COLLSCAN' | 'TEXT';
  index?: string;
  /** results came out in index order, no in-memory sort (and the scan stopped after skip+limit matches) */
  sortedByIndex: boolean;
  keysExamined: number;
  docsExamined: number;
  nReturned: number;
  /**
   * When the index's block summaries (MemoryIndexHints.searchFields) served a contains-search: blocks
   * reached by the scan, and those whose trigram summary could contain the text (only these
   * were read).
   */
  textBlocks?: { scanned: number; withHits: number };
  /** stage TEXT: n-gram lists intersected and the candidates they named (keysExamined: those still current) */
  textPostings?: { grams: number; candidates: number };
  /** answered from the index's hash of full keys (MemoryIndexHints.pointLookups) */
  pointLookup?: boolean;
  /** how many indexes were planned before choosing (1 for a point lookup on a fully bound key) */
  indexesPlanned?: number;
}

export interface MemoryCollection<T extends Doc = Doc> extends Collection<T> {
  /** runs the query and reports the plan used and how much work it did */
  explain(filter: Filter, options?: FindOptions): QueryPlan;
  /**
   * Builds the exact n-gram lists of the collection's search fields now and resolves when they
   * are ready (otherwise the first contains-search starts building them, in the background for
   * a large collection, and queries use other plans until then). A no-op without searchFields.
   */
  searchReady(): Promise<void>;
}

export interface MemoryReadStore extends ReadStore {
  /** the port's ensureIndexes; a spec may carry its own hints (MemoryIndexSpec) */
  ensureIndexes(collection: string, indexes: MemoryIndexSpec[]): Promise<void>;
  collection<T extends Doc = Doc>(name: string): MemoryCollection<T>;
  /** names of existing collections (created by a write or ensureIndexes), sorted */
  listCollections(): string[];
  /**
   * Every collection's documents and index specs as they are at this instant (one synchronous
   * step, no copy of a document: the store never changes a document it holds, an update puts a
   * new one in its place). What a snapshot writes.
   */
  capture(opts?: { appendOnly?: readonly string[] }): CapturedCollection[];
  /** the port's bulkLoad, always present here */
  bulkLoad(collection: string, docs: Iterable<Doc>): Promise<void>;
  /**
   * Reads of `collection` wait until the returned function is called (its documents are still
   * being loaded: a read must not see part of them); writes go on.
   */
  holdReads(collection: string): () => void;
  /**
   * Puts `docs` (adopted, in bulk, its indexes built once) in as the collection, keeping the
   * documents written to it meanwhile (an id in both: the one written meanwhile stays). One
   * synchronous swap at the end.
   */
  loadUnder(collection: string, indexes: MemoryIndexSpec[], docs: readonly Doc[]): void;
}

/**
 * A collection as captured: its documents at the instant of the capture, or (`live`, a collection
 * whose documents are only ever added, never changed or removed) an iterator over its documents
 * that also yields those added while it is read: everything present at the capture, and maybe more.
 */
export interface CapturedCollection { name: string; docs: Iterable<Doc>; live: boolean; indexes: MemoryIndexSpec[] }

export function createMemoryReadStore(options: MemoryReadStoreOptions = {}): MemoryReadStore {
  return new MemoryStore(options.fastFilters !== false, options.textPostings !== false, options.indexHints ?? {});
}

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$rename',
  '$currentDate',
  '$bit',
  '$setOnInsert',
]);

interface IndexChange {
  index: MemoryIndex;
  remove: unknown[][];
  add: unknown[][];
  /** unchanged keys of an index with block summaries (their blocks must be re-summarised) */
  keep: unknown[][];
  multikey: boolean;
}

type Plan = ({ stage: 'IDHACK'; ids: string[] } | { stage: 'IXSCAN'; range: RangePlan } | { stage: 'POINT'; index: MemoryIndex; entries: readonly Entry[] } | { stage: 'COLLSCAN' }) & { planned?: number };

interface Execution {
  recs: Rec[];
  plan: QueryPlan;
}

/** one collection's documents and indexes */
class CollState {
  readonly docs = new Map<string, Rec>();
  readonly indexes = new Map<string, MemoryIndex>();
  /** exact n-gram lists over the indexes' searchFields (./text-postings.ts), built on first use */
  text: TextPostings | null = null;

  constructor(public name: string) {}

  // --- writes --------------------------------------------------------------------------------

  insert(doc: Doc): void {
    if (this.docs.has(doc._id)) {
      throw new DuplicateKeyError(
        this.name,
        '_id_',
        `E11000 duplicate key error collection: ${this.name} index: _id_ dup key: ${describeKey(['_id'], [doc._id])}`,
      );
    }
    const changes = this.planIndexChanges(null, doc);
    const rec: Rec = { id: doc._id, doc };
    applyIndexChanges(changes, rec, false);
    this.docs.set(rec.id, rec);
    this.text?.inserted(rec);
  }

  /**
   * Inserts documents it adopts (no copies), like an ordered insertMany: on a duplicate key the
   * documents before the offending one stay inserted. Into an empty collection the documents go
   * in without index work and the (empty) indexes are then built together, in bulk, over all of
   * them (buildIndexes); should that fail, the collection is emptied again and the documents are
   * inserted one at a time, which stops at the same document with the same error as inserts do.
   */
  load(docs: readonly Doc[]): void {
    if (this.docs.size === 0) this.text?.reset(); // n-gram lists: built when next searched, not entry by entry
    if (this.docs.size === 0 && this.indexes.size > 0) {
      const declared = [...this.indexes.values()];
      this.indexes.clear();
      let built = false;
      try {
        for (const doc of docs) this.insert(doc);
        built = buildIndexes(declared, this.docs.values()) === null;
      } catch {
        built = false;
      }
      if (built) {
        for (const index of declared) this.indexes.set(index.name, index);
        return;
      }
      for (const rec of [...this.docs.values()]) this.delete(rec);
      for (const index of declared) this.indexes.set(index.name, index);
    }
    for (const doc of docs) this.insert(doc);
  }

  /** replaces a record's document; indexes are checked first and nothing changes on error */
  replace(rec: Rec, next: Doc): void {
    const changes = this.planIndexChanges(rec.doc, next);
    const prev = rec.doc;
    rec.doc = next; // before the index changes: block summaries read the new document
    applyIndexChanges(changes, rec, false);
    this.text?.replaced(rec, prev);
  }

  delete(rec: Rec): void {
    const changes = this.planIndexChanges(rec.doc, null);
    applyIndexChanges(changes, rec, true);
    this.docs.delete(rec.id);
    this.text?.deleted(rec);
  }

  /** validates a write against every index; throws DuplicateKeyError before anything changes */
  private planIndexChanges(prev: Doc | null, next: Doc | null): IndexChange[] {
    const changes: IndexChange[] = [];
    for (const index of this.indexes.values()) {
      const before = prev ? index.keysFor(prev).keys : [];
      const after: KeySet = next ? index.keysFor(next) : { keys: [], multikey: false };
      const add = after.keys.filter((k) => !before.some((b) => index.compareKeys(b, k) === 0));
      const remove = before.filter((b) => !after.keys.some((k) => index.compareKeys(b, k) === 0));
      if (index.unique && next) {
        for (const k of add) {
          if (index.findDuplicate(k, next._id) !== null) {
            throw new DuplicateKeyError(
              this.name,
              index.name,
              `E11000 duplicate key error collection: ${this.name} index: ${index.name} dup key: ${describeKey(index.fields, k)}`,
            );
          }
        }
      }
      const keep = index.searchFields.length > 0 && prev && next ? after.keys.filter((k) => !add.includes(k)) : [];
      changes.push({ index, remove, add, keep, multikey: after.multikey });
    }
    return changes;
  }

  /**
   * Adds indexes built in bulk, in one pass over the documents (buildIndexes). When the documents
   * violate a unique one, the indexes are filled entry by entry in order instead, so the ones before
   * it are added and it throws the error an insert would; nothing of it is registered.
   */
  addIndexes(specs: Array<{ spec: MemoryIndexSpec; partial: CompiledFilter | null }>): void {
    const indexes = specs.map(({ spec, partial }) => new MemoryIndex(cloneDeep(spec), partial));
    const violated = buildIndexes(indexes, this.docs.values()) !== null; // on a violation every index is left empty
    for (const index of indexes) {
      if (violated) this.fillOneByOne(index);
      this.registerIndex(index);
    }
  }

  /** fills an empty index entry by entry; throws the insert's DuplicateKeyError on a unique violation */
  private fillOneByOne(index: MemoryIndex): void {
    for (const rec of this.docs.values()) {
      const { keys, multikey } = index.keysFor(rec.doc);
      for (const k of keys) {
        if (index.unique && index.findDuplicate(k, rec.id) !== null) {
          throw new DuplicateKeyError(
            this.name,
            index.name,
            `E11000 duplicate key error collection: ${this.name} index: ${index.name} dup key: ${describeKey(index.fields, k)}`,
          );
        }
        index.list.insert({ k, rec });
      }
      if (multikey) index.multikeyIds.add(rec.id);
    }
  }

  private registerIndex(index: MemoryIndex): void {
    this.indexes.set(index.name, index);
    if (index.searchFields.length > 0) {
      // every index's search fields get n-gram lists, and their key fields columns (listId, status…)
      const searchFields = new Set(this.text?.fieldNames);
      const keyFields = new Set(this.text?.keyFields);
      for (const f of index.searchFields) searchFields.add(f);
      for (const f of index.fields) keyFields.add(f);
      this.text?.reset(); // stops a background build of the lists it replaces
      this.text = new TextPostings(searchFields, keyFields);
    }
  }

  /**
   * Candidates for the filter's literal contains-search from the exact n-gram lists, or null
   * when the collection has none or the search cannot be narrowed by them (see ./text-postings.ts).
   */
  textCandidates(filter: Filter): TextCandidates | null {
    const text = this.text;
    if (!text) return null;
    const cond = findSearchCondition(filter, text.fieldNames);
    if (!cond) return null;
    if (text.needsCompaction) text.reset();
    text.ensureBuilt(this.docs);
    return text.isBuilt ? text.candidates(cond) : null; // a large collection: other plans until built
  }

  /** builds the n-gram lists now (if the collection has search fields) and waits for them */
  async searchReady(): Promise<void> {
    if (!this.text) return;
    this.text.ensureBuilt(this.docs);
    await this.text.whenBuilt();
  }

  // --- queries -------------------------------------------------------------------------------

  choosePlan(filter: Filter, sort: Sort | undefined, limited: boolean): Plan {
    const conds = analyzeFilter(filter);
    const idCond = conds.get('_id');
    if (idCond?.eq && idCond.eq.every((v) => typeof v === 'string')) {
      return { stage: 'IDHACK', ids: [...new Set(idCond.eq as string[])] };
    }
    let planned = 0;
    // A point lookup (every key of an index bound to one value, few entries behind it: the SCIM
    // `userName eq` every IdP sends) needs no comparison of every index's range sizes.
    for (const index of this.indexes.values()) {
      if (index.fields.length < 2 || !index.fields.every((f) => conds.get(f)?.eq?.length === 1) || !index.usableFor(filter)) continue;
      planned++;
      if (index.points) {
        const values: unknown[] = [];
        let strings = true;
        for (const f of index.fields) {
          const v = conds.get(f)!.eq![0];
          if (typeof v !== 'string') strings = false;
          values.push(v);
        }
        // other values are found through the sorted list below (the map holds keys of strings only)
        if (strings) return { stage: 'POINT', index, entries: index.points.get(values), planned };
      }
      const plan = index.planRanges(conds, sort, null);
      if (plan && plan.count <= POINT_LOOKUP_MAX) return { stage: 'IXSCAN', range: plan, planned };
    }
    let best: RangePlan | null = null;
    let bestSorted: RangePlan | null = null;
    let bestSearch: RangePlan | null = null;
    for (const index of this.indexes.values()) {
      if (!index.usableFor(filter)) continue;
      planned++;
      const search = index.searchFields.length > 0 ? findSearchCondition(filter, index.searchFields) : null;
      const plan = index.planRanges(conds, sort, search);
      if (!plan) continue;
      const filtering = plan.eqLen > 0 || plan.prefix !== null;
      if (filtering && (!best || plan.count < best.count || (plan.count === best.count && better(plan, best)))) best = plan;
      if (plan.order && (!bestSorted || plan.count < bestSorted.count || (plan.count === bestSorted.count && plan.search))) {
        bestSorted = plan;
      }
      if (plan.search && (!bestSearch || plan.count < bestSearch.count)) bestSearch = plan;
    }
    // an index that delivers the sort order wins unless it has many more candidates
    if (bestSorted && (!best || bestSorted.count <= best.count * (limited ? 4 : 1))) {
      return { stage: 'IXSCAN', range: bestSorted, planned };
    }
    // block summaries skip most of a range for rare text: worth it unless equality narrows far more
    if (bestSearch && (!best || bestSearch.count <= best.count * 4)) return { stage: 'IXSCAN', range: bestSearch, planned };
    if (best && best.count < this.docs.size) return { stage: 'IXSCAN', range: best, planned };
    return { stage: 'COLLSCAN', planned };
  }
}

/** at most this many entries behind a fully bound index key make it the plan without comparing others */
const POINT_LOOKUP_MAX = 8;

/**
 * Cost of a candidate the columns decide alone, in documents read (what a scan pays per entry):
 * a column check reads two typed arrays and one string, a document read chases record, document,
 * property storage and value through memory (measured about 4x apart on 100,000 people).
 */
const COLUMN_CHECK_COST = 0.25;
/** and of ordering a match by its sort-column key (a string comparison still reads the string) */
const SORT_KEY_COST = 0.5;

/**
 * Whether testing the n-gram candidates beats the chosen plan: its documents to examine are the
 * range (or the collection), or, when it delivers the wanted order and stops after skip+limit
 * matches, about skip+limit over the share of documents that match (estimated from the candidates).
 */
function preferText(plan: Plan, candidates: number, perCandidate: number, docs: number, sort: Sort | undefined, skip: number, limit: number): boolean {
  if (plan.stage === 'IDHACK') return false;
  let cost = plan.stage === 'IXSCAN' ? plan.range.count : docs;
  const stopsEarly = limit > 0 && (!sort || (plan.stage === 'IXSCAN' && plan.range.order !== null));
  if (stopsEarly) cost = Math.min(cost, ((skip + limit) * docs) / Math.max(candidates, 1));
  return candidates * perCandidate < cost;
}

/** tie-break between plans with the same candidate count */
function better(a: RangePlan, b: RangePlan): boolean {
  return (a.search !== null && b.search === null) || (a.order !== null && b.order === null);
}

function applyIndexChanges(changes: IndexChange[], rec: Rec, deleted: boolean): void {
  for (const { index, remove, add, keep, multikey } of changes) {
    for (const k of remove) index.list.remove({ k, rec });
    for (const k of add) index.list.insert({ k, rec });
    if (keep.length > 0) index.changed(keep, rec);
    if (multikey && !deleted) index.multikeyIds.add(rec.id);
    else index.multikeyIds.delete(rec.id);
  }
}

/** state of one query run: collects matching records until it has enough */
class QueryRun {
  readonly matched: Rec[] = [];
  readonly stats: QueryPlan = { stage: 'COLLSCAN', sortedByIndex: false, keysExamined: 0, docsExamined: 0, nReturned: 0 };
  done = false;
  private readonly seen: Set<Rec> | null;

  constructor(
    private readonly matcher: CompiledFilter,
    private readonly wanted: number,
    dedupe: boolean,
  ) {
    this.seen = dedupe ? new Set() : null;
  }

  /** tests one record; true when enough results were collected */
  consider(rec: Rec): boolean {
    this.stats.docsExamined++;
    if (!this.matcher.test(rec.doc)) return false;
    this.matched.push(rec);
    this.done = this.matched.length >= this.wanted;
    return this.done;
  }

  /** takes a record known to match without testing it (decided from columns); true when enough were collected */
  accept(rec: Rec): boolean {
    this.matched.push(rec);
    this.done = this.matched.length >= this.wanted;
    return this.done;
  }

  visit(e: Entry): boolean {
    this.stats.keysExamined++;
    if (this.seen) {
      if (this.seen.has(e.rec)) return false;
      this.seen.add(e.rec);
    }
    return this.consider(e.rec);
  }
}

class MemoryStore implements MemoryReadStore {
  private readonly colls = new Map<string, CollState>();
  private closed = false;

  constructor(
    private readonly fastFilters: boolean,
    private readonly textPostings: boolean,
    private readonly indexHints: Readonly<Record<string, MemoryIndexHints>>,
  ) {}

  // --- internals used by collection handles --------------------------------------------------

  assertOpen(): void {
    if (this.closed) throw new Error('read store is closed');
  }

  state(name: string): CollState | undefined {
    return this.colls.get(name);
  }

  stateOrCreate(name: string): CollState {
    let state = this.colls.get(name);
    if (!state) {
      validateCollectionName(name);
      state = new CollState(name);
      this.colls.set(name, state);
    }
    return state;
  }

  compile(filter: Filter): CompiledFilter {
    return compileFilter(filter, { fastPath: this.fastFilters });
  }

  /** records matching the filter, sorted/skipped/limited (the stored documents, not copies) */
  execute(state: CollState | undefined, filter: Filter, options: FindOptions = {}): Execution {
    const skip = Math.max(0, options.skip ?? 0);
    const limit = Math.abs(options.limit ?? 0);
    const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
    if (!state || state.docs.size === 0) {
      return { recs: [], plan: { stage: 'COLLSCAN', sortedByIndex: false, keysExamined: 0, docsExamined: 0, nReturned: 0 } };
    }
    const plan = state.choosePlan(filter, sort, limit > 0);
    const text = plan.stage === 'IDHACK' || plan.stage === 'POINT' || !this.textPostings ? null : state.textCandidates(filter);
    if (text) {
      // the filter's equality and text conditions answered from columns: most candidates never touch their document
      const check = state.text!.check(filter);
      const perCandidate = (check.residual ? 1 : COLUMN_CHECK_COST) + (sort ? SORT_KEY_COST : 0);
      if (preferText(plan, text.count, perCandidate, state.docs.size, sort, skip, limit)) return this.executeText(state, text, check, filter, sort, skip, limit);
    }
    const inOrder = !sort || (plan.stage === 'IXSCAN' && plan.range.order !== null);
    const wanted = inOrder && limit > 0 ? skip + limit : Infinity;
    const dedupe = (plan.stage === 'IXSCAN' && (plan.range.combos > 1 || plan.range.index.multikeyIds.size > 0)) || (plan.stage === 'POINT' && plan.index.multikeyIds.size > 0);
    const run = new QueryRun(this.compile(filter), wanted, dedupe);
    run.stats.stage = plan.stage === 'POINT' ? 'IXSCAN' : plan.stage;
    if (plan.planned !== undefined) run.stats.indexesPlanned = plan.planned;

    if (plan.stage === 'IDHACK') {
      for (const id of plan.ids) {
        run.stats.keysExamined++;
        const rec = state.docs.get(id);
        if (rec && run.consider(rec)) break;
      }
    } else if (plan.stage === 'POINT') {
      run.stats.index = plan.index.name;
      run.stats.pointLookup = true;
      for (const e of plan.entries) if (run.visit(e)) break;
    } else if (plan.stage === 'IXSCAN') {
      const { range } = plan;
      run.stats.index = range.index.name;
      run.stats.sortedByIndex = range.order !== null && sort !== undefined;
      const reverse = range.order === 'reverse';
      const search = range.search;
      const textBlocks = { scanned: 0, withHits: 0 };
      for (const b of range.bounds) {
        if (search) {
          const r = range.index.searchScan(b.from, b.to, reverse, search, (e) => run.visit(e));
          textBlocks.scanned += r.blocks;
          textBlocks.withHits += r.kept;
        } else {
          range.index.list.scan(b.from, b.to, reverse, (e) => run.visit(e));
        }
        if (run.done) break;
      }
      if (search) run.stats.textBlocks = textBlocks;
    } else {
      for (const rec of state.docs.values()) if (run.consider(rec)) break;
    }

    let result = run.matched;
    if (sort && !inOrder) result = sortRecs(result, sort, limit > 0 ? skip + limit : Infinity);
    if (limit > 0) result = result.slice(skip, skip + limit);
    else if (skip > 0) result = result.slice(skip);
    run.stats.nReturned = result.length;
    return { recs: result, plan: run.stats };
  }

  /** tests only the candidates of the exact n-gram lists (in list order, so any sort is done here) */
  private executeText(state: CollState, text: TextCandidates, check: ColumnCheck, filter: Filter, sort: Sort | undefined, skip: number, limit: number): Execution {
    const run = new QueryRun(this.compile(filter), !sort && limit > 0 ? skip + limit : Infinity, false);
    run.stats.stage = 'TEXT';
    run.stats.textPostings = { grams: text.grams, candidates: text.count };
    const postings = state.text!;
    const ords = text.ords;
    const matchedOrds: number[] = [];
    for (let i = 0; i < text.count; i++) {
      const ord = ords === null ? i : ords[i];
      const rec = postings.recAt(ord);
      if (rec === undefined) continue; // retired: the document changed or went away since it was listed
      run.stats.keysExamined++;
      const verdict = check.test(ord);
      if (verdict === NO) continue;
      const before = run.matched.length;
      const enough = verdict === YES ? run.accept(rec) : run.consider(rec);
      if (run.matched.length > before) matchedOrds.push(ord);
      if (enough) break;
    }
    let result = run.matched;
    // sort keys from the lists' sort columns (by ordinal): thousands of matches are ordered without reading each document again
    if (sort) result = sortRecs(result, sort, limit > 0 ? skip + limit : Infinity, { ords: matchedOrds, postings });
    if (limit > 0) result = result.slice(skip, skip + limit);
    else if (skip > 0) result = result.slice(skip);
    run.stats.nReturned = result.length;
    return { recs: result, plan: run.stats };
  }

  // --- ReadStore -------------------------------------------------------------------------------

  /** the port's specs, with the hints this store was given for their names (hints in a spec itself win) */
  async ensureIndexes(collection: string, specs: MemoryIndexSpec[]): Promise<void> {
    this.assertOpen();
    const state = this.stateOrCreate(collection);
    const fresh: MemoryIndexSpec[] = [];
    for (const given of specs) {
      const spec: MemoryIndexSpec = Object.hasOwn(this.indexHints, given.name) ? { ...this.indexHints[given.name], ...given } : given;
      const existing = state.indexes.get(spec.name)?.spec ?? fresh.find((f) => f.name === spec.name);
      if (existing) {
        if (!sameSpec(existing, spec)) {
          throw new Error(`An index named ${spec.name} already exists on ${collection} with different options`);
        }
        continue;
      }
      validateIndexSpec(spec);
      for (const other of [...state.indexes.values()].map((i) => i.spec).concat(fresh)) {
        if (sameKeyAndFilter(other, spec)) throw new Error(`Index already exists with a different name: ${other.name}`);
      }
      fresh.push(spec);
    }
    // built together, each document read once
    if (fresh.length) state.addIndexes(fresh.map((spec) => ({ spec, partial: spec.partialFilterExpression ? this.compile(spec.partialFilterExpression) : null })));
  }

  collection<T extends Doc = Doc>(name: string): MemoryCollection<T> {
    validateCollectionName(name);
    return new MemoryCollectionHandle<T>(this, name);
  }

  listCollections(): string[] {
    return [...this.colls.keys()].sort();
  }

  private readonly held = new Map<string, { done: Promise<void>; release: () => void }>();

  holdReads(collection: string): () => void {
    let release!: () => void;
    const done = new Promise<void>((r) => { release = r; });
    const h = { done, release: () => { if (this.held.get(collection) === h) this.held.delete(collection); release(); } };
    this.held.set(collection, h);
    return h.release;
  }

  /** resolves once reads of `name` may go on (at once unless held) */
  readable(name: string): Promise<void> | null {
    return this.held.get(name)?.done ?? null;
  }

  loadUnder(collection: string, indexes: MemoryIndexSpec[], docs: readonly Doc[]): void {
    this.assertOpen();
    const fresh = new CollState(collection);
    const specs = indexes.map((spec) => (Object.hasOwn(this.indexHints, spec.name) ? { ...this.indexHints[spec.name], ...spec } : spec));
    fresh.addIndexes(specs.map((spec) => ({ spec, partial: spec.partialFilterExpression ? this.compile(spec.partialFilterExpression) : null })));
    const live = this.colls.get(collection);
    const written = live ? [...live.docs.values()].map((r) => r.doc) : [];
    const kept = written.length ? docs.filter((d) => !live!.docs.has(d._id)) : docs;
    fresh.load(kept);
    for (const d of written) fresh.insert(d);
    if (live) for (const index of live.indexes.values()) if (!fresh.indexes.has(index.name)) fresh.addIndexes([{ spec: index.spec, partial: index.partial }]);
    this.colls.set(collection, fresh);
  }

  capture(opts: { appendOnly?: readonly string[] } = {}): CapturedCollection[] {
    this.assertOpen();
    const appendOnly = new Set(opts.appendOnly ?? []);
    return [...this.colls.values()].map((state) => {
      const live = appendOnly.has(state.name);
      // a Map's iterator goes on to entries added after it started: live reading of an append-only collection
      const docs = live ? (function* () { for (const rec of state.docs.values()) yield rec.doc; })() : Array.from(state.docs.values(), (rec) => rec.doc);
      return { name: state.name, docs, live, indexes: [...state.indexes.values()].map((i) => i.spec) };
    });
  }

  async bulkLoad(collection: string, docs: Iterable<Doc>): Promise<void> {
    this.assertOpen();
    validateCollectionName(collection);
    const list = Array.isArray(docs) ? (docs as Doc[]) : [...docs];
    for (const doc of list) validateDoc(doc);
    this.stateOrCreate(collection).load(list);
  }

  async dropCollection(name: string): Promise<void> {
    this.assertOpen();
    this.colls.get(name)?.text?.reset(); // stops a background build of its n-gram lists
    this.colls.delete(name);
  }

  async renameCollection(from: string, to: string): Promise<void> {
    this.assertOpen();
    validateCollectionName(to);
    const state = this.colls.get(from);
    if (!state) throw new Error(`source namespace ${from} does not exist`);
    if (from === to) throw new Error("Can't rename a collection to itself");
    // one synchronous step: no reader can observe the target missing or half-replaced
    state.name = to;
    this.colls.get(to)?.text?.reset();
    this.colls.set(to, state);
    this.colls.delete(from);
  }

  async getCheckpoint(projection: string): Promise<number | null> {
    this.assertOpen();
    const doc = this.colls.get(CHECKPOINTS_COLLECTION)?.docs.get(projection)?.doc;
    return doc && typeof doc.position === 'number' ? doc.position : null;
  }

  async setCheckpoint(projection: string, position: number): Promise<void> {
    await this.collection(CHECKPOINTS_COLLECTION).updateOne(
      { _id: projection },
      { $set: { position, updatedAt: new Date() } },
      { upsert: true },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.colls.values()) state.text?.reset();
    this.colls.clear();
  }
}

class MemoryCollectionHandle<T extends Doc> implements MemoryCollection<T> {
  constructor(
    private readonly store: MemoryStore,
    readonly name: string,
  ) {}

  private current(): CollState | undefined {
    this.store.assertOpen();
    return this.store.state(this.name);
  }

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    const held = this.store.readable(this.name);
    if (held) await held;
    const { recs } = this.store.execute(this.current(), filter, { ...options, limit: 1 });
    return recs.length ? output<T>(recs, options.projection, sharedResults(options))[0] : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const held = this.store.readable(this.name);
    if (held) await held;
    return output<T>(this.store.execute(this.current(), filter, options).recs, options.projection, sharedResults(options));
  }

  async countDocuments(filter: Filter): Promise<number> {
    const held = this.store.readable(this.name);
    if (held) await held;
    return this.store.execute(this.current(), filter).recs.length;
  }

  explain(filter: Filter, options: FindOptions = {}): QueryPlan {
    return this.store.execute(this.current(), filter, options).plan;
  }

  async searchReady(): Promise<void> {
    await this.current()?.searchReady();
  }

  async insertOne(doc: T): Promise<void> {
    this.store.assertOpen();
    validateDoc(doc);
    this.store.stateOrCreate(this.name).insert(cloneDeep(doc));
  }

  async replaceOne(filter: Filter, replacement: T, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    if (!isPlainObject(replacement) || Object.keys(replacement).some((k) => k.startsWith('$'))) {
      throw new Error('Replacement document must not contain atomic operators');
    }
    const state = this.current();
    const [rec] = this.store.execute(state, filter, { limit: 1 }).recs;
    if (rec) {
      if (replacement._id !== undefined && replacement._id !== rec.id) {
        throw new Error("After applying the update, the (immutable) field '_id' was found to have been altered");
      }
      const next = withId(rec.id, replacement);
      if (compareValues(rec.doc, next) === 0) return { matchedCount: 1, modifiedCount: 0 };
      state!.replace(rec, next);
      return { matchedCount: 1, modifiedCount: 1 };
    }
    if (!options.upsert) return { matchedCount: 0, modifiedCount: 0 };
    const seedId = upsertSeed(filter)._id;
    const id = typeof replacement._id === 'string' ? replacement._id : typeof seedId === 'string' ? seedId : generateId();
    this.store.stateOrCreate(this.name).insert(withId(id, replacement));
    return { matchedCount: 0, modifiedCount: 0, upsertedId: id };
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    validateUpdate(update);
    const state = this.current();
    const [rec] = this.store.execute(state, filter, { limit: 1 }).recs;
    if (rec) {
      const next = applyUpdate(rec.doc, update, filter, false);
      if (next) state!.replace(rec, next);
      return { matchedCount: 1, modifiedCount: next ? 1 : 0 };
    }
    if (!options.upsert) return { matchedCount: 0, modifiedCount: 0 };
    const seed = upsertSeed(filter);
    if (seed._id !== undefined && typeof seed._id !== 'string') throw new TypeError('document _id must be a string');
    const id = typeof seed._id === 'string' ? seed._id : generateId();
    const created = applyUpdate({ _id: id, ...seed } as Doc, update, filter, true)!;
    this.store.stateOrCreate(this.name).insert(created);
    return { matchedCount: 0, modifiedCount: 0, upsertedId: id };
  }

  async updateMany(filter: Filter, update: Update): Promise<UpdateResult> {
    validateUpdate(update);
    const state = this.current();
    const recs = this.store.execute(state, filter).recs;
    let modifiedCount = 0;
    // one document at a time, like the server: a duplicate key stops the run, earlier writes stay
    for (const rec of recs) {
      const next = applyUpdate(rec.doc, update, filter, false);
      if (next) {
        state!.replace(rec, next);
        modifiedCount++;
      }
    }
    return { matchedCount: recs.length, modifiedCount };
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const state = this.current();
    const [rec] = this.store.execute(state, filter, { limit: 1 }).recs;
    if (!rec) return { deletedCount: 0 };
    state!.delete(rec);
    return { deletedCount: 1 };
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    const state = this.current();
    const recs = this.store.execute(state, filter).recs;
    for (const rec of recs) state!.delete(rec);
    return { deletedCount: recs.length };
  }
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

const sharedResults = (options: FindOptions) => (options as { [SHARED_RESULTS]?: boolean })[SHARED_RESULTS] === true;

function output<T extends Doc>(recs: Rec[], projection: FindOptions['projection'], shared = false): T[] {
  const docs = recs.map((r) => r.doc);
  const copy = shared ? <V>(v: V) => v : cloneDeep;
  if (projection && Object.keys(projection).length > 0) {
    const pick = topLevelProjection(projection, copy);
    if (pick) return docs.map((d) => pick(d) as T);
    const projected = mingoFind(docs, {}, projection).all() as Plain[];
    return projected.map((d) => copy(d) as T);
  }
  return docs.map((d) => copy(d) as T);
}

/**
 * Inclusion or exclusion of top-level fields only (`{ a: 1, b: 1 }`, `{ a: 0 }`, with `_id` kept
 * unless `_id: 0`), as MongoDB applies them, without running mingo for it; copies only what is
 * kept. Anything else (dotted paths, operators, mixed inclusion and exclusion) returns null.
 */
function topLevelProjection(projection: Record<string, unknown>, copy: <V>(v: V) => V): ((doc: Doc) => Plain) | null {
  const include: string[] = [];
  const exclude: string[] = [];
  let withId = true;
  for (const [k, v] of Object.entries(projection)) {
    if (k.includes('.') || k.startsWith('$')) return null;
    const on = v === 1 || v === true;
    const off = v === 0 || v === false;
    if (!on && !off) return null;
    if (k === '_id') withId = on;
    else (on ? include : exclude).push(k);
  }
  if (include.length && exclude.length) return null;
  if (include.length || (exclude.length === 0 && withId && '_id' in projection)) {
    return (doc) => {
      const out: Plain = {};
      if (withId) out._id = doc._id;
      for (const k of include) if (Object.hasOwn(doc, k) && doc[k] !== undefined) out[k] = copy(doc[k]);
      return out;
    };
  }
  return (doc) => {
    const out: Plain = {};
    for (const k of Object.keys(doc)) if ((k !== '_id' || withId) && !exclude.includes(k)) out[k] = copy(doc[k]);
    return out;
  };
}

function withId(id: string, replacement: Doc): Doc {
  const copy = cloneDeep(replacement) as Plain;
  delete copy._id;
  return { _id: id, ...copy } as Doc;
}

/** applies update operators to a copy of `doc`; returns the new document, or null when nothing changed */
function applyUpdate(doc: Doc, update: Update, filter: Filter, inserting: boolean): Doc | null {
  const modifier: Plain = { ...update };
  const onInsert = modifier.$setOnInsert;
  delete modifier.$setOnInsert;
  if (inserting && isPlainObject(onInsert)) {
    const set: Plain = isPlainObject(modifier.$set) ? { ...modifier.$set } : {};
    for (const path of Object.keys(onInsert)) {
      if (path in set) throw new Error(`Updating the path '${path}' would create a conflict at '${path}'`);
      set[path] = onInsert[path];
    }
    modifier.$set = set;
  }
  const fast = fastUpdate(doc, modifier);
  if (fast !== undefined) return fast.changed || inserting ? fast.doc : null;
  const next = cloneDeep(doc);
  let changed = false;
  if (Object.keys(modifier).length > 0) {
    const condition = usesPositional(modifier) ? filter : undefined;
    changed = mingoUpdate(next, modifier, undefined, condition, { cloneMode: 'deep' }).length > 0;
  }
  if (next._id !== doc._id) {
    throw new Error("Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return changed || inserting ? next : null;
}

const FAST_OPS = new Set(['$set', '$unset', '$inc', '$max', '$min']);

/**
 * The common projection updates ($set/$unset/$inc/$max/$min on plain dotted paths through objects)
 * applied copy-on-write: only the objects along each path are copied, the rest is shared with the
 * stored document (stored documents are never mutated in place; reads hand out deep copies).
 * Returns undefined for anything else (arrays on the path, positional or numeric segments, other
 * operators), which then goes through mingo with identical results.
 */
export function fastUpdate(doc: Doc, modifier: Plain): { doc: Doc; changed: boolean } | undefined {
  const ops = Object.keys(modifier);
  if (ops.length === 0) return { doc, changed: false };
  const seen = new Set<string>();
  for (const op of ops) {
    if (!FAST_OPS.has(op) || !isPlainObject(modifier[op])) return undefined;
    for (const path of Object.keys(modifier[op] as Plain)) {
      if (path === '_id' || path.startsWith('_id.')) return undefined;
      const parts = path.split('.');
      for (const part of parts) if (part === '' || part.startsWith('$') || /^\d+$/.test(part)) return undefined;
      // two operators on one path, or a path inside another: mingo reports the conflict
      for (const other of seen) if (other === path || other.startsWith(`${path}.`) || path.startsWith(`${other}.`)) return undefined;
      seen.add(path);
    }
  }
  let root: Plain = doc as Plain;
  let rootCopied = false;
  let changed = false;
  const copied = new Set<Plain>();
  const own = (o: Plain): Plain => { if (copied.has(o)) return o; const c = { ...o }; copied.add(c); return c; };
  for (const op of ops) {
    const args = modifier[op] as Plain;
    for (const path of Object.keys(args)) {
      const parts = path.split('.');
      // walk (read-only) to find the current value and check the path is plain objects
      let cur: unknown = root;
      for (let i = 0; i < parts.length - 1; i++) {
        if (cur === undefined || cur === null) { cur = undefined; break; }
        if (!isPlainObject(cur)) return undefined;
        cur = (cur as Plain)[parts[i]];
      }
      if (cur !== undefined && cur !== null && !isPlainObject(cur)) return undefined;
      const leafParent = cur as Plain | undefined | null;
      const old = leafParent ? leafParent[parts[parts.length - 1]] : undefined;
      const arg = args[path];
      let next: unknown;
      let remove = false;
      switch (op) {
        case '$set': next = arg; break;
        case '$unset': remove = true; break;
        case '$inc':
          if (typeof arg !== 'number' || (old !== undefined && typeof old !== 'number')) return undefined;
          next = (old === undefined ? 0 : (old as number)) + arg;
          break;
        case '$max': case '$min': {
          if (old === undefined || old === null) { next = arg; break; }
          const c = compareValues(arg, old);
          next = (op === '$max' ? c > 0 : c < 0) ? arg : old;
          break;
        }
        default: return undefined;
      }
      if (remove) {
        if (!leafParent || !(parts[parts.length - 1] in leafParent)) continue;
      } else if (old !== undefined && valuesEqual(old, next) && typeof old === typeof next && JSON.stringify(old) === JSON.stringify(next)) {
        continue;
      }
      // copy-on-write along the path
      if (!rootCopied) { root = own(root); rootCopied = true; }
      let parent: Plain = root;
      for (let i = 0; i < parts.length - 1; i++) {
        const child = parent[parts[i]];
        if (child === undefined || child === null) {
          if (remove) { parent = undefined as unknown as Plain; break; }
          const fresh: Plain = {};
          copied.add(fresh);
          parent[parts[i]] = fresh;
          parent = fresh;
        } else {
          const c = own(child as Plain);
          parent[parts[i]] = c;
          parent = c;
        }
      }
      if (!parent) continue;
      if (remove) delete parent[parts[parts.length - 1]];
      else parent[parts[parts.length - 1]] = cloneDeep(next);
      changed = true;
    }
  }
  return { doc: root as Doc, changed };
}

/** the document an upsert starts from: the filter's equality conditions (like the server) */
function upsertSeed(filter: Filter): Plain {
  const seed: Plain = {};
  collectEqualities(filter, seed);
  return seed;
}

function collectEqualities(f: Plain, seed: Plain): void {
  for (const key of Object.keys(f)) {
    const value = f[key];
    if (key === '$and' && Array.isArray(value)) {
      for (const c of value) if (isPlainObject(c)) collectEqualities(c, seed);
    } else if (key.startsWith('$')) {
      continue;
    } else if (isOperatorObject(value)) {
      if ('$eq' in value) setPath(seed, key, cloneDeep(value.$eq));
    } else if (!(value instanceof RegExp)) {
      setPath(seed, key, cloneDeep(value));
    }
  }
}

/**
 * Sorts records by a Mongo sort spec (missing = null, arrays by min/max element). With a finite
 * `keep`, only the first `keep` results are kept, in one pass (no full sort of every match).
 * Ties keep scan order.
 */
function sortRecs(recs: Rec[], sort: Sort, keep: number, columns?: { ords: number[]; postings: TextPostings }): Rec[] {
  const fields: SortField[] = Object.keys(sort).map((f) => ({
    parts: f.split('.'),
    dir: sort[f],
    id: f === '_id',
    column: columns && f !== '_id' ? columns.postings.sortColumn(f) : null,
  }));
  const ords = columns?.ords;
  const dirs = fields.map((f) => f.dir);
  if (keep >= recs.length) {
    const keyed: SortItem[] = recs.map((rec, i) => ({ rec, keys: sortKeys(rec, ords ? ords[i] : -1, fields, NOT_READ) }));
    return keyed.sort((a, b) => compareSortItems(dirs, a, b)).map((k) => k.rec);
  }
  const top: SortItem[] = [];
  const first = fields[0];
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    const ord = ords ? ords[i] : -1;
    // once the top is full, most records lose on the first key alone: read only that one
    let key0: unknown = NOT_READ;
    if (top.length === keep) {
      key0 = recSortKey(rec, ord, first);
      if (compareValues(key0, top[keep - 1].keys[0]) * first.dir > 0) continue;
    }
    const item: SortItem = { rec, keys: sortKeys(rec, ord, fields, key0) };
    if (top.length === keep && compareSortItems(dirs, item, top[keep - 1]) >= 0) continue;
    // insert after equal elements to keep scan order among ties
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSortItems(dirs, top[mid], item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, item);
    if (top.length > keep) top.pop();
  }
  return top.map((k) => k.rec);
}

interface SortItem {
  rec: Rec;
  keys: unknown[];
}

interface SortField {
  parts: string[];
  dir: 1 | -1;
  /** `_id`: the record holds it, no need to read the document */
  id: boolean;
  /** keys by ordinal (TEXT plans), read with the ordinal given to sortKeys */
  column: SortColumn | null;
}

const NOT_READ = Symbol('not read');

/** a record's key for one sort field; `ord`: its ordinal in the n-gram lists, or -1 */
function recSortKey(rec: Rec, ord: number, f: SortField): unknown {
  if (f.id) return rec.id;
  return f.column && ord >= 0 ? f.column.key(ord, rec.doc, f.dir) : sortKey(rec.doc, f.parts, f.dir);
}

/** every sort key of a record (the first one given when already read) */
function sortKeys(rec: Rec, ord: number, fields: SortField[], key0: unknown): unknown[] {
  const keys = new Array<unknown>(fields.length);
  for (let i = 0; i < fields.length; i++) keys[i] = i === 0 && key0 !== NOT_READ ? key0 : recSortKey(rec, ord, fields[i]);
  return keys;
}

function compareSortItems(dirs: Array<1 | -1>, a: SortItem, b: SortItem): number {
  for (let i = 0; i < dirs.length; i++) {
    const c = compareValues(a.keys[i], b.keys[i]);
    if (c !== 0) return c * dirs[i];
  }
  return 0;
}

function usesPositional(modifier: Plain): boolean {
  for (const op of Object.keys(modifier)) {
    const expr = modifier[op];
    if (!isPlainObject(expr)) continue;
    for (const path of Object.keys(expr)) if (path === '$' || path.includes('.$.') || path.endsWith('.$')) return true;
  }
  return false;
}

function validateUpdate(update: Update): void {
  if (!isPlainObject(update)) throw new Error('Update document must be an object');
  const keys = Object.keys(update);
  if (keys.length === 0 || keys.some((k) => !k.startsWith('$'))) throw new Error('Update document requires atomic operators');
  for (const k of keys) if (!UPDATE_OPERATORS.has(k)) throw new Error(`Unknown modifier: ${k}`);
}

function validateDoc(doc: Doc): void {
  if (!isPlainObject(doc)) throw new TypeError('document must be a plain object');
  if (typeof doc._id !== 'string') throw new TypeError('document _id must be a string');
}

function validateCollectionName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.includes('$') || name.includes('\0')) {
    throw new Error(`invalid collection name: ${JSON.stringify(name)}`);
  }
}

function validateIndexSpec(spec: IndexSpec): void {
  const fields = Object.keys(spec.key ?? {});
  if (!spec.name) throw new Error('index name is required');
  if (fields.length === 0) throw new Error(`index ${spec.name} has no keys`);
  for (const f of fields) {
    if (spec.key[f] !== 1 && spec.key[f] !== -1) throw new Error(`index ${spec.name}: key ${f} must be 1 or -1`);
  }
}

function sameSpec(a: MemoryIndexSpec, b: MemoryIndexSpec): boolean {
  return (
    sameKeyAndFilter(a, b) &&
    (a.unique === true) === (b.unique === true) &&
    (a.pointLookups === true) === (b.pointLookups === true) &&
    compareValues(a.searchFields ?? [], b.searchFields ?? []) === 0
  );
}

function sameKeyAndFilter(a: IndexSpec, b: IndexSpec): boolean {
  return compareValues(a.key, b.key) === 0 && compareValues(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null) === 0;
}

function generateId(): string {
  return randomBytes(12).toString('hex');
}
