import { randomUUID } from 'node:crypto';
import type { EventStore } from '@muster/event-store';
import type { ReadStore } from '@muster/read-store';
import type { Projector } from './projector.ts';
import type { RebuildStatus } from '@muster/read-models';
import { rebuildProjections } from './rebuild.ts';

/** Runs at most one rebuild at a time for the projector of this process and remembers the last one. */
export class RebuildController {
  private current: RebuildStatus | null = null;
  private running: Promise<RebuildStatus> | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly deps: { store: EventStore; readStore: ReadStore; live: Projector; now?: () => Date; onDone?: (status: RebuildStatus) => void }) {}

  status(): RebuildStatus | null {
    return this.current ? { ...this.current } : null;
  }

  /** starts a rebuild unless one is running; returns its status and a promise of the final one */
  start(): { status: RebuildStatus; done: Promise<RebuildStatus>; alreadyRunning: boolean } {
    if (this.running && this.current) return { status: { ...this.current }, done: this.running, alreadyRunning: true };
    const now = this.deps.now ?? (() => new Date());
    const status: RebuildStatus = {
      id: randomUUID(), state: 'running', phase: 'projecting', startedAt: now().toISOString(), finishedAt: null,
      position: -1, head: -1, events: 0, result: null, error: null,
    };
    this.current = status;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const run = async () => {
      await this.deps.live.starting; // a start-up bulk load finishes first
      return rebuildProjections({
        store: this.deps.store, readStore: this.deps.readStore, live: this.deps.live, signal,
        onProgress: (p) => Object.assign(status, p),
      });
    };
    this.running = run().then(
      (result) => Object.assign(status, { state: 'done' as const, phase: 'done' as const, result, finishedAt: now().toISOString() }),
      (err: unknown) => Object.assign(status, { state: 'failed' as const, error: err instanceof Error ? err.message : String(err), finishedAt: now().toISOString() }),
    ).then((s) => {
      this.running = null;
      this.abort = null;
      if (s.state === 'done') this.deps.onDone?.({ ...s });
      return { ...s };
    });
    return { status: { ...status }, done: this.running, alreadyRunning: false };
  }

  /** aborts a running rebuild and waits for it to wind down */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
  }
}
