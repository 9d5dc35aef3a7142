/**
 * Tamper evidence for any EventStore: a per-stream hash chain kept in event metadata.
 *
 * Each event written through withHashChain() gets
 *   metadata.prevHash     the previous event's hash in the same stream (GENESIS_HASH for revision 0)
 *   metadata.hashVersion  2 (the scheme below; events without it were written with version 1)
 *   metadata.hash         version 2: sha256(JSON.stringify([streamId, revision, type, prevHash, data, metadata without `hash`]))
 *                         version 1: sha256(canonicalJson({ streamId, revision, type, data, metadata without `hash`, prevHash }))
 *
 * Version 2 hashes the event as JSON.stringify writes it, keys in the order the writer gave them:
 * the form the stores keep (both store the JSON text of data and metadata), and one that survives
 * their round trip unchanged (JSON.stringify of the parsed text gives the same text back), so a
 * verifier recomputes it from what it reads (the event-store contract checks that every adapter
 * gives the text back). It costs one native stringify instead of a key-sorted copy of every object:
 * 31 against 43 µs of CPU for a SCIM create's three events (`npm run bench -- event-store`).
 * Version 1, key order independent, still verifies the events written with it.
 *
 * verifyLog() walks $all and recomputes every link; logDigest() folds every event's hash, in
 * position order, into one digest that can be recorded elsewhere (an anchor) and compared later:
 * the chain alone cannot detect an attacker who rewrites a stream's whole tail, an anchor can.
 * Not covered by the hash: eventId, position and created.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import {
  WrongExpectedRevisionError,
  revisionsNow,
  type SyncRevisions,
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
} from './port.ts';

export const GENESIS_HASH = '0'.repeat(64);

export class HashChainError extends Error {
  readonly code = 'HASH_CHAIN';
  constructor(message: string) {
    super(message);
    this.name = 'HashChainError';
  }
}

/** JSON with object keys sorted (recursively); otherwise what JSON.stringify would produce. */
export function canonicalJson(value: unknown): string {
  // Fast path: a copy whose objects hold their keys in sorted order, written by the native
  // JSON.stringify. It cannot express objects with integer-like keys (JavaScript always lists
  // those first, in numeric order), so those values take the string-building path.
  const sorted = sortedCopy(value);
  const out = sorted === NEEDS_BUILDER ? canonical(value) : JSON.stringify(sorted);
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

const NEEDS_BUILDER = Symbol('needs the string builder');

function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return sortedCopy((value as { toJSON: () => unknown }).toJSON());
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = sortedCopy(value[i]);
      if (v === NEEDS_BUILDER) return NEEDS_BUILDER;
      out[i] = v;
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // integer-like keys come first in Object.keys order, so checking the first one is enough
  if (keys.length > 0 && isArrayIndex(keys[0])) return NEEDS_BUILDER;
  if (Object.hasOwn(record, '__proto__')) return NEEDS_BUILDER; // an own "__proto__" key (from JSON.parse) cannot be copied by assignment
  sortKeys(keys);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const v = sortedCopy(record[keys[i]]);
    if (v === NEEDS_BUILDER) return NEEDS_BUILDER;
    out[keys[i]] = v;
  }
  return out;
}

/**
 * Sorts in place in code unit order, as Array.prototype.sort() does for strings: an insertion sort
 * for the few keys of a typical object (no allocation; already sorted costs n - 1 comparisons),
 * the built-in sort beyond that.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 24) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    let j = i - 1;
    if (keys[j] <= k) continue;
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
}

/** keys JavaScript orders numerically before all others: canonical array indices 0 .. 2^32-2 */
function isArrayIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57) return false;
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 4294967295;
}

function canonical(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      throw new TypeError('BigInt has no JSON representation');
    case 'object': {
      const withToJson = value as { toJSON?: () => unknown };
      if (typeof withToJson.toJSON === 'function') return canonical(withToJson.toJSON());
      if (Array.isArray(value)) return `[${value.map((v) => canonical(v) ?? 'null').join(',')}]`;
      const record = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const v = canonical(record[key]);
        if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return undefined; // undefined, functions, symbols: dropped like JSON.stringify does
  }
}

export interface HashInput {
  streamId: string;
  revision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  prevHash: string;
}

/** version 2 of the event hash; `metadata` without `hash` */
function hashV2(streamId: string, revision: number, type: string, prevHash: string, data: unknown, metadata: Record<string, unknown>): string {
  return oneShotHash('sha256', JSON.stringify([streamId, revision, type, prevHash, data, metadata]), 'hex');
}

/** the hash scheme withHashChain writes (see the module comment) */
export const HASH_VERSION = 2;

/**
 * The hash of one event, by the scheme its `metadata.hashVersion` names (none: version 1);
 * `metadata.hash`, if present, is left out.
 */
export function eventHash(input: HashInput): string {
  const { hash: _ignored, ...metadata } = input.metadata;
  if (metadata.hashVersion === 2) return hashV2(input.streamId, input.revision, input.type, input.prevHash, input.data, metadata);
  if (metadata.hashVersion !== undefined) throw new HashChainError(`unknown hashVersion ${JSON.stringify(metadata.hashVersion)}`);
  const body = canonicalJson({
    streamId: input.streamId,
    revision: input.revision,
    type: input.type,
    data: input.data,
    metadata,
    prevHash: input.prevHash,
  });
  return oneShotHash('sha256', body, 'hex');
}

function storedHash(event: RecordedEvent): string {
  const hash = event.metadata.hash;
  if (typeof hash !== 'string') {
    throw new HashChainError(
      `event ${event.streamId}@${event.revision} (position ${event.position}) has no hash: it was not written through withHashChain`,
    );
  }
  return hash;
}

function chain(streamId: string, firstRevision: number, prevHash: string, events: NewEvent[]): NewEvent[] {
  let prev = prevHash;
  return events.map((e, i) => {
    // a copy without the chain's own keys (not a delete, which would turn it into a slow dictionary object)
    const { hash: _hash, prevHash: _prevHash, hashVersion: _hashVersion, ...metadata } = e.metadata;
    metadata.prevHash = prev;
    metadata.hashVersion = HASH_VERSION;
    const hash = hashV2(streamId, firstRevision + i, e.type, prev, e.data, metadata);
    prev = hash;
    metadata.hash = hash;
    return { eventId: e.eventId, type: e.type, data: e.data, metadata };
  });
}

export interface HashChainOptions {
  /** retries after a conflict when the caller asked for 'any' or 'stream_exists' (default 25) */
  maxRetries?: number;
  /** how many stream tips to remember so appends skip reading the stream's last event (default 100,000) */
  tipCacheSize?: number;
}

/**
 * Wraps a store so that every append extends its stream's hash chain. The wrapper reads the stream's
 * last event and appends with that exact revision: 'any' and 'stream_exists' appends retry on a
 * conflict (bounded), 'no_stream' and exact revisions fail like the store would.
 */
export function withHashChain(store: EventStore, options: HashChainOptions = {}): EventStore {
  const maxRetries = options.maxRetries ?? 25;
  /** last known (revision, hash) per stream: facts this process wrote; bounded */
  const tips = new Map<string, { revision: number; hash: string }>();
  const remember = (streamId: string, revision: number, chained: NewEvent[]) => {
    if (tips.size >= (options.tipCacheSize ?? 100_000)) tips.clear();
    tips.set(streamId, { revision, hash: String(chained[chained.length - 1].metadata.hash) });
  };

  async function appendToStream(
    streamId: string,
    events: NewEvent[],
    appendOptions?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    const expected = appendOptions?.expectedRevision ?? 'any';
    if (events.length === 0) return store.appendToStream(streamId, events, appendOptions);
    const retryable = expected === 'any' || expected === 'stream_exists';
    // Fast path: the stream's tip as this process last wrote or read it. The append carries that
    // exact revision, so a stale tip (another writer got there first) is refused by the store, and
    // the slow path below re-reads the stream.
    const known = tips.get(streamId);
    const fresh = expected === 'no_stream' ? { revision: -1, hash: GENESIS_HASH } : known && (expected === 'any' || expected === 'stream_exists' || expected === known.revision) ? known : undefined;
    if (fresh && !(expected === 'no_stream' && known)) {
      const chained = chain(streamId, fresh.revision + 1, fresh.hash, events);
      try {
        const res = await store.appendToStream(streamId, chained, { expectedRevision: fresh.revision < 0 ? 'no_stream' : fresh.revision });
        remember(streamId, res.nextExpectedRevision, chained);
        return res;
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        tips.delete(streamId);
        if (!retryable) throw new WrongExpectedRevisionError(streamId, expected, err.actual);
      }
    }
    for (let attempt = 0; ; attempt++) {
      const [last] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
      const actual = last ? last.revision : 'no_stream';
      const mismatch =
        (expected === 'no_stream' && last) ||
        (expected === 'stream_exists' && !last) ||
        (typeof expected === 'number' && actual !== expected);
      if (mismatch) throw new WrongExpectedRevisionError(streamId, expected, actual);
      const chained = chain(streamId, last ? last.revision + 1 : 0, last ? storedHash(last) : GENESIS_HASH, events);
      try {
        const res = await store.appendToStream(streamId, chained, { expectedRevision: actual });
        remember(streamId, res.nextExpectedRevision, chained);
        return res;
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        tips.delete(streamId);
        if (!retryable || attempt >= maxRetries) throw new WrongExpectedRevisionError(streamId, expected, err.actual);
        if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * attempt));
      }
    }
  }

  /** the tip an append must extend to meet `expected`, or the mismatch */
  async function tipFor(streamId: string, expected: ExpectedRevision): Promise<{ revision: number; hash: string }> {
    if (expected === 'no_stream') return { revision: -1, hash: GENESIS_HASH };
    const known = tips.get(streamId);
    if (known && (expected === 'any' || expected === 'stream_exists' || expected === known.revision)) return known;
    const [last] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    const actual = last ? last.revision : 'no_stream';
    if ((expected === 'stream_exists' && !last) || (typeof expected === 'number' && actual !== expected)) {
      throw new WrongExpectedRevisionError(streamId, expected, actual);
    }
    return last ? { revision: last.revision, hash: storedHash(last) } : { revision: -1, hash: GENESIS_HASH };
  }

  /**
   * Atomic multi-stream append (when the wrapped store has one): each stream's events extend its
   * own chain, and every append carries the exact revision its chain was computed from. A conflict
   * on a stream asked for with 'any' or 'stream_exists' is retried (bounded); any other is thrown.
   */
  async function appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    for (let attempt = 0; ; attempt++) {
      const chainedAppends: StreamAppend[] = [];
      for (const a of appends) {
        const tip = await tipFor(a.streamId, a.expectedRevision ?? 'any');
        chainedAppends.push({
          streamId: a.streamId,
          events: a.events.length ? chain(a.streamId, tip.revision + 1, tip.hash, a.events) : a.events,
          expectedRevision: tip.revision < 0 ? 'no_stream' : tip.revision,
        });
      }
      try {
        const results = await store.appendToStreams!(chainedAppends);
        chainedAppends.forEach((a, i) => { if (a.events.length) remember(a.streamId, results[i].nextExpectedRevision, a.events); });
        return results;
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        tips.delete(err.streamId);
        const asked = appends.find((a) => a.streamId === err.streamId)?.expectedRevision ?? 'any';
        if (!(asked === 'any' || asked === 'stream_exists') || attempt >= maxRetries) throw new WrongExpectedRevisionError(err.streamId, asked, err.actual);
        if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * attempt));
      }
    }
  }

  return {
    appendToStream,
    ...(store.appendToStreams ? { appendToStreams } : {}),
    readStream: (streamId, o) => store.readStream(streamId, o),
    readAll: (o) => store.readAll(o),
    subscribeToAll: (o, handler) => store.subscribeToAll(o, handler),
    headPosition: () => store.headPosition(),
    ...(store.currentRevision ? { currentRevision: (streamId: string) => store.currentRevision!(streamId) } : {}),
    ...withSyncRevisions(store),
    close: () => store.close(),
  };
}

/** the inner store's synchronous revisions (SyncRevisions), passed through when it has them */
function withSyncRevisions(store: EventStore): Partial<SyncRevisions> {
  const sync = revisionsNow(store);
  return sync ? { currentRevisionNow: (streamId: string) => sync.currentRevisionNow(streamId) } : {};
}

export interface WalkOptions {
  /** events per readAll call (default 1000) */
  batchSize?: number;
  /** only look at these events, e.g. the streams one application writes through the chain */
  filter?: EventFilter;
  /**
   * only check (or fold into the digest) the events this accepts, called in position order. The
   * chain is per stream, so a selection must take whole streams (every event of a stream or none).
   */
  select?: (e: RecordedEvent) => boolean;
}

export interface ChainBreak {
  position: number;
  streamId: string;
  revision: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** events examined, the breaking one included */
  eventsChecked: number;
  firstBreak?: ChainBreak;
}

async function* walk(store: EventStore, batchSize: number, filter: EventFilter | undefined, from = -1) {
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: batchSize, filter });
    for (const e of page) yield e;
    if (page.length < batchSize) return;
    from = page[page.length - 1].position;
  }
}

function findBreak(e: RecordedEvent, prev: { revision: number; hash: string } | undefined): string | undefined {
  const { hash, prevHash } = e.metadata;
  if (typeof hash !== 'string' || typeof prevHash !== 'string') return 'metadata.hash or metadata.prevHash is missing';
  const expectedRevision = prev ? prev.revision + 1 : 0;
  if (e.revision !== expectedRevision) return `revision ${e.revision} where ${expectedRevision} was expected`;
  if (prevHash !== (prev ? prev.hash : GENESIS_HASH)) return "prevHash does not match the previous event's hash";
  let recomputed: string;
  try {
    recomputed = eventHash({ streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata, prevHash });
  } catch (err) {
    if (err instanceof HashChainError) return err.message; // an unknown hashVersion
    throw err;
  }
  if (recomputed !== hash) return 'hash does not match the event content';
  return undefined;
}

/** Walks the whole log in position order and checks every event's link; stops at the first break. */
export async function verifyLog(store: EventStore, options: WalkOptions = {}): Promise<VerifyResult> {
  const heads = new Map<string, { revision: number; hash: string }>();
  let eventsChecked = 0;
  for await (const e of walk(store, options.batchSize ?? 1000, options.filter)) {
    if (options.select && !options.select(e)) continue;
    eventsChecked++;
    const reason = findBreak(e, heads.get(e.streamId));
    if (reason) {
      return { ok: false, eventsChecked, firstBreak: { position: e.position, streamId: e.streamId, revision: e.revision, reason } };
    }
    heads.set(e.streamId, { revision: e.revision, hash: e.metadata.hash as string });
  }
  return { ok: true, eventsChecked };
}

export interface LogDigest {
  /** position of the last event folded in (-1 when none) */
  position: number;
  /** hex sha256 chain: d = sha256(d_prev + event.hash), starting from GENESIS_HASH */
  digest: string;
}

/**
 * Digest of every event's hash in position order, up to and including `upToPosition` (default: the
 * end). `options.from` continues from an earlier result instead of starting over.
 */
export async function logDigest(
  store: EventStore,
  upToPosition?: number,
  options: WalkOptions & { from?: LogDigest } = {},
): Promise<LogDigest> {
  let { position, digest } = options.from ?? { position: -1, digest: GENESIS_HASH };
  for await (const e of walk(store, options.batchSize ?? 1000, options.filter, position)) {
    if (upToPosition !== undefined && e.position > upToPosition) break;
    if (options.select && !options.select(e)) continue;
    digest = createHash('sha256').update(digest).update(storedHash(e)).digest('hex');
    position = e.position;
  }
  return { position, digest };
}
