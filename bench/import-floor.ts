/**
 * The floor of the import bench (bench/imports.ts): the same people created one request at a time
 * (POST /lists/{id}/people, 8 connections) on the same stack under the same SCIM GET load, with the
 * server's RSS growth. `npx tsx bench/import-floor.ts [PEOPLE]` (default 97,002, the creates of
 * the 100,000-row import).
 */
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, freePort, load, rssMb, spawnNode, waitFor } from './harness.ts';
const n = Number(process.argv[2] ?? 97002);
const dir = await mkdtemp(join(tmpdir(), 'floor-'));
const port = await freePort(); const base = `http://127.0.0.1:${port}`;
const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], { PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: join(dir, 'd'), MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '', LOG_LEVEL: 'info', MUSTER_PUBLIC_URL: base });
await waitFor(`${base}/healthz`, srv.child, srv.out);
const A = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const list = await (await fetch(`${base}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'x' }) })).json() as any;
for (const f of [{ key: 'firstName', label: 'First name', type: 'text', required: true }, { key: 'lastName', label: 'Last name', type: 'text' }, { key: 'email', label: 'Email', type: 'email' }, { key: 'employeeNumber', label: 'Staff ID', type: 'text' }, { key: 'department', label: 'Department', type: 'text' }, { key: 'startDate', label: 'Start date', type: 'date' }])
  await fetch(`${base}/api/v1/lists/${list.id}/fields`, { method: 'POST', headers: A, body: JSON.stringify(f) });
const sl = await (await fetch(`${base}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 's' }) })).json() as any;
await fetch(`${base}/api/v1/lists/${sl.id}/sync/scim`, { method: 'POST', headers: A, body: JSON.stringify({ uniqueIdentifier: 'userName' }) });
const tok = await (await fetch(`${base}/api/v1/lists/${sl.id}/sync/scim/tokens`, { method: 'POST', headers: A, body: '{}' })).json() as any;
const sp = `/scim/v2/lists/${sl.id}`; let q = 0;
await load({ url: base, connections: 16, amount: 2000, requests: [{ method: 'POST', path: `${sp}/Users`, headers: { authorization: `Bearer ${tok.token}`, 'content-type': 'application/scim+json' }, setupRequest: (r) => ({ ...r, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${q++}@b.example`, active: true }) }) }] });
let working = true; const p99s: number[] = [];
const gl = (async () => { while (working) { const r = await load({ url: base, connections: 16, duration: 1, requests: [{ method: 'GET', path: `${sp}/Users`, headers: { authorization: `Bearer ${tok.token}` }, setupRequest: (rq) => ({ ...rq, path: `${sp}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * 2000)}@b.example"`)}` }) }] }); p99s.push(r.latency.p99); } })();
const before = await rssMb(srv.child.pid!); let peak = before;
const t = setInterval(async () => { peak = Math.max(peak, await rssMb(srv.child.pid!)); }, 100);
let i = 0; const t0 = Date.now();
await load({ url: base, connections: 8, amount: n, requests: [{ method: 'POST', path: `/api/v1/lists/${list.id}/people`, headers: A, setupRequest: (r) => { const k = i++; return { ...r, body: JSON.stringify({ fields: { firstName: `Given${k}`, lastName: `Family${k}`, email: `person${k}@school.example`, employeeNumber: `S${k}`, department: `Dept ${k % 40}`, startDate: '2020-09-01' } }) }; } }] });
working = false; await gl;
await new Promise((r) => setTimeout(r, 3000));
clearInterval(t);
console.log(`GET p99 per second while creating: max ${Math.max(...p99s)} ms, median ${p99s.sort((a, b) => a - b)[Math.floor(p99s.length / 2)]} ms`);
console.log(`floor: ${n} people by POST /people in ${((Date.now() - t0) / 1000).toFixed(1)} s; RSS ${before} -> peak ${peak} (+${peak - before}), after ${await rssMb(srv.child.pid!)}`);
srv.child.kill('SIGTERM'); await new Promise((r) => srv.child.once('exit', r)); await rm(dir, { recursive: true, force: true });
