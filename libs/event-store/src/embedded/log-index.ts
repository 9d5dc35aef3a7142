/**
 * In-memory index of the embedded log: one column entry per global position (positions are dense,
 * 0..n-1) plus a per-stream list of positions. Event bodies stay on disk; the index costs about
 * 40 bytes per event plus roughly 150 bytes per stream.
 */
import type { EventFilter } from '../port.ts';

/**
 * One stream. Most streams of a roster hold a handful of events, many hold one, so the first
 * position is kept inline and an array is only allocated from the second event on.
 */
export class StreamEntry {
  /** durable events */
  count = 0;
  /** durable + queued (not yet flushed) events; used for expected-revision checks */
  pendingCount = 0;
  private first = -1;
  private all: number[] | undefined;

  constructor(
    readonly idx: number,
    readonly name: string,
  ) {}

  push(position: number): void {
    if (this.count === 0) this.first = position;
    else if (this.count === 1) this.all = [this.first, position];
    else this.all!.push(position);
    this.count++;
  }

  /** positions of revisions [from, to) */
  slice(from: number, to: number): number[] {
    if (this.all) return this.all.slice(from, to);
    return this.count === 1 && from <= 0 && to >= 1 ? [this.first] : [];
  }
}

export interface IndexedEvent {
  fileOffset: number;
  payloadLength: number;
  typeIdx: number;
  created: number;
}

export class LogIndex {
  private capacity = 0;
  fileOffset = new Float64Array(0);
  payloadLength = new Uint32Array(0);
  streamIdx = new Uint32Array(0);
  revision = new Float64Array(0);
  typeIdx = new Uint32Array(0);
  created = new Float64Array(0);
  /** number of durable events = next global position */
  length = 0;

  private readonly streams = new Map<string, StreamEntry>();
  readonly streamList: StreamEntry[] = [];
  private readonly typeIds = new Map<string, number>();
  readonly typeNames: string[] = [];

  getStream(name: string): StreamEntry | undefined {
    return this.streams.get(name);
  }

  ensureStream(name: string): StreamEntry {
    let entry = this.streams.get(name);
    if (!entry) {
      entry = new StreamEntry(this.streamList.length, name);
      this.streams.set(name, entry);
      this.streamList.push(entry);
    }
    return entry;
  }

  typeId(name: string): number {
    let id = this.typeIds.get(name);
    if (id === undefined) {
      id = this.typeNames.length;
      this.typeIds.set(name, id);
      this.typeNames.push(name);
    }
    return id;
  }

  /** Records a durable event. `stream.pendingCount` is the caller's business. */
  add(stream: StreamEntry, revision: number, ev: IndexedEvent): number {
    const position = this.length;
    if (revision !== stream.count) {
      throw new Error(`index: revision ${revision} of ${stream.name} does not follow ${stream.count - 1}`);
    }
    if (position === this.capacity) this.grow();
    this.fileOffset[position] = ev.fileOffset;
    this.payloadLength[position] = ev.payloadLength;
    this.streamIdx[position] = stream.idx;
    this.revision[position] = revision;
    this.typeIdx[position] = ev.typeIdx;
    this.created[position] = ev.created;
    stream.push(position);
    this.length = position + 1;
    return position;
  }

  private grow(): void {
    const cap = Math.max(1024, this.capacity * 2);
    const grow = <T extends Float64Array | Uint32Array>(old: T, make: (n: number) => T): T => {
      const next = make(cap);
      next.set(old);
      return next;
    };
    this.fileOffset = grow(this.fileOffset, (n) => new Float64Array(n));
    this.payloadLength = grow(this.payloadLength, (n) => new Uint32Array(n));
    this.streamIdx = grow(this.streamIdx, (n) => new Uint32Array(n));
    this.revision = grow(this.revision, (n) => new Float64Array(n));
    this.typeIdx = grow(this.typeIdx, (n) => new Uint32Array(n));
    this.created = grow(this.created, (n) => new Float64Array(n));
    this.capacity = cap;
  }

  /**
   * Positions after `after` (exclusive) that match `filter`, at most `max` of them, examining at most
   * `scanLimit` positions. `scannedTo` is the last position examined (== after when nothing was).
   */
  scan(after: number, max: number, filter: EventFilter | undefined, scanLimit = Infinity) {
    const positions: number[] = [];
    const end = Math.min(this.length, after + 1 + scanLimit);
    let p = Math.max(0, after + 1);
    const prefixes = filter?.streamPrefixes?.length ? filter.streamPrefixes : undefined;
    const types = filter?.eventTypes?.length ? new Set(filter.eventTypes) : undefined;
    if (!prefixes && !types) {
      const stop = Math.min(end, p + max);
      for (; p < stop; p++) positions.push(p);
      return { positions, scannedTo: p - 1 < after ? after : p - 1 };
    }
    // per-query caches: stream/type index -> 1 match, 2 no match. The stream cache has one slot per
    // stream in the log, so it is only worth allocating for a scan about as long as that: a live
    // subscription's scan after a commit looks at a few positions and checks their names directly.
    const streamMatch = prefixes && (end - p) * 4 >= this.streamList.length ? new Uint8Array(this.streamList.length) : undefined;
    const typeMatch = types ? new Uint8Array(this.typeNames.length) : undefined;
    for (; p < end && positions.length < max; p++) {
      if (streamMatch && prefixes) {
        const s = this.streamIdx[p];
        if (streamMatch[s] === 0) streamMatch[s] = hasPrefix(this.streamList[s].name, prefixes) ? 1 : 2;
        if (streamMatch[s] === 2) continue;
      } else if (prefixes && !hasPrefix(this.streamList[this.streamIdx[p]].name, prefixes)) continue;
      if (typeMatch && types) {
        const t = this.typeIdx[p];
        if (typeMatch[t] === 0) typeMatch[t] = types.has(this.typeNames[t]) ? 1 : 2;
        if (typeMatch[t] === 2) continue;
      }
      positions.push(p);
    }
    return { positions, scannedTo: p - 1 < after ? after : p - 1 };
  }
}

function hasPrefix(name: string, prefixes: readonly string[]): boolean {
  for (let i = 0; i < prefixes.length; i++) if (name.startsWith(prefixes[i])) return true;
  return false;
}
