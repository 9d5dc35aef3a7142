/**
 * A catch-up-then-live subscription driven by pages: fetch a page after the cursor, hand its events
 * to the handler one at a time (awaiting each call), and when caught up wait for a change signal.
 */
import type { EventHandler, RecordedEvent, Subscription } from '../port.ts';

export interface Page {
  events: RecordedEvent[];
  /** last position examined (filtered-out positions count); the next fetch starts after it */
  scannedTo: number;
  /** nothing after scannedTo was durable when the page was taken */
  caughtUp: boolean;
  /** change counter observed when the page was taken */
  seq: number;
}

export interface PageSource {
  fetch(after: number): Promise<Page>;
  /** resolves once the change counter differs from `seq`, or when `signal` aborts */
  wait(seq: number, signal: AbortSignal): Promise<void>;
}

export class PagedSubscription implements Subscription {
  readonly done: Promise<void>;
  private readonly abort = new AbortController();

  constructor(
    private readonly source: PageSource,
    private readonly handler: EventHandler,
    fromPosition: number,
  ) {
    this.done = this.run(fromPosition);
    // done rejects when the handler throws; never let that become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done.catch(() => undefined);
  }

  private async run(cursor: number): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      const page = await this.source.fetch(cursor);
      for (const event of page.events) {
        if (signal.aborted) return;
        await this.handler(event);
        cursor = event.position;
      }
      if (signal.aborted) return;
      cursor = Math.max(cursor, page.scannedTo);
      if (page.caughtUp) await this.source.wait(page.seq, signal);
    }
  }
}
