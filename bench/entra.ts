/**
 * The Entra pull, end to end over HTTP on the embedded stack (the launcher in its own process, as
 * `npm start` runs it) against the fake Graph (in this process, 200 objects a page): an initial
 * sync of 10,000 users in 2 scoped groups (target: under 60 s from the run request to every person
 * in the people read model), then an incremental run with 100 changes (under 3 s), while
 * autocannon asks the SCIM filtered GET of another list (p99 under 100 ms while the run goes on;
 * the same load on the idle server right before is the figure it is compared with).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGraph } from '../libs/entra-graph/src/testing/fake-graph.ts';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, figure, freePort, load, rssMb, spawnNode, waitFor, worstOf, type Figure } from './harness.ts';

export async function benchEntra(opts: { users?: number } = {}): Promise<void> {
  const n = opts.users ?? Number(process.env.BENCH_ENTRA_USERS ?? 10_000);
  const scimPeople = 2_000;
  const graph = new FakeGraph({ pageSize: 200, memberSlice: 1_000 });
  await graph.start();
  const dataDir = await mkdtemp(join(tmpdir(), 'muster-bench-entra-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000',
    MUSTER_ENTRA_AUTHORITY_URL: graph.origin, MUSTER_GRAPH_URL: graph.origin,
  });
  const api = async (method: string, path: string, body?: unknown) => {
    const headers = { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const figures: Figure[] = [];
  try {
    await waitFor(`${base}/healthz`, srv.child, srv.out);
    // a SCIM list to read from while the pull runs
    const scimList = await api('POST', '/lists', { name: 'SCIM staff' });
    await api('POST', `/lists/${scimList.id}/sync/scim`, { uniqueIdentifier: 'userName' });
    const tok = await api('POST', `/lists/${scimList.id}/sync/scim/tokens`, {});
    const scimPath = `/scim/v2/lists/${scimList.id}`;
    const S = { authorization: `Bearer ${tok.token}`, 'content-type': 'application/scim+json' };
    let seq = 0;
    await load({
      url: base, connections: 16, amount: scimPeople,
      requests: [{ method: 'POST', path: `${scimPath}/Users`, headers: S, setupRequest: (req) => { const i = seq++; return { ...req, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${i}@bench.example`, active: true }) }; } }],
    });
    const getLoad = (durationS: number) => load({
      url: base, connections: 16, duration: durationS,
      requests: [{ method: 'GET', path: `${scimPath}/Users`, headers: { authorization: S.authorization }, setupRequest: (req) => ({ ...req, path: `${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * scimPeople)}@bench.example"`)}` }) }],
    }, srv.child.pid);

    // the tenant: n users in 2 scoped groups, and as many again out of scope
    const ids = Array.from({ length: n }, (_, i) => graph.addUser({
      givenName: `Given${i}`, surname: `Family${i}`, displayName: `Person ${i}`, mail: `p${i}@school.example`, userPrincipalName: `p${i}@school.onmicrosoft.com`,
      employeeId: `E${i}`, jobTitle: i % 2 ? 'Student' : 'Teacher', department: `Dept ${i % 20}`,
    }));
    for (let i = 0; i < n; i++) graph.addUser({ displayName: `Outsider ${i}`, mail: `o${i}@school.example` });
    const g1 = graph.addGroup('Staff', ids.slice(0, n / 2));
    const g2 = graph.addGroup('Students', ids.slice(n / 2));
    const list = await api('POST', '/lists', { name: 'Entra school' });
    await api('POST', `/lists/${list.id}/sync/entra`, { tenantId: graph.tenantId, clientId: graph.clientId, clientSecret: graph.clientSecret, groupIds: [g1, g2], schedule: null });

    figures.push(figure('GET filter userName, idle', 16, await getLoad(5), await rssMb(srv.child.pid!)));

    const runToEnd = async () => {
      const t0 = performance.now();
      const started = await api('POST', `/lists/${list.id}/sync/entra/runs`);
      let run: any;
      for (;;) {
        // the run's GET waits for the read models to hold the log's head: finished here = in the people read model
        run = await api('GET', `/lists/${list.id}/sync/entra/runs/${started.runId}`);
        if (run.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const total = (await api('GET', `/lists/${list.id}/people?status=all&limit=1`)).total;
      return { run, total, ms: performance.now() - t0 };
    };

    let done = false;
    const initial = runToEnd().finally(() => { done = true; });
    const runs: Figure[] = [];
    while (!done) runs.push(figure('GET filter userName, while pulling', 16, await getLoad(1), await rssMb(srv.child.pid!)));
    const first = await initial;
    figures.push(worstOf(runs));
    console.log(`initial run: ${first.run.status}, ${first.run.pages} pages, summary ${JSON.stringify(first.run.summary)}; ${first.total} people in the read model; ${(first.ms / 1000).toFixed(1)} s from the request`);

    for (let i = 0; i < 100; i++) graph.updateUser(ids[i * Math.floor(n / 100)], { jobTitle: `Changed ${i}` });
    const second = await runToEnd();
    console.log(`incremental run: ${second.run.status}, ${second.run.pages} pages, summary ${JSON.stringify(second.run.summary)}; ${(second.ms / 1000).toFixed(2)} s from the request`);

    console.log('scenario                                   conns    req/s   p50 ms   p99 ms  errors  non2xx  RSS MB');
    for (const f of figures) console.log(`${f.scenario.padEnd(42)} ${String(f.connections).padStart(5)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(7)} ${String(f.rssMb).padStart(7)}`);
    const during = figures[1];
    console.log(`targets: initial ${n} users < 60 s → ${(first.ms / 1000).toFixed(1)} s: ${first.ms < 60_000 && first.total === n ? 'PASS' : 'MISS'}; incremental (100 changes) < 3 s → ${(second.ms / 1000).toFixed(2)} s: ${second.ms < 3_000 && second.run.summary.updated === 100 ? 'PASS' : 'MISS'}; SCIM filtered GET p99 < 100 ms while pulling → ${during.p99} ms (idle ${figures[0].p99} ms; ${(during.rps / figures[0].rps).toFixed(2)} of the idle rate): ${during.p99 < 100 ? 'PASS' : 'MISS'}`);
  } finally {
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    await graph.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchEntra();
