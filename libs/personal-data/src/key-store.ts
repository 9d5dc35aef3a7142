/**
 * The key store port: each subject's (a person's, an import's, a list's) data key, as the key
 * wrapper wrapped it, never in clear. Two adapters, one contract suite (key-store-contract.ts):
 *
 * - files (embedded, `npm start`): one append-only file `<data dir>/keys/data-keys.log`, a line per
 *   key (`k <subject> <wrapped>`) or erasure (`x <subject>`). New keys are written in groups, each one
 *   durable write (O_DSYNC; concurrent creates share it), and a key is durable before the event it seals is
 *   appended. Erasing rewrites the file without the erased keys (written whole, synced, renamed over
 *   the old one, the directory synced), so the key bytes are not left in the file; the tombstone
 *   stays, so a subject once erased never gets a key again. A reader in another thread or process
 *   (the projector thread, the CLI) opens the file read-only and reads what was added since on a miss.
 * - MongoDB (production): the `data_keys` collection, `{ _id: subject, wrapped }`, `wrapped: null`
 *   once erased.
 */
import { constants } from 'node:fs';
import { open, mkdir, readFile, rename, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** what the store holds for a subject: its wrapped key, `erased`, or nothing yet */
export type StoredKey = string | 'erased' | null;

export interface DataKeyStore {
  get(subject: string): Promise<StoredKey>;
  /**
   * Keeps `wrapped` as the subject's key unless it has one already (or was erased): resolves with
   * what the subject holds afterwards, once durable. Two concurrent creates agree on one key.
   */
  create(subject: string, wrapped: string): Promise<string | 'erased'>;
  /** deletes the keys (they cannot be read again), leaving the subjects marked erased */
  erase(subjects: string[]): Promise<void>;
  close(): Promise<void>;
}

const SUBJECT = /^[A-Za-z0-9_:.-]{1,200}$/;
export function checkSubject(subject: string): string {
  if (!SUBJECT.test(subject)) throw new TypeError(`a data key subject is 1-200 letters, digits or _ : . -: "${subject.slice(0, 50)}"`);
  return subject;
}

export const KEY_FILE = 'data-keys.log';

/** the embedded adapter: see the module comment */
export class FileDataKeyStore implements DataKeyStore {
  private keys = new Map<string, string | 'erased'>();
  private handle: FileHandle | null = null;
  /** bytes of the file already read (readers), and the file's identity, to notice a rewrite */
  private offset = 0;
  private ino = -1;
  private queue: Array<{ line: string; done: (err?: unknown) => void }> = [];
  private flushing: Promise<void> | null = null;
  private refreshing: Promise<void> = Promise.resolve();
  /** the writer's chain of exclusive operations (group writes, rewrites) */
  private lock: Promise<void> = Promise.resolve();

  private constructor(private readonly dir: string, private readonly readOnly: boolean) {}

  private get file() { return join(this.dir, KEY_FILE); }

  static async open(opts: { dir: string; readOnly?: boolean }): Promise<FileDataKeyStore> {
    const store = new FileDataKeyStore(opts.dir, !!opts.readOnly);
    if (!store.readOnly) {
      await mkdir(opts.dir, { recursive: true, mode: 0o700 });
      // O_DSYNC: each write returns once on disk (one system call per group, no separate fdatasync)
      store.handle = await open(store.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC, 0o600);
    }
    await store.reload();
    return store;
  }

  private parse(text: string): number {
    let used = 0;
    for (;;) {
      const nl = text.indexOf('\n', used);
      if (nl < 0) return used;
      const line = text.slice(used, nl);
      used = nl + 1;
      const [op, subject, wrapped] = line.split(' ');
      if (op === 'k' && subject && wrapped && !this.keys.has(subject)) this.keys.set(subject, wrapped);
      else if (op === 'x' && subject) this.keys.set(subject, 'erased');
    }
  }

  /** reads the whole file again (at open, and when it was rewritten) */
  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
      this.ino = (await stat(this.file)).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      text = '';
    }
    this.keys = new Map();
    this.offset = Buffer.byteLength(text.slice(0, this.parse(text)));
  }

  /** a reader's catch-up: what the writer added since, or everything after a rewrite */
  private async refresh(): Promise<void> {
    let info;
    try { info = await stat(this.file); } catch { return; }
    if (info.ino !== this.ino || info.size < this.offset) return this.reload();
    if (info.size === this.offset) return;
    const fh = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(info.size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      this.offset += Buffer.byteLength(text.slice(0, this.parse(text)));
    } finally {
      await fh.close();
    }
  }

  async get(subject: string): Promise<StoredKey> {
    const known = this.keys.get(checkSubject(subject));
    if (known !== undefined || !this.readOnly) return known ?? null;
    // one catch-up at a time (two at once would both count the same bytes); a miss waits for the next
    const run = this.refreshing.then(() => this.refresh());
    this.refreshing = run.catch(() => {});
    await run;
    return this.keys.get(subject) ?? null;
  }

  async create(subject: string, wrapped: string): Promise<string | 'erased'> {
    if (this.readOnly) throw new Error('this data key store is open read-only');
    checkSubject(subject);
    if (!/^[A-Za-z0-9._-]+$/.test(wrapped)) throw new TypeError('a wrapped key is base64url text');
    const known = this.keys.get(subject);
    if (known !== undefined) return known;
    this.keys.set(subject, wrapped);
    if (this.commitsAttached) {
      // made durable by the event log's next group write (flushBeforeCommit), before any event sealed with it
      this.pending.push(`k ${subject} ${wrapped}\n`);
      return wrapped;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        this.queue.push({ line: `k ${subject} ${wrapped}\n`, done: (err) => (err ? reject(err) : resolve()) });
        this.flushing ??= this.flush();
      });
    } catch (err) {
      if (this.keys.get(subject) === wrapped) this.keys.delete(subject);
      throw err;
    }
    return this.keys.get(subject) ?? wrapped;
  }

  private commitsAttached = false;
  private pending: string[] = [];

  /**
   * From now on new keys are written by the returned function, which the embedded event log calls
   * before each of its durable group writes (EmbeddedHooks.beforeSync): the keys an append's events
   * were sealed with are on disk before those events are, in one write per group commit instead of
   * one per new key.
   */
  attachToCommits(): () => Promise<void> {
    this.commitsAttached = true;
    return () => this.flushPending();
  }

  private async flushPending(): Promise<void> {
    if (!this.pending.length) return;
    const lines = this.pending;
    this.pending = [];
    const run = this.lock.then(() => this.handle!.write(Buffer.from(lines.join(''), 'latin1')).then(() => {}));
    this.lock = run.catch(() => {});
    try {
      await run;
    } catch (err) {
      this.pending = lines.concat(this.pending); // the group write fails with it; the next one tries again
      throw err;
    }
  }

  /** group commit: every line queued meanwhile goes in one write + fdatasync */
  private async flush(): Promise<void> {
    await Promise.resolve();
    const run = this.lock.then(async () => {
      for (;;) {
        // checked and cleared in one step: a create queued after this sees no flush and starts one
        if (!this.queue.length) { this.flushing = null; return; }
        const batch = this.queue;
        this.queue = [];
        try {
          await this.handle!.write(Buffer.from(batch.map((b) => b.line).join(''), 'latin1'));
          for (const b of batch) b.done();
        } catch (err) {
          for (const b of batch) b.done(err);
        }
      }
    });
    this.lock = run.catch(() => {});
    await run;
  }

  async erase(subjects: string[]): Promise<void> {
    if (this.readOnly) throw new Error('this data key store is open read-only');
    for (const s of subjects) checkSubject(s);
    if (!subjects.length) return;
    const run = this.lock.then(async () => {
      const before = new Map(this.keys);
      for (const s of subjects) this.keys.set(s, 'erased');
      try {
        // the whole file again, without the erased keys' bytes: written beside, synced, renamed over
        const lines: string[] = [];
        for (const [s, k] of this.keys) lines.push(k === 'erased' ? `x ${s}\n` : `k ${s} ${k}\n`);
        const tmp = `${this.file}.rewrite`;
        const out = await open(tmp, 'w', 0o600);
        try {
          await out.write(lines.join(''));
          await out.sync();
        } finally {
          await out.close();
        }
        await rename(tmp, this.file);
        const dirHandle = await open(this.dir, 'r');
        try { await dirHandle.sync(); } finally { await dirHandle.close(); }
        await this.handle!.close();
        this.handle = await open(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC, 0o600);
        this.ino = (await stat(this.file)).ino;
      } catch (err) {
        this.keys = before;
        throw err;
      }
    });
    this.lock = run.catch(() => {});
    await run;
  }

  async close(): Promise<void> {
    await this.flushPending().catch(() => {});
    await this.flushing?.catch(() => {});
    await this.lock;
    await this.handle?.close();
    this.handle = null;
  }
}

/** the part of a MongoDB collection the store uses (the driver's Collection fits) */
export interface DataKeyCollection {
  findOne(filter: { _id: string }): Promise<{ wrapped?: unknown } | null>;
  insertOne(doc: { _id: string; wrapped: string; createdAt: Date }): Promise<unknown>;
  updateOne(filter: { _id: string }, update: { $set: { wrapped: null; erasedAt: Date } }, options: { upsert: boolean }): Promise<unknown>;
}

const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000;

export class MongoDataKeyStore implements DataKeyStore {
  constructor(private readonly collection: DataKeyCollection) {}

  async get(subject: string): Promise<StoredKey> {
    const doc = await this.collection.findOne({ _id: checkSubject(subject) });
    if (!doc) return null;
    return typeof doc.wrapped === 'string' ? doc.wrapped : 'erased';
  }

  async create(subject: string, wrapped: string): Promise<string | 'erased'> {
    try {
      await this.collection.insertOne({ _id: checkSubject(subject), wrapped, createdAt: new Date() });
      return wrapped;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      return (await this.get(subject)) ?? wrapped;
    }
  }

  async erase(subjects: string[]): Promise<void> {
    for (const s of subjects) await this.collection.updateOne({ _id: checkSubject(s) }, { $set: { wrapped: null, erasedAt: new Date() } }, { upsert: true });
  }

  async close(): Promise<void> {}
}
