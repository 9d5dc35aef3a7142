/**
 * Read-model snapshots of the embedded stack (the in-memory read store in the projector's thread):
 * the newest valid one is loaded before the projector starts (it then catches up from the
 * snapshot's checkpoint), and a new one is written in the background every `everyEvents` events or
 * `everyMs`, whichever comes first, at a clean stop, after a rebuild, and on request. Writes take
 * turns; one that would hold the same checkpoint as the last is skipped. See
 * libs/read-store-memory/src/snapshot.ts for the file and its guarantees.
 */
import { CHECKPOINTS_COLLECTION } from '@muster/read-store';
import { loadNewestSnapshot, writeSnapshot, type MemoryReadStore, type SnapshotLoad, type SnapshotWritten } from '@muster/read-store-memory';
import { PROJECTION, READ_MODEL_VERSION } from '@muster/read-models';

export interface SnapshotSettings { dir: string; everyEvents: number; everyMs: number; paceMs?: number }

/**
 * Loaded after the start, in the background (reads of it wait until it is in): the largest, and not
 * needed to answer IdPs. Its entries are only ever added, so a snapshot reads it while writing
 * instead of capturing it whole.
 */
export const LOADED_LATER = ['provisioning_log'];

export interface SnapshotStatus {
  loaded: { position: number; docs: number; bytes: number; ms: number } | null;
  /** the collections loaded after the start: under way, or how many documents and how long */
  loadedLater: { pending: boolean; docs: number; ms: number } | null;
  skipped: string[];
  last: (Omit<SnapshotWritten, 'file'> & { at: string; reason: string }) | null;
  failures: number;
  lastError: string | null;
}

export class ReadModelSnapshots {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private lastPosition = -1;
  private lastAt = Date.now();
  readonly status: SnapshotStatus = { loaded: null, loadedLater: null, skipped: [], last: null, failures: 0, lastError: null };
  /** settles when the collections loaded later are in (no snapshot may be written before: it would miss them) */
  private complete: Promise<void> = Promise.resolve();
  private rest: (() => Promise<number>) | null = null;

  constructor(
    private readonly readStore: MemoryReadStore,
    private readonly settings: SnapshotSettings,
    private readonly position: () => number,
    private readonly log: (line: string) => void,
  ) {}

  /** the newest valid snapshot into the (empty) store; one line for each one passed over */
  async load(): Promise<SnapshotLoad> {
    const res = await loadNewestSnapshot(this.readStore, { dir: this.settings.dir, version: READ_MODEL_VERSION, later: LOADED_LATER });
    this.status.skipped = res.skipped;
    for (const s of res.skipped) this.log(`read-model snapshot not loaded, the read models are built from the log instead: ${s}`);
    if (res.loaded) {
      this.status.loaded = { position: res.position, docs: res.docs, bytes: res.bytes, ms: Math.round(res.ms) };
      this.lastPosition = res.position;
      this.rest = res.rest;
    }
    return res;
  }

  /** loads what load() left for later, in the background */
  loadRest(): Promise<void> {
    const rest = this.rest;
    this.rest = null;
    if (!rest) return this.complete;
    const t0 = performance.now();
    this.status.loadedLater = { pending: true, docs: 0, ms: 0 };
    this.complete = rest().then(
      (docs) => { this.status.loadedLater = { pending: false, docs, ms: Math.round(performance.now() - t0) }; },
      (err: unknown) => {
        // the snapshot's later part did not load: this process's read models lack it until a rebuild
        this.status.lastError = `the snapshot's ${LOADED_LATER.join(', ')} did not load: ${(err as Error).message}`;
        this.log(this.status.lastError);
      },
    );
    return this.complete;
  }

  /** background snapshots from now on */
  start(): void {
    this.lastAt = Date.now();
    this.timer = setInterval(() => {
      const p = this.position();
      if (p > this.lastPosition && (p - this.lastPosition >= this.settings.everyEvents || Date.now() - this.lastAt >= this.settings.everyMs)) void this.write('schedule').catch(() => {});
    }, Math.min(5_000, this.settings.everyMs));
    this.timer.unref?.();
  }

  /** writes one now (after any under way); null when the read models have not moved since the last */
  write(reason: string): Promise<SnapshotWritten | null> {
    const run = this.chain.then(() => this.complete).then(async () => {
      if (this.position() <= this.lastPosition && reason !== 'rebuild' && reason !== 'request') return null;
      try {
        const w = await writeSnapshot(this.readStore, {
          dir: this.settings.dir, version: READ_MODEL_VERSION, appendOnly: LOADED_LATER, paceMs: this.settings.paceMs,
          position: (docsOf) => Number(docsOf(CHECKPOINTS_COLLECTION).find((d) => d._id === PROJECTION)?.position ?? -1),
        });
        this.lastPosition = w.position;
        this.lastAt = Date.now();
        const { file: _f, ...figures } = w;
        this.status.last = { ...figures, ms: Math.round(w.ms), captureMs: Math.round(w.captureMs * 10) / 10, at: new Date().toISOString(), reason };
        return w;
      } catch (err) {
        this.status.failures++;
        this.status.lastError = (err as Error).message;
        this.log(`read-model snapshot not written: ${(err as Error).message}`);
        throw err;
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** stops the background writes; a final snapshot when the read models moved since the last */
  async stop(final: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (final) await this.write('stop').catch(() => {});
    await this.chain;
  }
}
