/**
 * Embedded event store: a durable append-only log file in one directory, indexed in memory.
 *
 * - Appends are acknowledged only once durable: groups are written through a second handle opened
 *   with O_DSYNC, so each write returns when its data is on disk (write + fdatasync in one call,
 *   one trip through libuv's thread pool, which matters when the event loop is busy). Appends
 *   that arrive while a write is in flight are queued and flushed together (group commit: one
 *   durable write per group).
 * - Expected revisions are checked synchronously when appendToStream is called, against the state
 *   that includes queued batches, so checks follow call order and a failing batch affects no other.
 * - Readers only see durable events. Recovery keeps every valid record and truncates a torn tail
 *   (writable mode) or ignores it as "not yet written" (readOnly mode).
 * - After a failed write or fsync the store refuses further appends (EventStoreFailedError): the
 *   state of the file is then unknown, reopening it recovers the truth.
 * - Subscriptions: `done` resolves after stop()/close(), and rejects with the handler's error when
 *   the handler throws (the rejection is pre-handled, so it never crashes the process).
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  WrongExpectedRevisionError,
  type AppendResult,
  type EventFilter,
  type EventHandler,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  type SubscribeOptions,
  type Subscription,
  type SyncRevisions,
} from './port.ts';
import { isEmptyFilter } from './filter.ts';
import { CorruptLogError, EventStoreFailedError } from './embedded/errors.ts';
import { encodeEvent, encodeRecord, MAX_GROUP_BYTES, parsePayload, type DecodedRecord } from './embedded/format.ts';
import { decodeWholeRecords, hasValidRecordBeyond, readRange, scanRecords, writeFully } from './embedded/log-file.ts';
import { LogIndex, type StreamEntry } from './embedded/log-index.ts';
import { acquireWriterLock, type WriterLock } from './embedded/lock.ts';
import { PagedSubscription, type Page } from './embedded/subscriber.ts';

export { CorruptLogError, EventStoreFailedError, EventStoreLockedError } from './embedded/errors.ts';

export const LOG_FILE_NAME = 'events.log';

export interface EmbeddedEventStoreOptions {
  dir: string;
  /** open a log another process writes: never writes, locks or truncates */
  readOnly?: boolean;
  /** readOnly mode: how often caught-up subscriptions look for new records (ms, default 100) */
  pollIntervalMs?: number;
  hooks?: EmbeddedHooks;
}

export interface EmbeddedHooks {
  /** awaited before every durable group write (tests use it to slow the disk down) */
  beforeSync?: () => void | Promise<void>;
  /**
   * called after every group commit, once its events are durable and visible here, with the last
   * position written and the bytes just written (a reader of the same log in another thread
   * refreshes on it, or ingests those bytes: EmbeddedEventStore.ingest)
   */
  afterCommit?: (lastPosition: number, committed: CommittedBytes) => void;
  /** told of every durable group write: how long the write + sync took (seconds) and its size */
  afterSync?: (seconds: number, bytes: number) => void;
}

/** the bytes of one durable group write, exactly as they are in the log file at `fileOffset` */
export interface CommittedBytes {
  fileOffset: number;
  bytes: Buffer;
}

export interface EmbeddedStats {
  /** appendToStream calls acknowledged */
  appends: number;
  eventsWritten: number;
  /** group writes issued (one per group commit) */
  writes: number;
  /** durable group writes completed (O_DSYNC writes: each is a write and a data sync) */
  syncs: number;
  /** readOnly: group writes taken from the writer's committed bytes (ingest) instead of the file */
  ingested: number;
  /** payload reads served from the recent bytes kept in memory instead of the file */
  tailReads: number;
  /** caught-up subscriptions woken by new events (a filtered one only for events it delivers) */
  wakes: number;
}

export interface RecoveryInfo {
  /** events found in the log when it was opened */
  events: number;
  /** bytes of valid records */
  validBytes: number;
  /** bytes past the last valid record: truncated (writable) or ignored for now (readOnly) */
  tailBytes: number;
  tailReason?: string;
}

/** the embedded log: the port, plus the capabilities of an index held in this process (SyncRevisions) */
export interface EmbeddedEventStore extends EventStore, SyncRevisions {
  /** the stream's current revision from the index (-1 when it does not exist), no read */
  currentRevision(streamId: string): Promise<number>;
  /** atomic append to several streams: one durable write, one atomic run of records */
  appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]>;
  readonly dir: string;
  readonly logPath: string;
  readonly readOnly: boolean;
  readonly recovery: RecoveryInfo;
  stats(): EmbeddedStats;
  /** picks up records appended by another process (readOnly); returns how many events were added */
  refresh(): Promise<number>;
  /**
   * readOnly: takes the records of a group write the writer just made durable (its afterCommit
   * bytes) without reading the file: when they start where this reader's log ends and decode
   * (CRC, whole atomic runs, positions and revisions in line); otherwise it refreshes from the
   * file, which stays the authority. Returns how many events were added.
   */
  ingest(committed: CommittedBytes): Promise<number>;
}

/** one stream's records inside a queued write */
interface QueuedPart {
  stream: StreamEntry;
  /** offsets of the payloads, relative to the queued batch's bytes */
  payloadOffsets: number[];
  payloadLengths: number[];
  typeIdx: number[];
  firstRevision: number;
}

/** one append call: one record, or the run of records of an atomic multi-stream append */
interface QueuedBatch {
  bytes: Buffer;
  parts: QueuedPart[];
  created: number;
  /** appendToStream: resolves with the one result; appendToStreams: with one per part */
  single: boolean;
  resolve: (r: AppendResult | AppendResult[]) => void;
  reject: (e: unknown) => void;
}

const READ_CHUNK = 1024 * 1024;

/**
 * readOnly readers: the most recent bytes taken by ingest, kept to serve reads of the log's tail
 * without the file (a writer keeps none: its reads go to the file as before)
 */
const TAIL_CACHE_BYTES = 4 * 1024 * 1024;
const SUBSCRIPTION_PAGE = 1000;
const SUBSCRIPTION_SCAN_LIMIT = 100_000;

/** a reader waiting for the log to grow */
interface Waiter {
  wake: () => void;
  /** with a filter: woken only once a position after `scannedTo` matches it */
  filter?: EventFilter;
  scannedTo: number;
}

export async function openEmbeddedEventStore(options: EmbeddedEventStoreOptions): Promise<EmbeddedEventStore> {
  const dir = resolve(options.dir);
  const readOnly = options.readOnly ?? false;
  const logPath = join(dir, LOG_FILE_NAME);
  let lock: WriterLock | undefined;
  let fh: FileHandle | undefined;
  try {
    if (readOnly) {
      fh = await open(logPath, 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new Error(`no event log at ${logPath} (readOnly open needs an existing log)`);
        throw err;
      });
    } else {
      await mkdir(dir, { recursive: true });
      lock = await acquireWriterLock(dir);
      fh = await openForWriting(dir, logPath);
    }
    const store = new EmbeddedStore(dir, logPath, fh, readOnly, lock, options);
    await store.recover();
    return store;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await lock?.release().catch(() => undefined);
    throw err;
  }
}

async function openForWriting(dir: string, logPath: string): Promise<FileHandle> {
  try {
    return await open(logPath, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fh = await open(logPath, 'wx+');
  // make the new directory entry durable too
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return fh;
}

function validateExpected(expected: ExpectedRevision): void {
  const ok =
    expected === 'any' ||
    expected === 'no_stream' ||
    expected === 'stream_exists' ||
    (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0);
  if (!ok) throw new TypeError(`invalid expectedRevision ${String(expected)}`);
}

function checkExpected(streamId: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current < 0) ||
    (expected === 'stream_exists' && current >= 0) ||
    expected === current;
  if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current < 0 ? 'no_stream' : current);
}

function startPosition(value: number | undefined): number {
  if (value === undefined) return -1;
  if (!Number.isSafeInteger(value)) throw new RangeError('fromPosition must be an integer');
  return Math.max(-1, value);
}

function nonNegativeInt(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity) return value;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

class EmbeddedStore implements EmbeddedEventStore {
  readonly recovery: RecoveryInfo = { events: 0, validBytes: 0, tailBytes: 0 };
  private readonly index = new LogIndex();
  /** end of the durable, indexed records */
  private fileEnd = 0;
  private nextPosition = 0;
  private queue: QueuedBatch[] = [];
  private flushing: Promise<void> | undefined;
  private failed: EventStoreFailedError | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private refreshing: Promise<number> | undefined;
  private readonly subscriptions = new Set<PagedSubscription>();
  private readonly reads = new Set<Promise<unknown>>();
  private seq = 0;
  /** caught-up subscriptions waiting for a change; a filtered one only for events it would deliver */
  private readonly waiters = new Set<Waiter>();
  private readonly counters: EmbeddedStats = { appends: 0, eventsWritten: 0, writes: 0, syncs: 0, ingested: 0, tailReads: 0, wakes: 0 };
  private readonly pollIntervalMs: number;
  /** recent durable bytes of the log, in file order (rememberTail) */
  private tail: CommittedBytes[] = [];
  private tailSize = 0;

  constructor(
    readonly dir: string,
    readonly logPath: string,
    private readonly fh: FileHandle,
    readonly readOnly: boolean,
    private readonly lock: WriterLock | undefined,
    private readonly options: EmbeddedEventStoreOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
  }

  // ---------------------------------------------------------------- recovery

  async recover(): Promise<void> {
    const { size } = await this.fh.stat();
    const outcome = await scanRecords(this.fh, 0, size, (rec, _buf, base) => this.applyRecord(rec, base));
    this.fileEnd = outcome.end;
    this.nextPosition = this.index.length;
    this.recovery.events = this.index.length;
    this.recovery.validBytes = outcome.end;
    this.recovery.tailBytes = size - outcome.end;
    this.recovery.tailReason = outcome.stop?.reason;
    if (this.readOnly || outcome.end === size) return;
    // A crash tears at most the last group write; a valid record further away means in-place damage.
    if (await hasValidRecordBeyond(this.fh, outcome.end + MAX_GROUP_BYTES, size)) {
      throw new CorruptLogError(this.logPath, outcome.end, `${outcome.stop?.reason ?? 'damage'} before later valid records`);
    }
    await this.fh.truncate(outcome.end);
    await this.fh.datasync();
  }

  /** Indexes a durable record; `base` is the file offset the record's payload offsets are relative to. */
  private applyRecord(rec: DecodedRecord, base: number): void {
    const stream = this.index.ensureStream(rec.streamId);
    if (rec.firstPosition !== this.index.length || rec.firstRevision !== stream.count) {
      throw new CorruptLogError(
        this.logPath,
        base + rec.events[0].payloadOffset,
        `record of ${rec.streamId} claims position ${rec.firstPosition}/revision ${rec.firstRevision}, ` +
          `expected ${this.index.length}/${stream.count}`,
      );
    }
    for (let i = 0; i < rec.events.length; i++) {
      const e = rec.events[i];
      this.index.add(stream, rec.firstRevision + i, {
        fileOffset: base + e.payloadOffset,
        payloadLength: e.payloadLength,
        typeIdx: this.index.typeId(e.type),
        created: rec.created,
      });
    }
    stream.pendingCount = stream.count;
  }

  refresh(): Promise<number> {
    if (!this.readOnly || this.closed) return Promise.resolve(0);
    this.refreshing ??= this.track(this.doRefresh()).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  ingest(committed: CommittedBytes): Promise<number> {
    if (!this.readOnly || this.closed) return Promise.resolve(0);
    if (this.refreshing) return this.refreshing.then(() => this.ingest(committed));
    const { fileOffset, bytes } = committed;
    if (fileOffset + bytes.length <= this.fileEnd) return Promise.resolve(0); // read from the file already
    const records = fileOffset === this.fileEnd ? this.inLine(decodeWholeRecords(bytes)) : null;
    if (!records) return this.refresh(); // a gap, an overlap or bytes that do not decode: the file decides
    const before = this.index.length;
    for (const rec of records) this.applyRecord(rec, fileOffset);
    this.fileEnd = fileOffset + bytes.length;
    this.nextPosition = this.index.length;
    this.rememberTail(committed);
    this.counters.ingested++;
    this.notify();
    return Promise.resolve(this.index.length - before);
  }

  /** `records` if each one continues the index exactly (position and its stream's revision), else null */
  private inLine(records: DecodedRecord[] | null): DecodedRecord[] | null {
    if (!records) return null;
    let position = this.index.length;
    const revisions = new Map<string, number>();
    for (const rec of records) {
      const revision = revisions.get(rec.streamId) ?? this.index.getStream(rec.streamId)?.count ?? 0;
      if (rec.firstPosition !== position || rec.firstRevision !== revision) return null;
      position += rec.events.length;
      revisions.set(rec.streamId, revision + rec.events.length);
    }
    return records;
  }

  private rememberTail(committed: CommittedBytes): void {
    this.tail.push(committed);
    this.tailSize += committed.bytes.length;
    while (this.tailSize > TAIL_CACHE_BYTES && this.tail.length > 1) this.tailSize -= this.tail.shift()!.bytes.length;
  }

  /** bytes [start, start + length) of the log from the tail cache, or null when they are not all in one kept write */
  private fromTail(start: number, length: number): Buffer | null {
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const t = this.tail[i];
      if (start < t.fileOffset) continue;
      const rel = start - t.fileOffset;
      return rel + length <= t.bytes.length ? t.bytes.subarray(rel, rel + length) : null;
    }
    return null;
  }

  private async doRefresh(): Promise<number> {
    const before = this.index.length;
    const { size } = await this.fh.stat();
    if (size <= this.fileEnd) return 0;
    const outcome = await scanRecords(this.fh, this.fileEnd, size, (rec, _buf, base) => this.applyRecord(rec, base));
    this.fileEnd = outcome.end;
    this.nextPosition = this.index.length;
    const added = this.index.length - before;
    if (added > 0) this.notify();
    return added;
  }

  // ---------------------------------------------------------------- appends

  async appendToStream(
    streamId: string,
    events: NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    this.assertWritable();
    if (typeof streamId !== 'string' || streamId.length === 0) throw new TypeError('streamId must be a non-empty string');
    if (!Array.isArray(events)) throw new TypeError('events must be an array');
    const expected = options?.expectedRevision ?? 'any';
    validateExpected(expected);
    // Serialise before touching any state, so bad input cannot leave a hole in positions.
    const encoded = events.map(encodeEvent);

    const existing = this.index.getStream(streamId);
    const current = (existing?.pendingCount ?? 0) - 1;
    checkExpected(streamId, expected, current);
    if (encoded.length === 0) return { nextExpectedRevision: current, position: this.nextPosition - 1 };

    const created = Date.now();
    const firstPosition = this.nextPosition;
    const { bytes, payloadOffsets } = encodeRecord(
      { streamId, firstPosition, firstRevision: current + 1, created },
      encoded,
    );
    const stream = existing ?? this.index.ensureStream(streamId);
    stream.pendingCount += encoded.length;
    this.nextPosition += encoded.length;
    const part: QueuedPart = {
      stream,
      payloadOffsets,
      payloadLengths: encoded.map((e) => e.jsonBytes),
      typeIdx: encoded.map((e) => this.index.typeId(e.type)),
      firstRevision: current + 1,
    };
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ bytes, parts: [part], created, single: true, resolve: resolve as QueuedBatch['resolve'], reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /**
   * Atomic append to several distinct streams (EventStore.appendToStreams): every expectation is
   * checked before anything is queued, and the records go into one write as one atomic run
   * (format.ts: CONTINUES), so after a crash either all of them are in the log or none is.
   */
  async appendToStreams(appends: StreamAppend[]): Promise<AppendResult[]> {
    this.assertWritable();
    if (!Array.isArray(appends) || appends.length === 0) throw new TypeError('appends must be a non-empty array');
    const seen = new Set<string>();
    for (const a of appends) {
      if (!a || typeof a.streamId !== 'string' || a.streamId.length === 0) throw new TypeError('streamId must be a non-empty string');
      if (!Array.isArray(a.events)) throw new TypeError('events must be an array');
      if (seen.has(a.streamId)) throw new TypeError(`stream ${a.streamId} appears twice in one atomic append`);
      seen.add(a.streamId);
      validateExpected(a.expectedRevision ?? 'any');
    }
    const encoded = appends.map((a) => a.events.map(encodeEvent));
    const currents = appends.map((a) => (this.index.getStream(a.streamId)?.pendingCount ?? 0) - 1);
    appends.forEach((a, i) => checkExpected(a.streamId, a.expectedRevision ?? 'any', currents[i]));
    const written = appends.map((_, i) => i).filter((i) => encoded[i].length > 0);
    if (written.length === 0) return currents.map((c) => ({ nextExpectedRevision: c, position: this.nextPosition - 1 }));

    const created = Date.now();
    const results: AppendResult[] = currents.map((c) => ({ nextExpectedRevision: c, position: -1 }));
    let position = this.nextPosition;
    const records = written.map((i, k) => {
      const rec = encodeRecord(
        { streamId: appends[i].streamId, firstPosition: position, firstRevision: currents[i] + 1, created, continues: k < written.length - 1 },
        encoded[i],
      );
      position += encoded[i].length;
      results[i] = { nextExpectedRevision: currents[i] + encoded[i].length, position: position - 1 };
      return rec;
    });
    const bytes = records.reduce((n, r) => n + r.bytes.length, 0);
    // recovery tells a torn tail from damage by the size of one group write (MAX_GROUP_BYTES)
    if (bytes > MAX_GROUP_BYTES) throw new RangeError(`atomic append of ${bytes} bytes exceeds ${MAX_GROUP_BYTES}`);
    let offset = 0;
    const parts = written.map((i, k): QueuedPart => {
      const stream = this.index.getStream(appends[i].streamId) ?? this.index.ensureStream(appends[i].streamId);
      stream.pendingCount += encoded[i].length;
      const part = {
        stream,
        payloadOffsets: records[k].payloadOffsets.map((o) => o + offset),
        payloadLengths: encoded[i].map((e) => e.jsonBytes),
        typeIdx: encoded[i].map((e) => this.index.typeId(e.type)),
        firstRevision: currents[i] + 1,
      };
      offset += records[k].bytes.length;
      return part;
    });
    this.nextPosition = position;
    await new Promise<AppendResult[]>((resolve, reject) => {
      const buf = records.length === 1 ? records[0].bytes : Buffer.concat(records.map((r) => r.bytes), bytes);
      this.queue.push({ bytes: buf, parts, created, single: false, resolve: resolve as QueuedBatch['resolve'], reject });
      this.flushing ??= this.flushLoop();
    });
    return results;
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`event store ${this.dir} is open readOnly`);
    if (this.closing || this.closed) throw new Error(`event store ${this.dir} is closed`);
    if (this.failed) throw this.failed;
  }

  private async flushLoop(): Promise<void> {
    try {
      for (;;) {
        // Yield one macrotask so callers woken by the previous group can queue their next appends.
        await new Promise<void>((r) => setImmediate(r));
        if (this.queue.length === 0) return;
        await this.flushGroup(this.takeGroup());
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private dsync: FileHandle | undefined;
  private async appendHandle(): Promise<FileHandle> {
    this.dsync ??= await open(this.logPath, constants.O_WRONLY | constants.O_DSYNC);
    return this.dsync;
  }

  private takeGroup(): QueuedBatch[] {
    let bytes = this.queue[0].bytes.length;
    let n = 1;
    while (n < this.queue.length && bytes + this.queue[n].bytes.length <= MAX_GROUP_BYTES) {
      bytes += this.queue[n].bytes.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async flushGroup(group: QueuedBatch[]): Promise<void> {
    const buf = group.length === 1 ? group[0].bytes : Buffer.concat(group.map((b) => b.bytes));
    const base = this.fileEnd;
    try {
      // one durable write per group: the append handle is opened O_DSYNC, so the write returns
      // once the data (and the metadata needed to read it back) is on disk, like write + fdatasync
      // but in one trip through the thread pool
      await this.options.hooks?.beforeSync?.();
      const handle = await this.appendHandle();
      const started = performance.now();
      await writeFully(handle, buf, base);
      this.options.hooks?.afterSync?.((performance.now() - started) / 1000, buf.length);
      this.counters.writes++;
      this.counters.syncs++;
    } catch (err) {
      this.failed = new EventStoreFailedError(err);
      for (const b of [...group, ...this.queue.splice(0)]) b.reject(this.failed);
      return;
    }
    let offset = base;
    for (const b of group) {
      const results: AppendResult[] = [];
      for (const p of b.parts) {
        let position = -1;
        for (let i = 0; i < p.payloadOffsets.length; i++) {
          position = this.index.add(p.stream, p.firstRevision + i, {
            fileOffset: offset + p.payloadOffsets[i],
            payloadLength: p.payloadLengths[i],
            typeIdx: p.typeIdx[i],
            created: b.created,
          });
        }
        this.counters.eventsWritten += p.payloadOffsets.length;
        results.push({ nextExpectedRevision: p.firstRevision + p.payloadOffsets.length - 1, position });
      }
      offset += b.bytes.length;
      this.counters.appends++;
      b.resolve(b.single ? results[0] : results);
    }
    this.fileEnd = offset;
    this.notify();
    this.options.hooks?.afterCommit?.(this.index.length - 1, { fileOffset: base, bytes: buf });
  }

  // ---------------------------------------------------------------- reads

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const stream = this.index.getStream(streamId);
    const maxCount = nonNegativeInt(options.maxCount, 'maxCount', Infinity);
    if (!stream || stream.count === 0 || maxCount === 0) return [];
    const last = stream.count - 1;
    if (options.direction === 'backwards') {
      const from = Math.min(nonNegativeInt(options.fromRevision, 'fromRevision', last), last);
      const to = Math.max(0, from - maxCount + 1);
      return (await this.load(stream.slice(to, from + 1))).reverse();
    }
    const from = nonNegativeInt(options.fromRevision, 'fromRevision', 0);
    if (from > last) return [];
    return this.load(stream.slice(from, Math.min(stream.count, from + maxCount)));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const maxCount = nonNegativeInt(options.maxCount, 'maxCount', Infinity);
    const { positions } = this.index.scan(startPosition(options.fromPosition), maxCount, options.filter);
    return this.load(positions);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.index.length - 1;
  }

  async currentRevision(streamId: string): Promise<number> {
    return this.currentRevisionNow(streamId);
  }

  currentRevisionNow(streamId: string): number {
    this.assertOpen();
    const stream = this.index.getStream(streamId);
    return stream ? stream.count - 1 : -1;
  }

  stats(): EmbeddedStats {
    return { ...this.counters };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`event store ${this.dir} is closed`);
  }

  /** Loads events by ascending positions, reading adjacent payloads in shared chunks. */
  private load(positions: number[]): Promise<RecordedEvent[]> {
    return this.track(this.loadChunks(positions));
  }

  private async loadChunks(positions: number[]): Promise<RecordedEvent[]> {
    const { index } = this;
    let fileReads = 0;
    const out: RecordedEvent[] = new Array(positions.length);
    let i = 0;
    while (i < positions.length) {
      // extend the chunk while the next payload is close and the chunk stays small
      const start = index.fileOffset[positions[i]];
      let j = i + 1;
      let end = start + index.payloadLength[positions[i]];
      while (j < positions.length) {
        const off = index.fileOffset[positions[j]];
        const next = off + index.payloadLength[positions[j]];
        if (off < end || off - end > 64 * 1024 || next - start > READ_CHUNK) break;
        end = next;
        j++;
      }
      let buf = this.fromTail(start, end - start);
      if (buf) this.counters.tailReads++;
      else {
        buf = await readRange(this.fh, start, end - start);
        fileReads++;
      }
      if (buf.length !== end - start) throw new Error(`event log ${this.logPath} is shorter than its index`);
      for (let k = i; k < j; k++) {
        const p = positions[k];
        const rel = index.fileOffset[p] - start;
        const { eventId, data, metadata } = parsePayload(buf, rel, rel + index.payloadLength[p]);
        out[k] = {
          eventId,
          streamId: index.streamList[index.streamIdx[p]].name,
          revision: index.revision[p],
          position: p,
          type: index.typeNames[index.typeIdx[p]],
          data,
          metadata,
          created: index.created[p],
        };
      }
      i = j;
    }
    // served from memory only: still let timers, I/O and messages run before the caller goes on
    // (a subscription catching up, or a retry loop, would otherwise run on microtasks alone)
    if (fileReads === 0 && positions.length > 0) await new Promise<void>((r) => setImmediate(r));
    return out;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.reads.add(p);
    void p.then(
      () => this.reads.delete(p),
      () => this.reads.delete(p),
    );
    return p;
  }

  // ---------------------------------------------------------------- subscriptions

  subscribeToAll(options: SubscribeOptions, handler: EventHandler): Subscription {
    this.assertOpen();
    const filter = options.filter;
    let scanned = -1;
    const sub = new PagedSubscription(
      {
        fetch: async (after): Promise<Page> => {
          const seq = this.seq;
          const { positions, scannedTo } = this.index.scan(after, SUBSCRIPTION_PAGE, filter, SUBSCRIPTION_SCAN_LIMIT);
          const caughtUp = scannedTo >= this.index.length - 1;
          scanned = scannedTo;
          return { events: positions.length ? await this.load(positions) : [], scannedTo, caughtUp, seq };
        },
        // a filtered subscription sleeps through commits that hold nothing for it
        wait: (seq, signal) => this.waitForChange(seq, signal, !isEmptyFilter(filter) ? { filter, scannedTo: scanned } : undefined),
      },
      handler,
      startPosition(options.fromPosition),
    );
    this.subscriptions.add(sub);
    void sub.done.then(
      () => this.subscriptions.delete(sub),
      () => this.subscriptions.delete(sub),
    );
    return sub;
  }

  private notify(): void {
    this.seq++;
    for (const w of this.waiters) {
      if (w.filter) {
        const { positions, scannedTo } = this.index.scan(w.scannedTo, 1, w.filter);
        if (positions.length === 0) {
          w.scannedTo = scannedTo;
          continue;
        }
      }
      this.waiters.delete(w);
      this.counters.wakes++;
      w.wake();
    }
  }

  private async waitForChange(seq: number, signal: AbortSignal, watch?: { filter: EventFilter | undefined; scannedTo: number }): Promise<void> {
    if (this.seq !== seq || signal.aborted || this.closed) return;
    const timedOut = await new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (polled: boolean) => {
        this.waiters.delete(waiter);
        signal.removeEventListener('abort', wake);
        if (timer) clearTimeout(timer);
        resolve(polled);
      };
      const wake = () => finish(false);
      const waiter: Waiter = { wake, filter: watch?.filter, scannedTo: watch?.scannedTo ?? -1 };
      this.waiters.add(waiter);
      signal.addEventListener('abort', wake);
      // readOnly: nobody in this process writes, so poll the file
      if (this.readOnly) timer = setTimeout(() => finish(true), this.pollIntervalMs);
    });
    if (timedOut && !signal.aborted) await this.refresh();
  }

  // ---------------------------------------------------------------- close

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    while (this.flushing) await this.flushing;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await Promise.allSettled([...this.reads]);
    this.closed = true;
    this.notify();
    await this.dsync?.close();
    await this.fh.close();
    await this.lock?.release();
  }
}
