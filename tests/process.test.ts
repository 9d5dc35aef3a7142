import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { freePort } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');

interface Proc { child: ChildProcess; out: () => string; exited: Promise<number | null> }

function startProcess(env: Record<string, string>): Proc {
  // exactly what `npm start` runs, without npm in between so signals reach the service
  const child = spawn(process.execPath, [...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', MUSTER_ADMIN_TOKEN: '', NATS_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function waitHealthy(url: string, p: Proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`process exited early:\n${p.out()}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not healthy in time:\n${p.out()}`);
}

const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as any });

describe('the one-process runtime as a real process (npm start)', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('prints a generated admin token once, drains on SIGTERM, and keeps everything across a restart', async () => {
    const { url, env } = await freshPlace();

    const first = startProcess(env);
    await waitHealthy(url, first);
    const token = /\b(mat_[A-Za-z0-9_-]{40,})\b/.exec(first.out())?.[1];
    expect(token, first.out()).toBeDefined();
    const A = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const list = await json(await fetch(`${url}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'Students' }) }));
    expect(list.status).toBe(201);
    expect((await fetch(`${url}/api/v1/lists/${list.body.id}/sync/scim`, { method: 'POST', headers: A, body: JSON.stringify({ uniqueIdentifier: 'userName' }) })).status).toBe(201);
    const tok = await json(await fetch(`${url}/api/v1/lists/${list.body.id}/sync/scim/tokens`, { method: 'POST', headers: A, body: '{}' }));
    const S = { authorization: `Bearer ${tok.body.token}`, 'content-type': 'application/scim+json' };
    const user = await json(await fetch(`${tok.body.scimBaseUrl.replace('localhost', '127.0.0.1')}/Users`, {
      method: 'POST', headers: S, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'grace', name: { givenName: 'Grace', familyName: 'Hopper' } }),
    }));
    expect(user.status).toBe(201);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = startProcess(env);
    await waitHealthy(url, second);
    expect(second.out()).not.toMatch(/mat_[A-Za-z0-9_-]{40,}/); // shown once only
    const lists = await json(await fetch(`${url}/api/v1/lists`, { headers: A }));
    expect(lists.body.items.map((l: { name: string }) => l.name)).toEqual(['Students']);
    const people = await json(await fetch(`${url}/api/v1/lists/${list.body.id}/people`, { headers: A }));
    expect(people.body.items).toHaveLength(1);
    expect(people.body.items[0].fields).toMatchObject({ firstName: 'Grace', lastName: 'Hopper' });
    const again = await fetch(`${tok.body.scimBaseUrl.replace('localhost', '127.0.0.1')}/Users/${user.body.id}`, { headers: S });
    expect(again.status).toBe(200);
    // the SCIM token's last use (operational data, no event) survived the restart (the stop's read-model snapshot)
    const tokens = await json(await fetch(`${url}/api/v1/lists/${list.body.id}/sync/scim/tokens`, { headers: A }));
    expect(tokens.body.items[0].lastUsedAt).toEqual(expect.any(String));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);

  /** a fresh data directory and port for one process: its URL and base environment */
  async function freshPlace() {
    const dataDir = await mkdtemp(join(tmpdir(), 'muster-proc-'));
    dirs.push(dataDir);
    const port = await freePort();
    return { url: `http://127.0.0.1:${port}`, env: { PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir } };
  }

  it('warns at start about a short MUSTER_ADMIN_TOKEN, and the log keeps only its first 4 characters', async () => {
    const { url, env } = await freshPlace();
    const token = 'change-me-admin-token';
    const p = startProcess({ ...env, MUSTER_ADMIN_TOKEN: token });
    await waitHealthy(url, p);
    expect(p.out()).toMatch(/Warning: MUSTER_ADMIN_TOKEN has 21 characters/);
    const res = await fetch(`${url}/api/v1/audit/events?type=AdminTokenIssued`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const events = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { data: { label: string; prefix: string } });
    const issued = events.find((e) => e.data.label === 'MUSTER_ADMIN_TOKEN');
    expect(issued?.data.prefix).toBe('chan');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 60_000);

  it('a port in use, or a data directory that is a file, is one clear line (exit 1), not a stack trace; a localhost public URL on every interface warns', async () => {
    const { url, env } = await freshPlace();
    const first = startProcess({ ...env, HOST: '0.0.0.0', MUSTER_ADMIN_TOKEN: 'process-test-admin-token-0123456789abcdef' });
    await waitHealthy(url, first);
    expect(first.out()).toMatch(/Warning: MUSTER_PUBLIC_URL is not set, so the SCIM base URLs handed to identity providers say http:\/\/localhost:\d+/);
    const other = await mkdtemp(join(tmpdir(), 'muster-proc-'));
    dirs.push(other);
    const busy = startProcess({ ...env, MUSTER_DATA_DIR: other, MUSTER_ADMIN_TOKEN: 'process-test-admin-token-0123456789abcdef' });
    expect(await busy.exited).toBe(1);
    expect(busy.out()).toMatch(/^Muster could not start: port \d+ is already in use/m);
    expect(busy.out()).not.toMatch(/\n\s+at /); // no stack trace
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const file = join(other, 'not-a-dir');
    await writeFile(file, 'x');
    const bad = startProcess({ ...env, MUSTER_DATA_DIR: file });
    expect(await bad.exited).toBe(1);
    expect(bad.out()).toMatch(/^Muster could not start: the data directory cannot be used/m);
  }, 60_000);

  it('npm start stops on a SIGTERM sent to npm (no orphaned server keeps the port) and logs that it stopped; a generated token is printed only by a start that listens', async () => {
    const { url, env } = await freshPlace();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(Number(env.PORT), '127.0.0.1', r));
    const failed = startProcess(env); // no MUSTER_ADMIN_TOKEN: a token would be generated
    expect(await failed.exited).toBe(1);
    expect(failed.out()).toMatch(/port \d+ is already in use/);
    expect(failed.out()).not.toMatch(/mat_/);
    await new Promise((r) => blocker.close(r));

    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', MUSTER_ADMIN_TOKEN: '', NATS_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout!.on('data', (d) => { out += d; });
    npm.stderr!.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    await waitHealthy(url, { child: npm, out: () => out, exited });
    const token = /\b(mat_[A-Za-z0-9_-]{40,})\b/.exec(out)?.[1];
    expect(token, out).toBeDefined(); // the failed start did not use up the one generated token
    expect(out.indexOf(token!)).toBeGreaterThan(out.indexOf('Server listening at'));
    expect((await fetch(`${url}/api/v1/lists`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    npm.kill('SIGTERM'); // the npm process, as a process manager or a terminal would signal it
    await exited;
    const deadline = Date.now() + 10_000;
    let freed = false;
    while (!freed && Date.now() < deadline) {
      freed = await fetch(`${url}/healthz`).then(() => false, () => true);
      if (!freed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(freed, 'the server still answers after npm was stopped').toBe(true);
    expect(out).toMatch(/"msg":"stopped"/);
  }, 60_000);

  it('a bad configuration is a clear error, not a crash', async () => {
    const p = startProcess({ PORT: 'eighty', MUSTER_EVENT_STORE: 'eventstoredb' });
    expect(await p.exited).toBe(2);
    expect(p.out()).toMatch(/PORT: must be a whole number/);
    expect(p.out()).toMatch(/EVENTSTORE_URL/);
  }, 30_000);

  it('at the default log level (info) writes one line per request, and the SCIM fast path stays on and logs its answers too', async () => {
    const { url, env } = await freshPlace();
    const admin = 'process-test-admin-token-0123456789abcdef';
    const p = startProcess({ ...env, MUSTER_ADMIN_TOKEN: admin, LOG_LEVEL: 'info' });
    try {
      await waitHealthy(url, p);
      const A = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
      const list = await json(await fetch(`${url}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'Logged' }) }));
      await fetch(`${url}/api/v1/lists/${list.body.id}/sync/scim`, { method: 'POST', headers: A, body: JSON.stringify({ uniqueIdentifier: 'userName' }) });
      const tok = await json(await fetch(`${url}/api/v1/lists/${list.body.id}/sync/scim/tokens`, { method: 'POST', headers: A, body: '{}' }));
      const base = tok.body.scimBaseUrl.replace('localhost', '127.0.0.1');
      const S = { authorization: `Bearer ${tok.body.token}`, 'content-type': 'application/scim+json' };
      const user = await json(await fetch(`${base}/Users`, { method: 'POST', headers: S, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada' }) }));
      expect(user.status).toBe(201);
      const lookup = `${base}/Users?filter=${encodeURIComponent('userName eq "ada"')}`;
      for (let i = 0; i < 3; i++) expect((await json(await fetch(lookup, { headers: S }))).body.totalResults).toBe(1);
      const health = await json(await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${admin}` } }));
      expect(health.body.services['scim-ingress'].fastPath.answered).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200)); // let the log lines reach the pipe
      const lines = p.out().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
      const requests = lines.filter((l) => l.msg === 'request completed');
      expect(lines.some((l) => l.msg === 'incoming request')).toBe(false); // one line per request, not Fastify's two
      const lookups = requests.filter((l) => String(l.req?.url).includes('/Users?filter='));
      expect(lookups).toHaveLength(3);
      expect(lookups.some((l) => l.answeredBy === 'fast-path')).toBe(true);
      expect(lookups.every((l) => l.res.statusCode === 200 && typeof l.responseTime === 'number')).toBe(true);
      const create = requests.find((l) => l.req?.method === 'POST' && String(l.req?.url).endsWith('/Users'));
      expect(create).toMatchObject({ res: { statusCode: 201 } });
      expect(create?.reqId).toEqual(expect.any(String));
      expect(p.out()).not.toContain(tok.body.token);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
