/**
 * Real crash test: a child process appends under concurrent load and prints every acknowledged
 * event; we kill -9 it at different moments, reopen the log and check that every acknowledged event
 * is there, intact and in order, and that the store keeps accepting appends.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedEventStore } from './embedded.ts';
import { padFor } from './testing/crash-payload.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = resolve(here, '../../..');
const childScript = join(here, 'testing', 'crash-writer.ts');

interface Ack {
  stream: string;
  revision: number;
  eventId: string;
}

interface KillPlan {
  label: string;
  padBytes: number;
  workers: number;
  /** kill once this many events were acknowledged ... */
  afterAcks: number;
  /** ... plus this many ms */
  extraDelayMs: number;
}

/** Runs the writer until the plan says kill -9; returns the events it acknowledged. */
function runAndKill(dir: string, plan: KillPlan): Promise<Ack[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, String(plan.padBytes), String(plan.workers)], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let pending = '';
    let stderr = '';
    let killScheduled = false;
    const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const scheduleKill = () => {
      if (killScheduled) return;
      killScheduled = true;
      setTimeout(() => child.kill('SIGKILL'), plan.extraDelayMs);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [tag, stream, revision, eventId] = line.split(' ');
        if (tag === 'ACK') acks.push({ stream, revision: Number(revision), eventId });
      }
      if (acks.length >= plan.afterAcks) scheduleKill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // 'exit' after SIGKILL also means the pid is reaped, so the lock file looks stale.
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (signal !== 'SIGKILL' || !killScheduled) {
        reject(new Error(`writer ended on its own (code ${code}, signal ${signal}): ${stderr}`));
        return;
      }
      resolvePromise(acks);
    });
  });
}

async function verify(dir: string, acks: Ack[]): Promise<number> {
  const store = await openEmbeddedEventStore({ dir });
  try {
    const all = await store.readAll();
    // dense positions, contiguous per-stream revisions, in log order
    expect(all.map((e) => e.position)).toEqual(all.map((_, i) => i));
    const nextRevision = new Map<string, number>();
    for (const e of all) {
      expect(e.revision).toBe(nextRevision.get(e.streamId) ?? 0);
      nextRevision.set(e.streamId, e.revision + 1);
      // payload intact
      expect(e.data.eventId).toBe(e.eventId);
      expect(e.data.pad).toBe(padFor(e.eventId, e.data.padLength as number));
    }
    const byStream = new Map<string, string[]>();
    for (const e of all) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.eventId]);
    const missing = acks.filter((a) => byStream.get(a.stream)?.[a.revision] !== a.eventId);
    expect(missing, `${missing.length} acknowledged events lost or moved`).toEqual([]);

    // and the store still takes appends
    const probe = randomUUID();
    const r = await store.appendToStream('crash-probe', [
      { eventId: probe, type: 'Probe', data: { eventId: probe, padLength: 0, pad: '' }, metadata: {} },
    ]);
    expect(r.position).toBe(all.length);
    return all.length + 1;
  } finally {
    await store.close();
  }
}

describe('embedded event store under kill -9', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('keeps every acknowledged event across repeated crashes at different moments', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-es-crash-'));
    dirs.push(dir);
    const plans: KillPlan[] = [
      { label: 'right after the first ack', padBytes: 16, workers: 32, afterAcks: 1, extraDelayMs: 0 },
      { label: 'mid-load, small events', padBytes: 64, workers: 64, afterAcks: 400, extraDelayMs: 3 },
      { label: 'mid-load, 48 KiB events (long writes)', padBytes: 48 * 1024, workers: 16, afterAcks: 60, extraDelayMs: 7 },
      { label: 'later, after a longer run', padBytes: 200, workers: 64, afterAcks: 1500, extraDelayMs: 41 },
    ];
    const allAcks: Ack[] = [];
    let total = 0;
    for (const plan of plans) {
      const acks = await runAndKill(dir, plan);
      expect(acks.length, `acks in round "${plan.label}"`).toBeGreaterThanOrEqual(plan.afterAcks);
      allAcks.push(...acks);
      const count = await verify(dir, allAcks);
      expect(count, `events after round "${plan.label}"`).toBeGreaterThan(total + acks.length);
      total = count;
    }
  });
});
