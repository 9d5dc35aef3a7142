/**
 * Crash safety with a real process: `npm start`'s launcher is killed (SIGKILL) while a run writes
 * the roster; after a restart the next run takes over once the dead run's lease has run out and
 * finishes the job from the same delta state, each person created exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeGraph } from '@muster/entra-graph/testing';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { freePort } from './helpers.ts';
import { addUsers } from '../services/entra-sync/test/support.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'crash-test-admin-token-0123456789';
const USERS = 3_000;

function launch(env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', NATS_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  return { child, out: () => out };
}

async function healthy(url: string, p: { child: ChildProcess; out: () => string }) {
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    if (p.child.exitCode !== null) throw new Error(`exited early:\n${p.out()}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not healthy:\n${p.out()}`);
}

describe('a run killed with the process', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c().catch(() => {}); });

  it('is finished by the next run after a restart: every user once, no duplicate creates', async () => {
    const graph = new FakeGraph({ pageSize: 500 });
    await graph.start();
    cleanup.push(() => graph.stop());
    const ids = addUsers(graph, USERS, 'crash');
    const g = graph.addGroup('Everyone', ids);
    const dir = await mkdtemp(join(tmpdir(), 'muster-entra-crash-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dir, MUSTER_ADMIN_TOKEN: TOKEN,
      MUSTER_ENTRA_AUTHORITY_URL: graph.origin, MUSTER_GRAPH_URL: graph.origin, MUSTER_ENTRA_LEASE_MS: '2000', MUSTER_ENTRA_TICK_MS: '500',
    };
    const api = async (method: string, path: string, body?: unknown) => {
      const headers = { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      const r = await fetch(`${url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: r.status, body: (await r.json()) as any };
    };

    let p = launch(env);
    cleanup.push(async () => { p.child.kill('SIGKILL'); });
    await healthy(url, p);
    const list = await api('POST', '/lists', { name: 'Crash' });
    expect((await api('POST', `/lists/${list.body.id}/sync/entra`, { tenantId: graph.tenantId, clientId: graph.clientId, clientSecret: graph.clientSecret, groupIds: [g], schedule: null })).status).toBe(201);
    const first = await api('POST', `/lists/${list.body.id}/sync/entra/runs`);
    expect(first.status).toBe(202);
    // kill it while it writes the roster: some people created, not all
    let created = 0;
    for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      created = (await api('GET', `/lists/${list.body.id}/people?status=all&limit=1`)).body.total;
      if (created >= 200) break;
    }
    p.child.kill('SIGKILL');
    await new Promise((r) => p.child.once('exit', r));
    expect(created).toBeGreaterThanOrEqual(200);
    expect(created).toBeLessThan(USERS);

    p = launch(env);
    await healthy(url, p);
    const before = (await api('GET', `/lists/${list.body.id}/people?status=all&limit=1`)).body.total;
    expect(before).toBeLessThan(USERS);
    // the dead run holds its lease a little longer: 409 naming it, then the next run takes over
    let next = await api('POST', `/lists/${list.body.id}/sync/entra/runs`);
    for (const until = Date.now() + 20_000; next.status === 409 && Date.now() < until; next = await api('POST', `/lists/${list.body.id}/sync/entra/runs`)) {
      expect(next.body.error.details.runId).toBe(first.body.runId);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(next.status).toBe(202);
    let run: any;
    for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      run = (await api('GET', `/lists/${list.body.id}/sync/entra/runs/${next.body.runId}`)).body;
      if (run.status !== 'running') break;
    }
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'first' });
    expect(run.summary.created + run.summary.unchanged).toBe(USERS);
    expect(run.summary.created).toBe(USERS - before);
    const interrupted = (await api('GET', `/lists/${list.body.id}/sync/entra/runs/${first.body.runId}`)).body;
    expect(interrupted).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
    expect((await api('GET', `/lists/${list.body.id}/people?status=all&limit=1`)).body.total).toBe(USERS);
    // one CREATE per person over both runs
    const creates = new Set<string>();
    let count = 0;
    for (let cursor: number | null = null; ;) {
      const page = await api('GET', `/lists/${list.body.id}/provisioning-log?source=entra&operation=CREATE&limit=500${cursor !== null ? `&cursor=${cursor}` : ''}`);
      for (const i of page.body.items) { creates.add(i.resourceId); count++; }
      cursor = page.body.nextCursor;
      if (cursor === null) break;
    }
    expect(count).toBe(USERS);
    expect(creates.size).toBe(USERS);
    p.child.kill('SIGTERM');
    await new Promise((r) => p.child.once('exit', r));
  }, 240_000);
});
