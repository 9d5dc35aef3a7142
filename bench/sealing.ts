/**
 * The cost of sealing personal data (crypto-shredding) on the hot path, before and after in one run:
 * two launchers side by side, one as `npm start` runs (personal data sealed with each person's data
 * key) and one with MUSTER_SEAL_PERSONAL_DATA=off (the same code writing personal data in clear, as
 * before the feature). Durable SCIM creates at 64 connections, taken in turns A B B A A B so that
 * the machine's drift falls on both alike; then a full rebuild of each server's read models, also
 * in turns. Targets: the sealed POST rate at most 10 % below the clear one, the sealed rebuild rate
 * at most 15 % below.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, figure, freePort, load, rssMb, spawnNode, waitFor, type Figure } from './harness.ts';

interface Server { name: string; base: string; scim: string; token: string; pid: number; seq: number; stop: () => Promise<void> }

async function startServer(name: string, env: Record<string, string>): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), `muster-bench-sealing-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000', ...env,
  });
  await waitFor(`${base}/healthz`, srv.child, srv.out);
  const A = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const list = (await (await fetch(`${base}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'Bench' }) })).json()) as { id: string };
  await fetch(`${base}/api/v1/lists/${list.id}/sync/scim`, { method: 'POST', headers: A, body: JSON.stringify({ uniqueIdentifier: 'userName' }) });
  const tok = (await (await fetch(`${base}/api/v1/lists/${list.id}/sync/scim/tokens`, { method: 'POST', headers: A, body: '{}' })).json()) as { token: string };
  return {
    name, base, scim: `/scim/v2/lists/${list.id}`, token: tok.token, pid: srv.child.pid!, seq: 0,
    stop: async () => { srv.child.kill('SIGTERM'); await new Promise((r) => srv.child.once('exit', r)); await rm(dataDir, { recursive: true, force: true }); },
  };
}

const userBody = (n: number) => JSON.stringify({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${n}@bench.example`, externalId: `ext-${n}`,
  name: { givenName: `Given${n}`, familyName: `Family${n}` }, emails: [{ value: `user${n}@bench.example`, type: 'work', primary: true }],
  phoneNumbers: [{ value: `+44 20 7946 ${String(n % 10_000).padStart(4, '0')}`, type: 'work' }], title: 'Teacher', active: true,
});

async function post(s: Server, connections: number, duration: number): Promise<Figure> {
  const r = await load({
    url: s.base, connections, duration,
    requests: [{ method: 'POST', path: `${s.scim}/Users`, headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/scim+json' }, setupRequest: (req) => ({ ...req, body: userBody(s.seq++) }) }],
  }, s.pid);
  return figure(`POST /Users, ${s.name}`, connections, r, await rssMb(s.pid));
}

async function settled(s: Server) {
  for (let i = 0; i < 1200; i++) {
    const h = (await (await fetch(`${s.base}/healthz`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { services: { projector: { lagEvents?: number } } };
    if (h.services.projector.lagEvents === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rebuild(s: Server): Promise<{ events: number; eventsPerSecond: number; durationMs: number }> {
  const res = await fetch(`${s.base}/api/v1/admin/projections/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ wait: true }) });
  const body = (await res.json()) as { result?: { events: number; eventsPerSecond: number; durationMs: number } };
  if (!body.result?.eventsPerSecond) throw new Error(`rebuild answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.result;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function benchSealing(opts: { durationS?: number } = {}): Promise<void> {
  const duration = opts.durationS ?? Number(process.env.BENCH_DURATION_S ?? 8);
  const sealed = await startServer('sealed', {});
  const clear = await startServer('clear', { MUSTER_SEAL_PERSONAL_DATA: 'off' });
  try {
    // warm both (JIT, caches, the first keys) before measuring
    await post(sealed, 64, 2);
    await post(clear, 64, 2);
    const runs: Figure[] = [];
    for (const s of [sealed, clear, clear, sealed, sealed, clear]) {
      await settled(sealed);
      await settled(clear);
      runs.push(await post(s, 64, duration));
    }
    const rate = (name: string) => mean(runs.filter((f) => f.scenario.endsWith(name)).map((f) => f.rps));
    const cpu = (name: string) => mean(runs.filter((f) => f.scenario.endsWith(name) && f.cpu).map((f) => f.cpu!.main));
    await settled(sealed);
    await settled(clear);
    const rebuilds: Array<{ name: string; r: Awaited<ReturnType<typeof rebuild>> }> = [];
    for (const s of [sealed, clear, clear, sealed]) rebuilds.push({ name: s.name, r: await rebuild(s) });
    const rebuildRate = (name: string) => mean(rebuilds.filter((x) => x.name === name).map((x) => x.r.eventsPerSecond));

    console.log('scenario (64 connections, in turns)          req/s   p50 ms   p99 ms  non2xx  CPU µs/req (HTTP thread)');
    for (const f of runs) console.log(`${f.scenario.padEnd(40)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.non2xx).padStart(7)}  ${f.cpu?.main ?? ''}`);
    for (const x of rebuilds) console.log(`rebuild, ${x.name.padEnd(7)} ${String(x.r.events).padStart(9)} events  ${String(x.r.eventsPerSecond).padStart(7)} events/s  ${(x.r.durationMs / 1000).toFixed(1)} s`);
    const postDrop = 1 - rate('sealed') / rate('clear');
    const rebuildDrop = 1 - rebuildRate('sealed') / rebuildRate('clear');
    console.log(`POST: sealed ${Math.round(rate('sealed'))} req/s (CPU ${Math.round(cpu('sealed'))} µs) vs clear ${Math.round(rate('clear'))} req/s (CPU ${Math.round(cpu('clear'))} µs): ${(postDrop * 100).toFixed(1)} % lower → target ≤ 10 %: ${postDrop <= 0.10 ? 'PASS' : 'MISS'}`);
    console.log(`rebuild: sealed ${Math.round(rebuildRate('sealed'))} events/s vs clear ${Math.round(rebuildRate('clear'))} events/s: ${(rebuildDrop * 100).toFixed(1)} % lower → target ≤ 15 %: ${rebuildDrop <= 0.15 ? 'PASS' : 'MISS'}`);
  } finally {
    await sealed.stop();
    await clear.stop();
  }
}
