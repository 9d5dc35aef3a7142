/**
 * MongoDB read store: a thin mapping of the port onto the official driver.
 * Filters and updates are passed through unchanged; E11000 becomes DuplicateKeyError.
 */
import {
  MongoClient,
  MongoError,
  type Collection as MongoCollection,
  type Db,
  type Document,
  type Filter as MongoFilter,
  type MongoClientOptions,
  type UpdateFilter,
} from 'mongodb';
import {
  CHECKPOINTS_COLLECTION,
  DuplicateKeyError,
  type Collection,
  type Doc,
  type Filter,
  type FindOptions,
  type ReadStore,
  type UpdateResult,
} from './port.ts';

export interface MongoReadStoreOptions {
  url: string;
  dbName: string;
  /** passed to MongoClient (timeouts, pool size, ...) */
  clientOptions?: MongoClientOptions;
}

/** what the read store keeps in MongoDB: string ids, anything else */
interface StoredDoc extends Document {
  _id: string;
}

const NAMESPACE_NOT_FOUND = 26;
const DUPLICATE_KEY = 11000;

export async function createMongoReadStore(options: MongoReadStoreOptions): Promise<ReadStore> {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 10_000, ...options.clientOptions });
  await client.connect();
  const db = client.db(options.dbName);
  return new MongoReadStore(client, db);
}

class MongoReadStore implements ReadStore {
  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {}

  async ensureIndexes(collection: string, indexes: Parameters<ReadStore['ensureIndexes']>[1]): Promise<void> {
    if (indexes.length === 0) return;
    await translate(collection, () =>
      this.db.collection(collection).createIndexes(
        indexes.map((spec) => ({
          key: spec.key,
          name: spec.name,
          ...(spec.unique ? { unique: true } : {}),
          ...(spec.partialFilterExpression ? { partialFilterExpression: spec.partialFilterExpression } : {}),
        })),
      ),
    );
  }

  collection<T extends Doc = Doc>(name: string): Collection<T> {
    return new MongoReadCollection<T>(name, this.db.collection<StoredDoc>(name));
  }

  async dropCollection(name: string): Promise<void> {
    try {
      await this.db.dropCollection(name);
    } catch (err) {
      if (err instanceof MongoError && err.code === NAMESPACE_NOT_FOUND) return;
      throw err;
    }
  }

  async renameCollection(from: string, to: string): Promise<void> {
    // the server swaps the namespace in one step; dropTarget removes the old target atomically
    await this.db.renameCollection(from, to, { dropTarget: true });
  }

  async getCheckpoint(projection: string): Promise<number | null> {
    const doc = await this.db.collection<StoredDoc>(CHECKPOINTS_COLLECTION).findOne({ _id: projection });
    return doc && typeof doc.position === 'number' ? doc.position : null;
  }

  async setCheckpoint(projection: string, position: number): Promise<void> {
    const write = () =>
      this.db
        .collection<StoredDoc>(CHECKPOINTS_COLLECTION)
        .updateOne({ _id: projection }, { $set: { position, updatedAt: new Date() } }, { upsert: true });
    try {
      await write();
    } catch (err) {
      // two concurrent first upserts of the same checkpoint: the loser retries as an update
      if (err instanceof MongoError && err.code === DUPLICATE_KEY) await write();
      else throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

class MongoReadCollection<T extends Doc> implements Collection<T> {
  constructor(
    readonly name: string,
    private readonly coll: MongoCollection<StoredDoc>,
  ) {}

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    const doc = await this.coll.findOne(filter as MongoFilter<StoredDoc>, findOptions(options));
    return (doc as unknown as T | null) ?? null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    const docs = await this.coll.find(filter as MongoFilter<StoredDoc>, findOptions(options)).toArray();
    return docs as unknown as T[];
  }

  countDocuments(filter: Filter): Promise<number> {
    return this.coll.countDocuments(filter as MongoFilter<StoredDoc>);
  }

  async insertOne(doc: T): Promise<void> {
    if (typeof doc._id !== 'string') throw new TypeError('document _id must be a string');
    // a shallow copy: the driver would otherwise write fields onto the caller's object
    await translate(this.name, () => this.coll.insertOne({ ...doc }));
  }

  async replaceOne(filter: Filter, doc: T, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    const res = await translate(this.name, () =>
      this.coll.replaceOne(filter as MongoFilter<StoredDoc>, { ...doc }, { upsert: options.upsert === true }),
    );
    return result(res);
  }

  async updateOne(filter: Filter, update: Record<string, unknown>, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    const res = await translate(this.name, () =>
      this.coll.updateOne(filter as MongoFilter<StoredDoc>, update as UpdateFilter<StoredDoc>, { upsert: options.upsert === true }),
    );
    return result(res);
  }

  async updateMany(filter: Filter, update: Record<string, unknown>): Promise<UpdateResult> {
    const res = await translate(this.name, () =>
      this.coll.updateMany(filter as MongoFilter<StoredDoc>, update as UpdateFilter<StoredDoc>),
    );
    return result(res);
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const res = await this.coll.deleteOne(filter as MongoFilter<StoredDoc>);
    return { deletedCount: res.deletedCount };
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    const res = await this.coll.deleteMany(filter as MongoFilter<StoredDoc>);
    return { deletedCount: res.deletedCount };
  }
}

function findOptions(options: FindOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.sort && Object.keys(options.sort).length > 0) out.sort = options.sort;
  if (options.skip) out.skip = options.skip;
  if (options.limit) out.limit = options.limit;
  if (options.projection && Object.keys(options.projection).length > 0) out.projection = options.projection;
  return out;
}

function result(res: { matchedCount: number; modifiedCount: number; upsertedId: unknown }): UpdateResult {
  const out: UpdateResult = { matchedCount: res.matchedCount, modifiedCount: res.modifiedCount };
  if (res.upsertedId !== null && res.upsertedId !== undefined) out.upsertedId = String(res.upsertedId);
  return out;
}

/** runs a write and turns the server's E11000 into DuplicateKeyError */
async function translate<R>(collection: string, op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof MongoError && err.code === DUPLICATE_KEY) {
      throw new DuplicateKeyError(collection, duplicateIndexName(err), err.message);
    }
    throw err;
  }
}

/** "E11000 duplicate key error collection: db.people index: email_1 dup key: { ... }" -> "email_1" */
export function duplicateIndexName(err: { message: string }): string {
  const match = /index: (\S+) dup key/.exec(err.message);
  return match ? match[1] : 'unknown';
}
