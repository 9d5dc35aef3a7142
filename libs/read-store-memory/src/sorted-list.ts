/**
 * A sorted list kept as an array of bounded sorted chunks ("blocks"): O(log n) search, cheap
 * insert and remove, in-order scans in both directions and O(log n) rank (range sizes).
 *
 * Optionally each block carries a summary maintained through `BlockSummaries` hooks (the read
 * store keeps a trigram bitmap of search fields there, to skip blocks in contains-searches).
 */

export interface Pos {
  chunk: number;
  index: number;
}

/**
 * Block summaries may over-approximate a block's content (removed elements can linger), never
 * under-approximate it. A block is re-summarised from its elements when it is split and when
 * the lingering changes reach half its size.
 */
export interface BlockSummaries<E, S> {
  /** summary of exactly these elements */
  build(entries: readonly E[]): S;
  /** `e` joined the block (or changed in a way the summary must cover) */
  add(summary: S, e: E): void;
}

// small enough that inserting at the front of a block (descending keys: newest first) moves few
// elements, large enough that a scan touches few blocks
const MAX_CHUNK = 128;

export class SortedList<E, S = never> {
  private chunks: E[][] = [];
  private summaries: S[] = [];
  /** per block: removals/changes since its summary was built */
  private stale: number[] = [];
  /** cumulative sizes before each chunk; rebuilt lazily after writes */
  private offsets: number[] | null = null;
  private count = 0;

  constructor(
    private readonly cmp: (a: E, b: E) => number,
    private readonly hooks?: BlockSummaries<E, S>,
  ) {}

  get size(): number {
    return this.count;
  }

  insert(e: E): void {
    this.offsets = null;
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push([e]);
      if (this.hooks) {
        this.summaries.push(this.hooks.build([e]));
        this.stale.push(0);
      }
      return;
    }
    // first chunk whose last element is >= e (or the last chunk)
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (this.cmp(chunk[chunk.length - 1], e) < 0) lo = mid + 1;
      else hi = mid;
    }
    const chunk = this.chunks[lo];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (this.cmp(chunk[m], e) <= 0) a = m + 1;
      else b = m;
    }
    chunk.splice(a, 0, e);
    if (this.hooks) this.hooks.add(this.summaries[lo], e);
    if (chunk.length > MAX_CHUNK * 2) {
      const tail = chunk.splice(MAX_CHUNK);
      this.chunks.splice(lo + 1, 0, tail);
      if (this.hooks) {
        this.summaries[lo] = this.hooks.build(chunk);
        this.stale[lo] = 0;
        this.summaries.splice(lo + 1, 0, this.hooks.build(tail));
        this.stale.splice(lo + 1, 0, 0);
      }
    }
  }

  /**
   * Replaces the content with `sorted`, which must be in ascending `cmp` order (not checked: that
   * would cost n comparisons; see isSorted), cut into blocks of MAX_CHUNK elements with fresh
   * summaries. Building a list of n elements this way costs one sort by the caller instead of n
   * searches and array splices. The array is not kept.
   */
  load(sorted: readonly E[]): void {
    const chunks: E[][] = [];
    const summaries: S[] = [];
    const stale: number[] = [];
    for (let i = 0; i < sorted.length; i += MAX_CHUNK) {
      const chunk = sorted.slice(i, i + MAX_CHUNK);
      chunks.push(chunk);
      if (this.hooks) {
        summaries.push(this.hooks.build(chunk));
        stale.push(0);
      }
    }
    this.chunks = chunks;
    this.summaries = summaries;
    this.stale = stale;
    this.count = sorted.length;
    this.offsets = null;
  }

  /**
   * Removes an element equal (cmp === 0) to e; returns whether one was found. Block summaries
   * are left as they are (they may over-approximate the block's content, never under-approximate).
   */
  remove(e: E): boolean {
    const pos = this.find(e);
    if (!pos) return false;
    const chunk = this.chunks[pos.chunk];
    chunk.splice(pos.index, 1);
    if (chunk.length === 0) {
      this.chunks.splice(pos.chunk, 1);
      if (this.hooks) {
        this.summaries.splice(pos.chunk, 1);
        this.stale.splice(pos.chunk, 1);
      }
    } else {
      this.noteStale(pos.chunk);
    }
    this.offsets = null;
    this.count--;
    return true;
  }

  /** position of an element equal to e, or null */
  find(e: E): Pos | null {
    const pos = this.lowerBound((x) => this.cmp(x, e) < 0);
    if (pos.chunk >= this.chunks.length) return null;
    return this.cmp(this.chunks[pos.chunk][pos.index], e) === 0 ? pos : null;
  }

  /**
   * First position whose element does NOT satisfy `before`. `before` must be monotone:
   * true for a (possibly empty) prefix of the list and false afterwards.
   */
  lowerBound(before: (e: E) => boolean): Pos {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (before(chunk[chunk.length - 1])) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.chunks.length) return { chunk: lo, index: 0 };
    const chunk = this.chunks[lo];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (before(chunk[m])) a = m + 1;
      else b = m;
    }
    return { chunk: lo, index: a };
  }

  rank(pos: Pos): number {
    if (pos.chunk >= this.chunks.length) return this.count;
    if (!this.offsets) {
      const offsets = new Array<number>(this.chunks.length);
      let acc = 0;
      for (let i = 0; i < this.chunks.length; i++) {
        offsets[i] = acc;
        acc += this.chunks[i].length;
      }
      this.offsets = offsets;
    }
    return this.offsets[pos.chunk] + pos.index;
  }

  /** calls `fn` for the elements in [from, to), in order or reversed, until it returns true */
  scan(from: Pos, to: Pos, reverse: boolean, fn: (e: E) => boolean | void): void {
    this.scanBlocks(from, to, reverse, null, fn);
  }

  /**
   * Like scan, but first asks `keepBlock` about each block's summary and skips the blocks it
   * rejects. Returns the number of blocks asked and kept.
   */
  scanBlocks(
    from: Pos,
    to: Pos,
    reverse: boolean,
    keepBlock: ((summary: S) => boolean) | null,
    fn: (e: E) => boolean | void,
  ): { blocks: number; kept: number } {
    const chunks = this.chunks;
    const last = Math.min(to.chunk, chunks.length - 1);
    let blocks = 0;
    let kept = 0;
    if (!reverse) {
      for (let c = from.chunk; c <= last; c++) {
        const chunk = chunks[c];
        const begin = c === from.chunk ? from.index : 0;
        const end = c === to.chunk ? Math.min(to.index, chunk.length) : chunk.length;
        if (begin >= end) continue;
        blocks++;
        if (keepBlock && !keepBlock(this.summaries[c])) continue;
        kept++;
        for (let i = begin; i < end; i++) if (fn(chunk[i]) === true) return { blocks, kept };
      }
      return { blocks, kept };
    }
    for (let c = last; c >= from.chunk; c--) {
      const chunk = chunks[c];
      const begin = c === from.chunk ? from.index : 0;
      const end = c === to.chunk ? Math.min(to.index, chunk.length) : chunk.length;
      if (begin >= end) continue;
      blocks++;
      if (keepBlock && !keepBlock(this.summaries[c])) continue;
      kept++;
      for (let i = end - 1; i >= begin; i--) if (fn(chunk[i]) === true) return { blocks, kept };
    }
    return { blocks, kept };
  }

  /** the element equal to `e` changed in a way its block summary must cover */
  changed(e: E): void {
    if (!this.hooks) return;
    const pos = this.find(e);
    if (!pos) return;
    this.hooks.add(this.summaries[pos.chunk], e);
    this.noteStale(pos.chunk);
  }

  private noteStale(c: number): void {
    if (!this.hooks) return;
    const chunk = this.chunks[c];
    if (++this.stale[c] > Math.max(32, chunk.length >> 1)) {
      this.summaries[c] = this.hooks.build(chunk);
      this.stale[c] = 0;
    }
  }

  start(): Pos {
    return { chunk: 0, index: 0 };
  }

  end(): Pos {
    return { chunk: this.chunks.length, index: 0 };
  }

  /** are the elements in ascending `cmp` order? (tests and debugging) */
  isSorted(): boolean {
    let prev: E | undefined;
    let first = true;
    for (const chunk of this.chunks) {
      for (const e of chunk) {
        if (!first && this.cmp(prev as E, e) > 0) return false;
        prev = e;
        first = false;
      }
    }
    return true;
  }

  /** all elements in order (tests and debugging) */
  toArray(): E[] {
    return this.chunks.flat();
  }

  /** number of blocks (tests and debugging) */
  get blockCount(): number {
    return this.chunks.length;
  }
}
