/**
 * Single-writer lock for an embedded store directory: a LOCK file holding the writer's pid.
 * A lock whose pid is no longer alive (the writer crashed) is taken over.
 *
 * Limits: pid reuse after a crash can make a stale lock look alive (the error message says how
 * to clear it), and two processes taking over the same stale lock at the same instant can race.
 */
import { randomUUID } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EventStoreLockedError } from './errors.ts';

const heldInThisProcess = new Set<string>();

export interface WriterLock {
  readonly path: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `dir` must be an absolute, normalised path. */
export async function acquireWriterLock(dir: string): Promise<WriterLock> {
  if (heldInThisProcess.has(dir)) throw new EventStoreLockedError(dir, process.pid);
  heldInThisProcess.add(dir); // reserve synchronously: a concurrent open in this process must fail
  try {
    const path = join(dir, 'LOCK');
    await linkLockFile(dir, path);
    return { path, release: () => release(dir, path) };
  } catch (err) {
    heldInThisProcess.delete(dir);
    throw err;
  }
}

async function linkLockFile(dir: string, path: string): Promise<void> {
  // Write the pid to a private file first and link it into place: the lock never exists empty.
  const staging = join(dir, `LOCK.${process.pid}.${randomUUID()}`);
  const fh = await open(staging, 'wx');
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(staging, path);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = await readOwner(path);
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) throw new EventStoreLockedError(dir, owner);
      // Stale: its owner is dead, or it is our own pid left by an earlier run (pid 1 in a container).
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  } finally {
    await unlink(staging).catch(() => undefined);
  }
  throw new Error(`could not acquire the writer lock ${path}`);
}

async function release(dir: string, path: string): Promise<void> {
  if (!heldInThisProcess.delete(dir)) return;
  if ((await readOwner(path)) === process.pid) await unlink(path).catch(() => undefined);
}
