/** Low-level file I/O for the embedded log: positional reads/writes and the recovery scan. */
import type { FileHandle } from 'node:fs/promises';
import { decodeRecordAt, HEADER_BYTES, MAX_RECORD_BYTES, type DecodedRecord } from './format.ts';

const SCAN_CHUNK = 4 * 1024 * 1024;

/** Reads up to `length` bytes at `position`; the result is shorter only at end of file. */
export async function readRange(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

export interface ScanOutcome {
  /** offset just past the last valid record */
  end: number;
  /** why the scan stopped before `size`, if it did */
  stop?: { kind: 'incomplete' | 'invalid'; reason: string };
}

/**
 * Visits the valid records in [from, size). `onRecord` gets each record and the file offset that
 * `buf` starts at (payload offsets in the record are relative to `buf`). The records of an atomic
 * run (format.ts: CONTINUES) are visited together once its last record is valid; a run the scan
 * cannot finish is not visited, and `end` is where it starts.
 */
export async function scanRecords(
  fh: FileHandle,
  from: number,
  size: number,
  onRecord: (record: DecodedRecord, buf: Buffer, bufFileOffset: number) => void,
): Promise<ScanOutcome> {
  let pos = from;
  let buf: Buffer = Buffer.alloc(0);
  let base = from;
  let run: Array<{ record: DecodedRecord; buf: Buffer; base: number }> = [];
  let runStart = from;
  const stopped = (kind: 'incomplete' | 'invalid', reason: string): ScanOutcome =>
    ({ end: run.length ? runStart : pos, stop: { kind, reason: run.length ? `${reason} (inside an atomic run of ${run.length + 1}+ records)` : reason } });
  while (pos < size) {
    const r = decodeRecordAt(buf, pos - base);
    if (r.kind === 'ok') {
      if (r.record.continues || run.length) {
        if (run.length === 0) runStart = pos;
        run.push({ record: r.record, buf, base });
        if (!r.record.continues) {
          for (const x of run) onRecord(x.record, x.buf, x.base);
          run = [];
        }
      } else onRecord(r.record, buf, base);
      pos += r.record.size;
      continue;
    }
    if (r.kind === 'invalid') return stopped('invalid', r.reason);
    if (pos + r.needBytes > size) return stopped('incomplete', `record needs ${r.needBytes} bytes, file ends first`);
    buf = await readRange(fh, pos, Math.min(size - pos, Math.max(SCAN_CHUNK, r.needBytes)));
    base = pos;
    if (buf.length < r.needBytes) return stopped('incomplete', 'file shrank during the scan');
  }
  if (run.length) return stopped('incomplete', 'the log ends inside an atomic run');
  return { end: pos };
}

/**
 * The records that make up `buf` exactly (payload offsets relative to `buf`), or null unless every
 * byte belongs to a valid record and no atomic run is left open: the check a reader makes before
 * taking a writer's committed bytes instead of reading them from the file.
 */
export function decodeWholeRecords(buf: Buffer): DecodedRecord[] | null {
  const out: DecodedRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = decodeRecordAt(buf, pos);
    if (r.kind !== 'ok') return null;
    out.push(r.record);
    pos += r.record.size;
  }
  return out.length > 0 && !out[out.length - 1].continues ? out : null;
}

/**
 * True when a valid record starts at or after `limit` (and before `size`): evidence that bytes
 * before it were damaged in place rather than torn by a crash.
 */
export async function hasValidRecordBeyond(fh: FileHandle, limit: number, size: number): Promise<boolean> {
  const magic = Buffer.from([0x4d, 0x55, 0x53, 0x54]); // "MUST"
  let pos = limit;
  while (pos < size) {
    const chunk = await readRange(fh, pos, Math.min(SCAN_CHUNK, size - pos));
    let i = chunk.indexOf(magic);
    while (i !== -1) {
      const at = pos + i;
      const head = await readRange(fh, at, HEADER_BYTES);
      if (head.length === HEADER_BYTES) {
        const len = HEADER_BYTES + head.readUInt32LE(4);
        if (len <= MAX_RECORD_BYTES && at + len <= size) {
          const rec = decodeRecordAt(await readRange(fh, at, Math.min(len, size - at)), 0);
          if (rec.kind === 'ok') return true;
        }
      }
      i = chunk.indexOf(magic, i + 1);
    }
    if (chunk.length < 4) break;
    pos += chunk.length - 3; // overlap so a magic split across chunks is still seen
  }
  return false;
}
