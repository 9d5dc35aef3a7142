/**
 * Payload codec of the embedded log: MessagePack with shared record structures (msgpackr), JSON as
 * the fallback.
 *
 * Decoding JSON was most of the cost of reading the log (a rebuild spends most of its time there);
 * msgpackr's records decode the same events about 3× faster, because an object whose set of keys
 * was seen before is written as a structure id plus its values, and read back by a reader compiled
 * for that structure.
 *
 * - Shared structures (lists of keys) are defined in the log itself: a record carries the
 *   definitions that were added since the last record (see format.ts), so the table is rebuilt by
 *   reading the log in order, a torn tail takes its definitions with it, and a reader in another
 *   process learns them as it indexes new records.
 * - Only values whose JSON round trip is exact are packed (plain objects and arrays, finite
 *   numbers, well-formed strings, booleans, null, no key "__proto__", which msgpackr renames). Any
 *   other event (an undefined member, a Date, a lone surrogate, ...) is stored as JSON as before,
 *   so what a reader gets is always what JSON.parse(JSON.stringify(event)) gives.
 * - The payload's first byte tells the encodings apart: '[' for JSON, 0x93 (array of 3) for MessagePack.
 */
import { Packr } from 'msgpackr';

/** structures after which new object shapes are written inline (one message at a time) */
const MAX_SHARED_STRUCTURES = 4096;
const JSON_PAYLOAD = 0x5b; // '['
const PACKED_PAYLOAD = 0x93; // fixarray of 3

export interface StructureDefinitions {
  /** id (index in the table) of the first definition */
  from: number;
  keys: string[][];
}

/** true when JSON.parse(JSON.stringify(v)) would give back an equal value and msgpackr keeps it */
export function packable(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      return (v as string & { isWellFormed(): boolean }).isWellFormed();
    case 'number':
      return Number.isFinite(v);
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!packable(v[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) {
        if (k === '__proto__' || !packable((v as Record<string, unknown>)[k])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

export class PayloadCodec {
  /** every shared structure known here: defined in the log, or about to be by the next record */
  private readonly table: string[][] = [];
  /** how many of `table` a record already carries (written, or queued to be) */
  private defined = 0;
  private readonly packr: Packr;

  constructor() {
    this.packr = new Packr({
      useRecords: true,
      maxSharedStructures: MAX_SHARED_STRUCTURES,
      moreTypes: false,
      // msgpackr reads the table from here when it meets an id it does not know yet
      getStructures: () => this.table.map((k) => k.slice()),
      saveStructures: (structures: string[][]) => {
        for (let i = this.table.length; i < structures.length; i++) this.table.push(structures[i].slice());
        return true;
      },
    });
  }

  get structures(): number {
    return this.table.length;
  }

  /** the payload of one event: MessagePack when exact, JSON otherwise */
  encode(eventId: string, data: unknown, metadata: unknown): Buffer {
    const value = [eventId, data, metadata];
    if (packable(value)) return Buffer.from(this.packr.pack(value));
    return Buffer.from(JSON.stringify(value), 'utf8');
  }

  /** Definitions the next record must carry: those no record written or queued carries yet. */
  pendingDefinitions(): StructureDefinitions | undefined {
    if (this.defined === this.table.length) return undefined;
    return { from: this.defined, keys: this.table.slice(this.defined) };
  }

  /** `defs` are in a record that will be written, in the order records are written */
  definitionsQueued(defs: StructureDefinitions | undefined): void {
    if (defs) this.defined = defs.from + defs.keys.length;
  }

  /** learns definitions read from the log; false when they do not continue the table */
  addDefinitions(defs: StructureDefinitions): boolean {
    if (defs.from !== this.table.length || !Array.isArray(defs.keys)) return false;
    for (const k of defs.keys) {
      if (!Array.isArray(k) || !k.every((x) => typeof x === 'string')) return false;
    }
    for (const k of defs.keys) this.table.push(k.slice());
    this.defined = this.table.length;
    return true;
  }

  decode(buf: Buffer, start: number, end: number): [string, Record<string, unknown>, Record<string, unknown>] {
    const first = buf[start];
    if (first === PACKED_PAYLOAD) {
      return this.packr.unpack(buf.subarray(start, end)) as [string, Record<string, unknown>, Record<string, unknown>];
    }
    if (first !== JSON_PAYLOAD) throw new Error(`unknown payload encoding (first byte 0x${(first ?? 0).toString(16)})`);
    return JSON.parse(buf.toString('utf8', start, end));
  }
}
