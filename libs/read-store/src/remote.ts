/**
 * A read store served over a message port: the store lives on one thread (the projector's worker
 * in the one-process runtime), callers on another use it through the same ReadStore port.
 *
 * Every call is one request and one answer, carried by structured clone (filters keep their RegExp
 * values, documents their Dates); the calls (and answers) of one event-loop turn travel together as
 * one message, which under load costs far less than a message each. Errors come back as what they were where that
 * matters to callers (DuplicateKeyError with its collection and index); anything else as an Error
 * with the original name and message. The shared contract suite runs against this adapter over a
 * MessageChannel (remote.test.ts).
 */
import { DuplicateKeyError, ReadStoreUnavailableError, SHARED_RESULTS, type Collection, type Doc, type Filter, type FindOptions, type IndexSpec, type ReadStore, type Update, type UpdateResult } from './port.ts';

/** what both ends need of a MessagePort / worker / parentPort */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

const COLLECTION_METHODS = ['findOne', 'find', 'countDocuments', 'insertOne', 'replaceOne', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany'] as const;
const STORE_METHODS = ['ensureIndexes', 'dropCollection', 'renameCollection', 'getCheckpoint', 'setCheckpoint'] as const;
type CollectionMethod = (typeof COLLECTION_METHODS)[number];
type StoreMethod = (typeof STORE_METHODS)[number];

/** read-store request: `coll` set for collection methods */
export interface ReadStoreRequest { t: 'rs'; id: number; method: CollectionMethod | StoreMethod; coll?: string; args: unknown[] }
export interface ReadStoreAnswer { t: 'rs-answer'; id: number; ok: boolean; value?: unknown; error?: SerializedError }
interface SerializedError { name: string; message: string; duplicate?: { collection: string; index: string } }

/** calls (or answers) made in one turn of the event loop travel as one message */
export interface Batch<T> { t: 'rs-batch'; items: T[] }

/**
 * Collects messages and posts them at the end of this turn of the event loop (setImmediate): one
 * message carries everything a turn produced, so the per-message cost is paid once for a burst.
 */
function batcher<T>(post: (message: unknown) => void, onCloneError: (item: T, err: Error) => void) {
  let pending: T[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const items = pending;
    pending = [];
    if (items.length === 0) return;
    try {
      post(items.length === 1 ? items[0] : ({ t: 'rs-batch', items } satisfies Batch<T>));
    } catch {
      // something in the batch cannot be cloned: send one by one, so only that one fails
      for (const item of items) {
        try { post(item); } catch (err) { onCloneError(item, err instanceof Error ? err : new Error(String(err))); }
      }
    }
  };
  return (item: T) => {
    pending.push(item);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

export function isReadStoreRequest(m: unknown): m is ReadStoreRequest {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'rs';
}

function isBatch(m: unknown): m is Batch<unknown> {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'rs-batch' && Array.isArray((m as { items?: unknown }).items);
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof DuplicateKeyError) return { name: err.name, message: err.message, duplicate: { collection: err.collection, index: err.index } };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

function deserializeError(e: SerializedError): Error {
  if (e.duplicate) return new DuplicateKeyError(e.duplicate.collection, e.duplicate.index, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/**
 * Answers ReadStoreRequests arriving on `port` from `store`. Other messages are left to other
 * listeners. Returns a function that stops serving.
 */
export function serveReadStore(store: ReadStore, port: PortLike): () => void {
  const send = batcher<ReadStoreAnswer>((m) => port.postMessage(m), (a, err) => port.postMessage({ t: 'rs-answer', id: a.id, ok: false, error: serializeError(err) } satisfies ReadStoreAnswer));
  const one = (m: ReadStoreRequest) => { void answer(store, m).then(send); };
  const listener = (m: unknown) => {
    if (isReadStoreRequest(m)) one(m);
    else if (isBatch(m)) for (const r of m.items) if (isReadStoreRequest(r)) one(r);
  };
  port.on('message', listener);
  return () => { port.off('message', listener); };
}

async function answer(store: ReadStore, m: ReadStoreRequest): Promise<ReadStoreAnswer> {
  try {
    let value: unknown;
    if (m.coll !== undefined) {
      if (!(COLLECTION_METHODS as readonly string[]).includes(m.method)) throw new TypeError(`not a collection method: ${m.method}`);
      const c = store.collection(m.coll) as unknown as Record<CollectionMethod, (...a: unknown[]) => Promise<unknown>>;
      const args = m.args;
      // the answer is a structured clone: the store need not copy what it hands over first
      if (m.method === 'find' || m.method === 'findOne') args[1] = { ...(args[1] as object | undefined), [SHARED_RESULTS]: true };
      value = await c[m.method as CollectionMethod](...args);
    } else {
      if (!(STORE_METHODS as readonly string[]).includes(m.method)) throw new TypeError(`not a read store method: ${m.method}`);
      const s = store as unknown as Record<StoreMethod, (...a: unknown[]) => Promise<unknown>>;
      value = await s[m.method as StoreMethod](...m.args);
    }
    return { t: 'rs-answer', id: m.id, ok: true, value };
  } catch (err) {
    return { t: 'rs-answer', id: m.id, ok: false, error: serializeError(err) };
  }
}

interface PendingCall { id: number; resolve: (v: unknown) => void; reject: (e: Error) => void }

/**
 * Calls waiting for their answers, in slots indexed by id (ids only grow, so the ones in flight fit
 * a table a little larger than their spread; it doubles when two would share a slot, up to
 * MAX_SLOTS, beyond which a call that would collide waits in a small map). Not a Map for all:
 * a map every call enters and leaves is rehashed all the time, and V8 keeps what its dropped tables
 * held (the callers' requests) alive into the old generation — measured on the HTTP thread as a few
 * MB promoted per young collection and 10 ms pauses under GET load.
 */
export class PendingCalls {
  static readonly MAX_SLOTS = 1 << 16;
  private slots: Array<PendingCall | undefined> = new Array<PendingCall | undefined>(1024).fill(undefined);
  /** calls that met an occupied slot in a table already MAX_SLOTS long (a call that never gets answered, say) */
  private readonly overflow = new Map<number, PendingCall>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(call: PendingCall): void {
    while (this.slots[call.id & (this.slots.length - 1)] !== undefined) {
      if (this.slots.length >= PendingCalls.MAX_SLOTS) {
        this.overflow.set(call.id, call);
        this.count++;
        return;
      }
      this.grow();
    }
    this.slots[call.id & (this.slots.length - 1)] = call;
    this.count++;
  }

  /** the call with this id, removed; undefined when none (answered already, or never asked) */
  take(id: number): PendingCall | undefined {
    if (!Number.isSafeInteger(id) || id < 0) return undefined;
    const i = id & (this.slots.length - 1);
    const call = this.slots[i];
    if (call !== undefined && call.id === id) {
      this.slots[i] = undefined;
      this.count--;
      return call;
    }
    const other = this.overflow.size > 0 ? this.overflow.get(id) : undefined;
    if (other === undefined) return undefined;
    this.overflow.delete(id);
    this.count--;
    return other;
  }

  /** every waiting call, removed */
  drain(): PendingCall[] {
    const out: PendingCall[] = [...this.overflow.values()];
    this.overflow.clear();
    for (let i = 0; i < this.slots.length; i++) {
      const call = this.slots[i];
      if (call !== undefined) { out.push(call); this.slots[i] = undefined; }
    }
    this.count = 0;
    return out;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<PendingCall | undefined>(old.length * 2).fill(undefined);
    for (const call of old) if (call !== undefined) this.slots[call.id & (this.slots.length - 1)] = call;
  }
}

export interface RemoteReadStoreOptions {
  /** called by close(), after pending calls have settled (e.g. to stop the thread serving the store) */
  onClose?: () => Promise<void>;
}

/** A ReadStore whose calls are answered by serveReadStore() at the other end of `port`. */
export function createRemoteReadStore(port: PortLike, options: RemoteReadStoreOptions = {}): ReadStore & { fail(err: Error): void; attach(port: PortLike): void } {
  let nextId = 1;
  const pending = new PendingCalls();
  let closed: Error | null = null;
  const settle = (a: ReadStoreAnswer) => {
    if (typeof a !== 'object' || a === null || a.t !== 'rs-answer') return;
    const p = pending.take(a.id);
    if (!p) return;
    if (a.ok) p.resolve(a.value);
    else p.reject(deserializeError(a.error!));
  };
  const listener = (m: unknown) => {
    if (isBatch(m)) for (const a of m.items) settle(a as ReadStoreAnswer);
    else settle(m as ReadStoreAnswer);
  };
  let current = port;
  const send = batcher<ReadStoreRequest>((m) => current.postMessage(m), (req, err) => {
    pending.take(req.id)?.reject(err);
  });
  current.on('message', listener);

  const call = <T>(method: ReadStoreRequest['method'], coll: string | undefined, args: unknown[]): Promise<T> => {
    if (closed) return Promise.reject(closed);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.add({ id, resolve: resolve as (v: unknown) => void, reject });
      // a value that cannot be cloned (a function in a filter, say) fails only its own call
      send({ t: 'rs', id, method, coll, args });
    });
  };

  const collections = new Map<string, Collection>();
  const collection = <T extends Doc = Doc>(name: string): Collection<T> => {
    let c = collections.get(name);
    if (!c) {
      c = {
        name,
        findOne: (filter: Filter, options?: FindOptions) => call('findOne', name, [filter, options]),
        find: (filter: Filter, options?: FindOptions) => call('find', name, [filter, options]),
        countDocuments: (filter: Filter) => call('countDocuments', name, [filter]),
        insertOne: (doc: Doc) => call('insertOne', name, [doc]),
        replaceOne: (filter: Filter, doc: Doc, options?: { upsert?: boolean }) => call<UpdateResult>('replaceOne', name, [filter, doc, options]),
        updateOne: (filter: Filter, update: Update, options?: { upsert?: boolean }) => call<UpdateResult>('updateOne', name, [filter, update, options]),
        updateMany: (filter: Filter, update: Update) => call<UpdateResult>('updateMany', name, [filter, update]),
        deleteOne: (filter: Filter) => call('deleteOne', name, [filter]),
        deleteMany: (filter: Filter) => call('deleteMany', name, [filter]),
      } as Collection;
      collections.set(name, c);
    }
    return c as unknown as Collection<T>;
  };

  const fail = (cause: Error) => {
    if (closed) return;
    const err = cause instanceof ReadStoreUnavailableError ? cause : new ReadStoreUnavailableError(cause.message);
    closed = err;
    for (const p of pending.drain()) p.reject(err);
  };

  return {
    collection,
    ensureIndexes: (coll: string, indexes: IndexSpec[]) => call('ensureIndexes', undefined, [coll, indexes]),
    dropCollection: (name: string) => call('dropCollection', undefined, [name]),
    renameCollection: (from: string, to: string) => call('renameCollection', undefined, [from, to]),
    getCheckpoint: (projection: string) => call<number | null>('getCheckpoint', undefined, [projection]),
    setCheckpoint: (projection: string, position: number) => call('setCheckpoint', undefined, [projection, position]),
    fail,
    /** serve from another port from now on (a restarted thread); calls failed before stay failed */
    attach(next: PortLike) {
      current.off('message', listener);
      current = next;
      current.on('message', listener);
      closed = null;
    },
    async close() {
      if (closed) return;
      // let calls in flight finish, then refuse new ones
      const deadline = Date.now() + 10_000;
      while (pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      closed = new Error('read store is closed');
      current.off('message', listener);
      await options.onClose?.();
    },
  };
}
