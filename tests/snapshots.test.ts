/**
 * Read-model snapshots with a real process (`npm start`'s launcher): a restart loads the snapshot
 * written at the clean stop and catches up; kill -9 while a snapshot is written leaves the previous
 * one usable; and a snapshot never claims a checkpoint beyond what it holds (every person created
 * up to its checkpoint is in it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { freePort } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'snapshot-test-admin-token-0123456789';

function launch(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', NATS_URL: '', MUSTER_ADMIN_TOKEN: TOKEN, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function healthy(url: string, p: ReturnType<typeof launch>): Promise<any> {
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    if (p.child.exitCode !== null) throw new Error(`exited early:\n${p.out()}`);
    const h = await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${TOKEN}` } }).then(async (r) => (r.ok ? r.json() : null), () => null);
    if (h) return h;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not healthy:\n${p.out()}`);
}

/** the header and the people of a snapshot file */
async function snapshotContents(file: string) {
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  const header = JSON.parse(lines[0]) as { position: number; collections: Array<{ name: string }> };
  const trailer = JSON.parse(lines[lines.length - 1]) as { sections: Array<{ docs?: number }> };
  let at = 1;
  const byName: Record<string, Array<Record<string, unknown>>> = {};
  header.collections.forEach((c, i) => { const n = trailer.sections[i + 1].docs ?? 0; byName[c.name] = lines.slice(at, at + n).map((l) => JSON.parse(l)); at += n; });
  return { header, byName };
}

describe('read-model snapshots of a real process', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('restart loads the stop\'s snapshot; kill -9 mid-write keeps the previous one; no snapshot claims more than it holds', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'muster-snapshots-'));
    dirs.push(dataDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // slices of 2,000 documents written 300 ms apart: a write of these read models lasts a few seconds
    const env = { PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_SNAPSHOT_WRITE_PACE_MS: '300' };
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: r.status, body: (await r.json()) as any };
    };
    const addPeople = async (listId: string, from: number, n: number) => {
      for (let i = from; i < from + n; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, from + n - i) }, (_, k) => api('POST', `/lists/${listId}/people`, { fields: { firstName: `P${i + k}` } }).then((r) => expect(r.status).toBe(201))));
      }
    };
    const snapshots = async () => (await readdir(join(dataDir, 'snapshots')).catch(() => [] as string[])).sort();

    let p = launch(env);
    await healthy(url, p);
    const list = await api('POST', '/lists', { name: 'Snapshots' });
    expect((await api('POST', `/lists/${list.body.id}/fields`, { key: 'firstName', label: 'First name', type: 'text' })).status).toBe(201);
    await addPeople(list.body.id, 0, 5_000);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const [atStop] = await snapshots();
    expect(atStop).toMatch(/\.snapshot$/);

    p = launch(env);
    let h = await healthy(url, p);
    expect(h.services.projector.snapshots.loaded).toMatchObject({ position: expect.any(Number) });
    const loadedAt = h.services.projector.snapshots.loaded.position;
    expect((await api('GET', `/lists/${list.body.id}/people?limit=1`)).body.total).toBe(5_000);

    // more people, then kill -9 while the next snapshot is being written
    await addPeople(list.body.id, 5_000, 1_000);
    const writing = api('POST', '/admin/read-models/snapshot').catch(() => null);
    for (let i = 0; i < 100 && !(await snapshots()).some((f) => f.endsWith('.tmp')); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await snapshots()).some((f) => f.endsWith('.tmp')), 'the snapshot write was under way').toBe(true);
    p.child.kill('SIGKILL');
    await p.exited;
    await writing;
    expect((await snapshots()).filter((f) => f.endsWith('.snapshot'))).toEqual([atStop]);

    p = launch(env);
    h = await healthy(url, p);
    // the previous snapshot loaded (the half-written one passed over), then the log caught up
    expect(h.services.projector.snapshots.loaded.position).toBe(loadedAt);
    expect(h.services.projector.snapshots.skipped).toEqual([]);
    expect((await api('GET', `/lists/${list.body.id}/people?limit=1`)).body.total).toBe(6_000);
    const written = await api('POST', '/admin/read-models/snapshot');
    expect(written.body).toMatchObject({ written: true });
    expect((await snapshots())).toHaveLength(1); // the crash's temporary file is gone, and the older snapshot

    // what the snapshot holds covers its checkpoint: every person created up to it is in it
    const { header, byName } = await snapshotContents(join(dataDir, 'snapshots', (await snapshots())[0]));
    const created = ((await (await fetch(`${url}/api/v1/audit/events?type=PersonCreated`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()).trim().split('\n').map((l) => JSON.parse(l))) as Array<{ position: number; data: { personId: string } }>;
    const inSnapshot = new Set(byName.people.map((d) => d._id));
    const owed = created.filter((e) => e.position <= header.position);
    expect(owed.length).toBe(6_000);
    expect(owed.filter((e) => !inSnapshot.has(e.data.personId))).toEqual([]);

    // a rebuild from position 0 is followed by a fresh snapshot
    expect((await api('POST', '/admin/projections/rebuild', { wait: true })).status).toBe(200);
    for (let i = 0; i < 100 && (await healthy(url, p)).services.projector.snapshots.last?.reason !== 'rebuild'; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await healthy(url, p)).services.projector.snapshots.last).toMatchObject({ reason: 'rebuild' });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);

    // a damaged snapshot is passed over with one line, and the read models are built from the log
    const [file] = await snapshots();
    const bytes = await readFile(join(dataDir, 'snapshots', file));
    bytes[Math.floor(bytes.length / 3)] ^= 0x01;
    await writeFile(join(dataDir, 'snapshots', file), bytes);
    p = launch(env);
    h = await healthy(url, p);
    expect(h.services.projector.snapshots.loaded).toBeNull();
    expect(h.services.projector.snapshots.skipped).toEqual([expect.stringMatching(/damaged/)]);
    expect(p.out()).toMatch(/read-model snapshot not loaded, the read models are built from the log instead: .*damaged/);
    expect((await api('GET', `/lists/${list.body.id}/people?limit=1`)).body.total).toBe(6_000);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 240_000);
});
