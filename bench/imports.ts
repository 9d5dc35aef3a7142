/**
 * A 100,000-row CSV import over HTTP on the embedded stack (the launcher in its own process, as
 * `npm start` runs it): a generated file with about 1% invalid rows and 1% duplicated identifiers,
 * streamed up, mapped, validated to `ready` (target 20 s), applied (target 60 s), with the server's
 * resident memory sampled all along (target: peak growth under 300 MB) and autocannon asking the
 * SCIM filtered GET of another list meanwhile (p99 under 100 ms; the same load on the idle server
 * right before is the comparison).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, figure, freePort, load, rssMb, spawnNode, waitFor, worstOf, type Figure } from './harness.ts';

async function writeCsv(path: string, rows: number): Promise<{ invalid: number; duplicated: number }> {
  const out = createWriteStream(path);
  out.write('First name,Last name,Email,Staff ID,Department,Start date\n');
  let invalid = 0;
  let duplicated = 0;
  for (let i = 0; i < rows; i++) {
    let email = `person${i}@school.example`;
    let date = `20${String(10 + (i % 15)).padStart(2, '0')}-09-01`;
    if (i % 100 === 37) { date = '2021-02-30'; invalid++; } // invalid_date
    if (i % 100 === 73 && i > 100) { email = `person${i - 50}@school.example`; duplicated++; } // the same identifier as an earlier row
    if (!out.write(`Given${i},Family${i},${email},S${i},Dept ${i % 40},${date}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { invalid, duplicated };
}

export async function benchImports(opts: { rows?: number } = {}): Promise<void> {
  const rows = opts.rows ?? Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
  const dir = await mkdtemp(join(tmpdir(), 'muster-bench-imports-'));
  const file = join(dir, 'people.csv');
  const made = await writeCsv(file, rows);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: join(dir, 'data'), MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000',
  });
  const A = { authorization: `Bearer ${ADMIN}` };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, { method, headers: body === undefined ? A : { ...A, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    await waitFor(`${base}/healthz`, srv.child, srv.out);
    // a SCIM list of 2,000 people for the GET load
    const scimList = await api('POST', '/lists', { name: 'Staff' });
    await api('POST', `/lists/${scimList.id}/sync/scim`, { uniqueIdentifier: 'userName' });
    const tok = await api('POST', `/lists/${scimList.id}/sync/scim/tokens`, {});
    const scimPath = `/scim/v2/lists/${scimList.id}`;
    let seq = 0;
    await load({ url: base, connections: 16, amount: 2_000, requests: [{ method: 'POST', path: `${scimPath}/Users`, headers: { authorization: `Bearer ${tok.token}`, 'content-type': 'application/scim+json' }, setupRequest: (req) => ({ ...req, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${seq++}@bench.example`, active: true }) }) }] });
    const getLoad = (s: number) => load({
      url: base, connections: 16, duration: s,
      requests: [{ method: 'GET', path: `${scimPath}/Users`, headers: { authorization: `Bearer ${tok.token}` }, setupRequest: (req) => ({ ...req, path: `${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * 2_000)}@bench.example"`)}` }) }],
    }, srv.child.pid);

    const list = await api('POST', '/lists', { name: 'Pupils' });
    for (const f of [
      { key: 'firstName', label: 'First name', type: 'text', required: true }, { key: 'lastName', label: 'Last name', type: 'text' },
      { key: 'email', label: 'Email', type: 'email' }, { key: 'employeeNumber', label: 'Staff ID', type: 'text' },
      { key: 'department', label: 'Department', type: 'text' }, { key: 'startDate', label: 'Start date', type: 'date' },
    ]) await api('POST', `/lists/${list.id}/fields`, f);
    const idle = figure('GET filter userName, idle', 16, await getLoad(5), await rssMb(srv.child.pid!));

    // resident memory sampled every 100 ms from here on
    const rssBefore = await rssMb(srv.child.pid!);
    let rssPeak = rssBefore;
    const sampler = setInterval(async () => { rssPeak = Math.max(rssPeak, await rssMb(srv.child.pid!)); }, 100);
    // the GET load in one-second runs while the import works (the worst p99 is the figure)
    let working = true;
    const runs: Figure[] = [];
    let phase = 'upload';
    const phases: string[] = [];
    const loadWhileWorking = (async () => { while (working) { const at = phase; runs.push(figure('GET filter userName, while importing', 16, await getLoad(1), 0)); phases.push(at); } })();

    const t0 = performance.now();
    const bytes = (await stat(file)).size;
    const up = await fetch(`${base}/api/v1/lists/${list.id}/imports?fileName=people.csv`, {
      method: 'POST', headers: { ...A, 'content-type': 'text/csv' }, body: Readable.toWeb(createReadStream(file)) as unknown as BodyInit, duplex: 'half',
    } as RequestInit);
    const uploaded = (await up.json()) as any;
    const uploadMs = performance.now() - t0;
    await api('PUT', `/lists/${list.id}/imports/${uploaded.id}/mapping`, {
      uniqueIdentifier: { column: 'Email' },
      columns: { 'First name': { field: 'firstName' }, 'Last name': { field: 'lastName' }, Email: { field: 'email', transform: 'lowercase' }, 'Staff ID': { field: 'employeeNumber' }, Department: { field: 'department' }, 'Start date': { field: 'startDate' } },
    });
    let imp: any;
    for (;;) { imp = await api('GET', `/lists/${list.id}/imports/${uploaded.id}`); if (imp.status !== 'validating') break; await new Promise((r) => setTimeout(r, 100)); }
    const readyMs = performance.now() - t0;
    phase = 'apply';
    if (imp.status !== 'ready') throw new Error(`the import is ${imp.status}: ${imp.failure}`);
    const rssReady = await rssMb(srv.child.pid!);
    const peakReady = rssPeak;
    const t1 = performance.now();
    await api('POST', `/lists/${list.id}/imports/${uploaded.id}/apply`, { approveAll: true });
    for (;;) { imp = await api('GET', `/lists/${list.id}/imports/${uploaded.id}`); if (imp.status !== 'applying') break; await new Promise((r) => setTimeout(r, 200)); }
    const applyMs = performance.now() - t1;
    working = false;
    await loadWhileWorking;
    clearInterval(sampler);
    const during = worstOf(runs);
    const people = await api('GET', `/lists/${list.id}/people?limit=1`);

    console.log(`file: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB, ${made.invalid} with an invalid date, ${made.duplicated} repeating an earlier identifier`);
    console.log(`upload ${(uploadMs / 1000).toFixed(1)} s; upload + validate to ${imp.status === 'applied' ? 'ready' : imp.status} ${(readyMs / 1000).toFixed(1)} s; summary ${JSON.stringify(imp.summary)}`);
    console.log(`apply ${(applyMs / 1000).toFixed(1)} s (ended ${imp.status}); people on the list ${people.total}; server RSS ${rssBefore} MB before, at ready ${rssReady} MB (peak so far ${peakReady} MB), peak ${rssPeak} MB (+${rssPeak - rssBefore} MB), after ${await rssMb(srv.child.pid!)} MB`);
    if (process.env.BENCH_VERBOSE) console.log(`p99 of each second: ${runs.map((r, i) => `${phases[i][0]}${r.p99}`).join(' ')}`);
    console.log('scenario                                   conns    req/s   p50 ms   p99 ms  errors  non2xx');
    for (const f of [idle, during]) console.log(`${f.scenario.padEnd(42)} ${String(f.connections).padStart(5)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(7)}`);
    const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    console.log(`targets: upload + validate < 20 s → ${(readyMs / 1000).toFixed(1)} s: ${pass(readyMs < 20_000)}; apply < 60 s → ${(applyMs / 1000).toFixed(1)} s: ${pass(applyMs < 60_000)}; RSS growth < 300 MB → +${rssPeak - rssBefore} MB: ${pass(rssPeak - rssBefore < 300)}; filtered GET p99 < 100 ms meanwhile → ${during.p99} ms (idle ${idle.p99} ms, ${(during.rps / idle.rps).toFixed(2)} of the idle rate): ${pass(during.p99 < 100)}`);
  } finally {
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchImports();
