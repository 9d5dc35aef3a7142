/**
 * What the HTTP benchmarks share: a server process started as `npm start` starts it, autocannon
 * runs with the server's CPU split by thread, and the figure each run gives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import type { EventStore, NewEvent } from '@muster/event-store';

export const ROOT = resolve(import.meta.dirname, '..');
export const ADMIN = 'bench-admin-token-0123456789abcdef';

export interface Figure {
  scenario: string; connections: number; rps: number; p50: number; p99: number; errors: number; non2xx: number; rssMb: number;
  /** server CPU per request by thread, and the load tool's (µs) */
  cpu?: CpuSplit;
  /** the echo ceiling measured right before this scenario, at the same concurrency */
  echoRps?: number;
  ratio?: number;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => { const s = createServer(); s.once('error', rej); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
}

export async function rssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch { return 0; }
}

export async function waitFor(url: string, child: ChildProcess, out: () => string) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${out()}`);
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not come up:\n${out()}`);
}

export function spawnNode(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; if (out.length > 20_000) out = out.slice(-10_000); });
  child.stderr!.on('data', (d) => { out += d; if (out.length > 20_000) out = out.slice(-10_000); });
  return { child, out: () => out };
}

/** CPU time (clock ticks) of each thread of process `pid`, from /proc (Linux); empty elsewhere */
export async function threadTicks(pid: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try { tids = await readdir(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(f[11]) + Number(f[12])); // utime + stime
    } catch { /* the thread ended */ }
  }
  return out;
}

/**
 * Where a run's CPU went, per request (µs): the server's main thread (HTTP, the SCIM ingress, the
 * embedded event store), its busiest other thread (on the embedded stack the projector's, which
 * holds the read store), all its other threads together (V8's GC helpers, libuv's pool) and the
 * load tool (this process).
 */
export interface CpuSplit { main: number; busiest: number; others: number; tool: number }
const cpuSplits = new WeakMap<autocannon.Result, CpuSplit>();

/** runs autocannon; with `pid`, also measures the CPU split of that server during the run */
export async function load(opts: autocannon.Options, pid?: number): Promise<autocannon.Result> {
  const before = pid ? await threadTicks(pid) : null;
  const tool0 = process.cpuUsage();
  const r = await new Promise<autocannon.Result>((res, rej) => { autocannon(opts, (err, result) => (err ? rej(err) : res(result))); });
  const tool = process.cpuUsage(tool0);
  if (pid && before && before.size > 0 && r.requests.total > 0) {
    const after = await threadTicks(pid);
    const tickUs = 1e6 / 100; // USER_HZ is 100 on Linux
    const per = (ticks: number) => Math.round((ticks * tickUs) / r.requests.total);
    const deltas = [...after].map(([tid, t]) => [tid, t - (before.get(tid) ?? 0)] as const);
    const main = deltas.find(([tid]) => tid === String(pid))?.[1] ?? 0;
    const rest = deltas.filter(([tid]) => tid !== String(pid)).map(([, d]) => d).sort((a, b) => b - a);
    const busiest = rest[0] ?? 0;
    const others = rest.slice(1).reduce((a, b) => a + b, 0);
    cpuSplits.set(r, { main: per(main), busiest: per(busiest), others: per(others), tool: Math.round((tool.user + tool.system) / r.requests.total) });
  }
  return r;
}

export function figure(scenario: string, connections: number, r: autocannon.Result, rss: number): Figure {
  return { scenario, connections, rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts, non2xx: r.non2xx, rssMb: rss, cpu: cpuSplits.get(r) };
}


/** one figure for many short runs of the same load: the worst p50 and p99, the mean rate, the summed errors */
export function worstOf(runs: Figure[]): Figure {
  return {
    ...runs[0],
    p99: Math.max(...runs.map((r) => r.p99)), p50: Math.max(...runs.map((r) => r.p50)),
    rps: Math.round(runs.reduce((a, r) => a + r.rps, 0) / runs.length),
    errors: runs.reduce((a, r) => a + r.errors, 0), non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  };
}

/** appends new streams many at a time (the store's group commit writes them together): generated logs */
export async function appendAll(store: EventStore, batches: Iterable<{ stream: string; events: NewEvent[] }>, inFlight = 4_000): Promise<void> {
  let pending: Array<Promise<unknown>> = [];
  for (const b of batches) {
    pending.push(store.appendToStream(b.stream, b.events, { expectedRevision: 'no_stream' }));
    if (pending.length >= inFlight) { await Promise.all(pending); pending = []; }
  }
  await Promise.all(pending);
}
