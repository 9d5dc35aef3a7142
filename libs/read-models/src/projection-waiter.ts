import type { ReadStore } from '@muster/read-store';
import { PROJECTION } from './collections.ts';

export interface ProjectionWaiterOptions {
  /** the projection whose checkpoint is read (default: the main read models) */
  projection?: string;
  /** how long a wait lasts when the caller names no limit (ms; default 5,000) */
  timeoutMs?: number;
  /** the longest pause between two checkpoint reads while waiting (ms; default 20) */
  maxPollMs?: number;
}

/**
 * The one way readers wait for the read models (read-your-writes): until the projection's
 * checkpoint, which the projector stores beside its read models, reaches a log position. It works
 * across threads and processes because it reads that checkpoint through the read store port.
 *
 * The last checkpoint seen is remembered, so `reached(position)` answers without I/O for a position
 * already projected, and concurrent waiters share one checkpoint read at a time.
 */
export class ProjectionWaiter {
  private seen = -1;
  private inFlight: Promise<number> | null = null;
  private readonly projection: string;
  private readonly timeoutMs: number;
  private readonly maxPollMs: number;

  constructor(private readonly readStore: ReadStore, opts: ProjectionWaiterOptions = {}) {
    this.projection = opts.projection ?? PROJECTION;
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.maxPollMs = opts.maxPollMs ?? 20;
  }

  /** the highest checkpoint seen so far (-1 before any) */
  get checkpoint(): number {
    return this.seen;
  }

  /** whether `position` is known to be projected, without reading the store */
  reached(position: number): boolean {
    return position <= this.seen;
  }

  /** the projection's checkpoint now (one read shared by concurrent callers) */
  current(): Promise<number> {
    if (!this.inFlight) {
      this.inFlight = this.readStore.getCheckpoint(this.projection).then(
        (cp) => { this.inFlight = null; if (cp !== null && cp > this.seen) this.seen = cp; return this.seen; },
        (err: unknown) => { this.inFlight = null; throw err; },
      );
    }
    return this.inFlight;
  }

  /**
   * Wait until `position` is projected: true once it is, false when `timeoutMs` passed first or
   * `signal` was aborted. A negative position (nothing written yet) is reached at once.
   */
  async waitFor(position: number, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<boolean> {
    if (this.reached(position)) return true;
    const deadline = Date.now() + timeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, this.maxPollMs)) {
      if ((await this.current()) >= position) return true;
      if (Date.now() >= deadline || signal?.aborted) return false;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
