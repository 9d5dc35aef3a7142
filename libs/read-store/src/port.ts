/**
 * The read store port: a small subset of MongoDB's collection API. Adapters:
 * in-memory (@muster/read-store-memory, executes the same filter/update documents with mingo)
 * and MongoDB (./mongo). Both must pass ./contract.ts.
 *
 * Filters and updates ARE Mongo query/update documents; callers write them once.
 */

export type Doc = Record<string, unknown> & { _id: string };
export type Filter = Record<string, unknown>;
export type Update = Record<string, unknown>;
export type Sort = Record<string, 1 | -1>;

/**
 * Find options carrying this symbol let the in-memory store hand out its stored documents (which it
 * never changes: updates replace them) instead of copies: for a caller that copies them anyway and
 * never changes them, i.e. serveReadStore, whose answer is a structured clone. Symbols do not cross
 * a message port, so a remote caller cannot ask for it. Other stores ignore it.
 */
export const SHARED_RESULTS: unique symbol = Symbol.for('muster.read-store.shared-results');

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  /** Mongo projection document, e.g. { name: 1 } */
  projection?: Record<string, 0 | 1>;
}

export interface IndexSpec {
  /** ordered keys, e.g. { listId: 1, 'fields.email': 1 } */
  key: Record<string, 1 | -1>;
  name: string;
  unique?: boolean;
  /** only documents matching this equality filter are indexed (Mongo partialFilterExpression) */
  partialFilterExpression?: Filter;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedId?: string;
}

/** collection holding one `{ _id: projection, position }` document per projection */
export const CHECKPOINTS_COLLECTION = '_checkpoints';

export class DuplicateKeyError extends Error {
  readonly code = 11000;
  constructor(readonly collection: string, readonly index: string, message?: string) {
    super(message ?? `duplicate key in ${collection} for index ${index}`);
    this.name = 'DuplicateKeyError';
  }
}

/** The read store cannot answer now (its thread stopped, say): try again later; nothing was written by the call. */
export class ReadStoreUnavailableError extends Error {
  readonly code = 'READ_STORE_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'ReadStoreUnavailableError';
  }
}

export interface Collection<T extends Doc = Doc> {
  readonly name: string;
  findOne(filter: Filter, options?: FindOptions): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  countDocuments(filter: Filter): Promise<number>;
  insertOne(doc: T): Promise<void>;
  /** replaces the whole document (upsert optional) */
  replaceOne(filter: Filter, doc: T, options?: { upsert?: boolean }): Promise<UpdateResult>;
  updateOne(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  deleteOne(filter: Filter): Promise<{ deletedCount: number }>;
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>;
}

export interface ReadStore {
  /** declare indexes once at start; idempotent. Unique indexes are enforced by both adapters. */
  ensureIndexes(collection: string, indexes: IndexSpec[]): Promise<void>;
  collection<T extends Doc = Doc>(name: string): Collection<T>;
  /** drop a collection (used by projection rebuilds) */
  dropCollection(name: string): Promise<void>;
  /** atomically rename `from` to `to`, replacing `to` (used to switch over after a rebuild) */
  renameCollection(from: string, to: string): Promise<void>;
  /**
   * Optional bulk insert for loading many documents at once (projection rebuilds): like an ordered
   * insertMany, a duplicate key stops it with a DuplicateKeyError and the documents before the
   * offending one stay inserted. The store ADOPTS the documents instead of copying them: the caller
   * must not use or change them (nor anything they reference) afterwards. Where it is missing,
   * callers insert one document at a time.
   */
  bulkLoad?(collection: string, docs: Iterable<Doc>): Promise<void>;
  getCheckpoint(projection: string): Promise<number | null>;
  setCheckpoint(projection: string, position: number): Promise<void>;
  close(): Promise<void>;
}
