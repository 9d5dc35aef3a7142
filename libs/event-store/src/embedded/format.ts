/**
 * On-disk record format of the embedded event log.
 *
 * The log is a sequence of records; one record is one append batch (one stream, >= 1 event).
 * An atomic append to several streams (appendToStreams) is a run of adjacent records, one per
 * stream, every one but the last flagged CONTINUES: a run counts only once its last record is
 * valid, so a crash that tears it drops all of it. All integers little-endian.
 *
 *   header (12 bytes)   u32 magic "MUST" | u32 bodyLength | u32 crc32(body)
 *   body                u8 version | u8 flags | u16 streamIdLength | u32 eventCount
 *                       f64 firstPosition | f64 firstRevision | f64 created (ms since epoch)
 *                       streamId (utf8)
 *                       eventCount x ( u16 typeLength | u32 payloadLength | type (utf8) | payload )
 *   payload             utf8 JSON array [eventId, data, metadata]
 *
 * A record is valid when its magic matches, its whole body is present and the crc matches; the
 * first record that is not valid ends the log (a torn tail after a crash, or a record still being
 * written when another process reads the file), and so does a run of CONTINUES records that it
 * interrupts.
 *
 * flags: bit 0 CONTINUES (the next record belongs to the same atomic append); other bits are 0.
 */
import type { NewEvent } from '../port.ts';
import { crc32 } from '../crc32.ts';

export const RECORD_MAGIC = 0x5453554d; // "MUST" read as little-endian u32
export const HEADER_BYTES = 12;
export const FIXED_BODY_BYTES = 32;
export const EVENT_HEADER_BYTES = 6;
export const FORMAT_VERSION = 1;
/** flags bit: the next record belongs to the same atomic multi-stream append */
export const FLAG_CONTINUES = 0x01;
/** Upper bound of one record; larger lengths in a header are treated as damage. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/**
 * Upper bound of one group-commit write that holds more than one record. Recovery relies on it: a
 * crash can only tear the last write, so a valid record further than this past a damaged one means
 * the damage is in the middle of the log, not a torn tail.
 */
export const MAX_GROUP_BYTES = 8 * 1024 * 1024;

export interface RecordHeader {
  streamId: string;
  firstPosition: number;
  firstRevision: number;
  created: number;
  /** the next record belongs to the same atomic append (FLAG_CONTINUES) */
  continues?: boolean;
}

/** An event serialised for the log, before it is placed into a record. */
export interface EncodedEvent {
  type: string;
  typeBytes: number;
  json: string;
  jsonBytes: number;
}

export interface DecodedEventRef {
  type: string;
  /** offset of the JSON payload inside the buffer passed to decodeRecordAt */
  payloadOffset: number;
  payloadLength: number;
}

export interface DecodedRecord extends RecordHeader {
  events: DecodedEventRef[];
  /** total bytes of the record, header included */
  size: number;
}

export type DecodeResult =
  | { kind: 'ok'; record: DecodedRecord }
  | { kind: 'incomplete'; needBytes: number }
  | { kind: 'invalid'; reason: string };

export function encodeEvent(event: NewEvent): EncodedEvent {
  if (!event || typeof event !== 'object') throw new TypeError('event must be an object');
  if (typeof event.eventId !== 'string' || event.eventId.length === 0) {
    throw new TypeError('event.eventId must be a non-empty string');
  }
  if (typeof event.type !== 'string' || event.type.length === 0) {
    throw new TypeError('event.type must be a non-empty string');
  }
  if (typeof event.data !== 'object' || event.data === null) throw new TypeError('event.data must be an object');
  const metadata = event.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null) throw new TypeError('event.metadata must be an object');
  const typeBytes = Buffer.byteLength(event.type, 'utf8');
  if (typeBytes > 0xffff) throw new TypeError('event.type is longer than 65535 bytes');
  const json = JSON.stringify([event.eventId, event.data, metadata]);
  return { type: event.type, typeBytes, json, jsonBytes: Buffer.byteLength(json, 'utf8') };
}

export interface EncodedRecord {
  bytes: Buffer;
  /** offsets of each event's JSON payload, relative to the start of the record */
  payloadOffsets: number[];
}

export function encodeRecord(header: RecordHeader, events: EncodedEvent[]): EncodedRecord {
  if (events.length === 0) throw new RangeError('a record holds at least one event');
  const streamBytes = Buffer.byteLength(header.streamId, 'utf8');
  if (streamBytes === 0 || streamBytes > 0xffff) throw new TypeError('stream id must be 1..65535 bytes');
  let bodyLength = FIXED_BODY_BYTES + streamBytes;
  for (const e of events) bodyLength += EVENT_HEADER_BYTES + e.typeBytes + e.jsonBytes;
  if (HEADER_BYTES + bodyLength > MAX_RECORD_BYTES) {
    throw new RangeError(`append batch of ${HEADER_BYTES + bodyLength} bytes exceeds ${MAX_RECORD_BYTES}`);
  }
  const buf = Buffer.allocUnsafe(HEADER_BYTES + bodyLength);
  const b = HEADER_BYTES;
  buf.writeUInt8(FORMAT_VERSION, b);
  buf.writeUInt8(header.continues ? FLAG_CONTINUES : 0, b + 1);
  buf.writeUInt16LE(streamBytes, b + 2);
  buf.writeUInt32LE(events.length, b + 4);
  buf.writeDoubleLE(header.firstPosition, b + 8);
  buf.writeDoubleLE(header.firstRevision, b + 16);
  buf.writeDoubleLE(header.created, b + 24);
  let at = b + FIXED_BODY_BYTES;
  at += buf.write(header.streamId, at, 'utf8');
  const payloadOffsets: number[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    buf.writeUInt16LE(e.typeBytes, at);
    buf.writeUInt32LE(e.jsonBytes, at + 2);
    at += EVENT_HEADER_BYTES;
    at += buf.write(e.type, at, 'utf8');
    payloadOffsets[i] = at;
    at += buf.write(e.json, at, 'utf8');
  }
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt32LE(bodyLength, 4);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 8);
  return { bytes: buf, payloadOffsets };
}

/** Decodes the record starting at `offset` of `buf` (which may end before the record does). */
export function decodeRecordAt(buf: Buffer, offset: number): DecodeResult {
  const available = buf.length - offset;
  if (available < HEADER_BYTES) return { kind: 'incomplete', needBytes: HEADER_BYTES };
  if (buf.readUInt32LE(offset) !== RECORD_MAGIC) return { kind: 'invalid', reason: 'bad magic' };
  const bodyLength = buf.readUInt32LE(offset + 4);
  if (bodyLength < FIXED_BODY_BYTES || HEADER_BYTES + bodyLength > MAX_RECORD_BYTES) {
    return { kind: 'invalid', reason: `implausible record length ${bodyLength}` };
  }
  const size = HEADER_BYTES + bodyLength;
  if (available < size) return { kind: 'incomplete', needBytes: size };
  const b = offset + HEADER_BYTES;
  const end = offset + size;
  if (crc32(buf.subarray(b, end)) !== buf.readUInt32LE(offset + 8)) return { kind: 'invalid', reason: 'crc mismatch' };

  // The crc matched, so from here on any inconsistency is not a torn write.
  const version = buf.readUInt8(b);
  if (version !== FORMAT_VERSION) return { kind: 'invalid', reason: `unknown record version ${version}` };
  const flags = buf.readUInt8(b + 1);
  if ((flags & ~FLAG_CONTINUES) !== 0) return { kind: 'invalid', reason: `unknown record flags ${flags}` };
  const streamBytes = buf.readUInt16LE(b + 2);
  const count = buf.readUInt32LE(b + 4);
  let at = b + FIXED_BODY_BYTES;
  if (at + streamBytes > end || count === 0) return { kind: 'invalid', reason: 'malformed record body' };
  const streamId = buf.toString('utf8', at, at + streamBytes);
  at += streamBytes;
  const events: DecodedEventRef[] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (at + EVENT_HEADER_BYTES > end) return { kind: 'invalid', reason: 'malformed record body' };
    const typeBytes = buf.readUInt16LE(at);
    const payloadLength = buf.readUInt32LE(at + 2);
    at += EVENT_HEADER_BYTES;
    if (at + typeBytes + payloadLength > end) return { kind: 'invalid', reason: 'malformed record body' };
    const type = buf.toString('utf8', at, at + typeBytes);
    at += typeBytes;
    events[i] = { type, payloadOffset: at, payloadLength };
    at += payloadLength;
  }
  if (at !== end) return { kind: 'invalid', reason: 'malformed record body' };
  return {
    kind: 'ok',
    record: {
      streamId,
      firstPosition: buf.readDoubleLE(b + 8),
      firstRevision: buf.readDoubleLE(b + 16),
      created: buf.readDoubleLE(b + 24),
      ...(flags & FLAG_CONTINUES ? { continues: true } : {}),
      events,
      size,
    },
  };
}

export interface EventPayload {
  eventId: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export function parsePayload(buf: Buffer, start: number, end: number): EventPayload {
  const [eventId, data, metadata] = JSON.parse(buf.toString('utf8', start, end)) as [
    string,
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  return { eventId, data, metadata };
}

/** A fully decoded record, for tools and tests that rewrite or inspect a log file. */
export interface LogRecord extends RecordHeader {
  events: NewEvent[];
}

/**
 * Decodes every valid record of a log image; stops at the first invalid or incomplete one, and
 * leaves out an atomic run (CONTINUES records) that it interrupts.
 */
export function decodeLog(buf: Buffer): { records: LogRecord[]; validBytes: number } {
  const records: LogRecord[] = [];
  let offset = 0;
  /** records of the run not yet ended, and the offset it started at */
  let run: LogRecord[] = [];
  let runStart = 0;
  for (;;) {
    const r = decodeRecordAt(buf, offset);
    if (r.kind !== 'ok') break;
    const { record } = r;
    if (run.length === 0) runStart = offset;
    run.push({
      streamId: record.streamId,
      firstPosition: record.firstPosition,
      firstRevision: record.firstRevision,
      created: record.created,
      ...(record.continues ? { continues: true } : {}),
      events: record.events.map((e) => {
        const p = parsePayload(buf, e.payloadOffset, e.payloadOffset + e.payloadLength);
        return { eventId: p.eventId, type: e.type, data: p.data, metadata: p.metadata };
      }),
    });
    offset += record.size;
    if (!record.continues) {
      records.push(...run);
      run = [];
    }
  }
  return { records, validBytes: run.length ? runStart : offset };
}

/** Encodes records back into a log image (with fresh crcs). */
export function encodeLog(records: LogRecord[]): Buffer {
  return Buffer.concat(records.map((r) => encodeRecord(r, r.events.map(encodeEvent)).bytes));
}
