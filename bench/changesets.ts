/**
 * A 10,000-change changeset, end to end over HTTP on the embedded stack (the launcher in its own
 * process, as `npm start` runs it): 10,000 people provisioned over SCIM, a session of all of them,
 * an edit to each copy, the push (the review: the figure with a 2 s target), approve all, and the
 * apply (20 s target) while autocannon asks the SCIM filtered GET (p99 under 100 ms while it
 * applies). The same GET load on the idle server, right before, is the figure it is compared with.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, figure, freePort, load, rssMb, spawnNode, waitFor, worstOf, type Figure } from './harness.ts';

export async function benchChangesets(opts: { people?: number } = {}): Promise<void> {
  const n = opts.people ?? Number(process.env.BENCH_CHANGESET_PEOPLE ?? 10_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'muster-bench-changesets-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000',
  });
  const A = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, { method, headers: body === undefined ? { authorization: A.authorization } : A, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as any;
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return { status: res.status, body: json };
  };
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => { const t0 = performance.now(); const r = await fn(); return [r, performance.now() - t0]; };
  const figures: Figure[] = [];
  try {
    await waitFor(`${base}/healthz`, srv.child, srv.out);
    const list = (await api('POST', '/lists', { name: 'Bench' })).body;
    await api('POST', `/lists/${list.id}/sync/scim`, { uniqueIdentifier: 'userName' });
    await api('POST', `/lists/${list.id}/fields`, { key: 'cardNumber', label: 'Card number', type: 'text' });
    const tok = (await api('POST', `/lists/${list.id}/sync/scim/tokens`, {})).body;
    const scimPath = `/scim/v2/lists/${list.id}`;
    const S = { authorization: `Bearer ${tok.token}`, 'content-type': 'application/scim+json' };
    let seq = 0;
    const [, loadMs] = await timed(() => load({
      url: base, connections: 32, amount: n,
      requests: [{ method: 'POST', path: `${scimPath}/Users`, headers: S, setupRequest: (req) => { const i = seq++; return { ...req, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${i}@bench.example`, name: { givenName: `Given${i}`, familyName: `Family${i}` }, active: true }) }; } }],
    }));
    console.log(`provisioned ${n} people over SCIM in ${(loadMs / 1000).toFixed(1)} s`);

    const [sess, sessionMs] = await timed(async () => (await api('POST', `/lists/${list.id}/sessions`, { name: 'Everyone', filter: {} })).body);
    console.log(`session of ${sess.people} people (the snapshot) in ${sessionMs.toFixed(0)} ms`);
    const people: string[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page: { items: Array<{ id: string }>; nextCursor: string | null } = (await api('GET', `/sessions/${sess.id}/people?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body;
      people.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
    }
    let k = 0;
    const [edits, editMs] = await timed(() => load({
      url: base, connections: 4, amount: people.length,
      requests: [{ method: 'PATCH', path: '/', headers: A, setupRequest: (req) => { const i = k++; return { ...req, path: `/api/v1/sessions/${sess.id}/people/${people[i]}`, body: JSON.stringify({ fields: { cardNumber: `CARD-${i}` } }) }; } }],
    }));
    console.log(`${edits.requests.total} session edits (one session stream, 4 connections) in ${(editMs / 1000).toFixed(1)} s, ${edits.non2xx} not 2xx`);

    const [pushed, reviewMs] = await timed(async () => (await api('POST', `/sessions/${sess.id}/push`)).body);
    const [, decideMs] = await timed(() => api('POST', `/changesets/${pushed.changesetId}/decisions`, { all: 'approve' }));

    // the SCIM filtered GET, idle, then while the changeset applies (same load, same duration)
    const getLoad = (durationS: number) => load({
      url: base, connections: 16, duration: durationS,
      requests: [{ method: 'GET', path: `${scimPath}/Users`, headers: { authorization: S.authorization }, setupRequest: (req) => ({ ...req, path: `${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * n)}@bench.example"`)}` }) }],
    }, srv.child.pid);
    figures.push(figure('GET filter userName, idle', 16, await getLoad(5), await rssMb(srv.child.pid!)));

    let applyMs = 0;
    let applyStatus = 0;
    let applied = false;
    const applying = (async () => {
      const t0 = performance.now();
      applyStatus = (await api('POST', `/changesets/${pushed.changesetId}/apply`)).status;
      for (;;) {
        const cs = (await api('GET', `/changesets/${pushed.changesetId}?limit=1`)).body;
        if (cs.status !== 'applying') { applyMs = performance.now() - t0; applied = true; return cs; }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // one-second runs for as long as the apply goes on: the worst p99 of them is the figure
    const runs: Figure[] = [];
    while (!applied) runs.push(figure('GET filter userName, while applying', 16, await getLoad(1), await rssMb(srv.child.pid!)));
    const done = await applying;
    figures.push(worstOf(runs));
    const [, rollbackMs] = await timed(async () => {
      await api('POST', `/changesets/${pushed.changesetId}/rollback`, {});
      for (;;) {
        const cs = (await api('GET', `/changesets/${pushed.changesetId}?limit=1`)).body;
        if (cs.status !== 'rolling_back') return cs;
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    console.log(`changeset of ${pushed.counts.changes} changes: review (push) ${reviewMs.toFixed(0)} ms, approve all ${decideMs.toFixed(0)} ms, apply ${(applyMs / 1000).toFixed(1)} s (answered ${applyStatus}, ended ${done.status}, ${done.counts.applied} applied), rollback ${(rollbackMs / 1000).toFixed(1)} s`);
    console.log('scenario                                   conns    req/s   p50 ms   p99 ms  errors  non2xx  RSS MB');
    for (const f of figures) console.log(`${f.scenario.padEnd(42)} ${String(f.connections).padStart(5)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(7)} ${String(f.rssMb).padStart(7)}`);
    const whileApplying = figures[1];
    console.log(`targets: review < 2 s → ${(reviewMs / 1000).toFixed(2)} s: ${reviewMs < 2000 ? 'PASS' : 'MISS'}; apply < 20 s → ${(applyMs / 1000).toFixed(1)} s: ${applyMs < 20_000 ? 'PASS' : 'MISS'}; filtered GET p99 < 100 ms while applying → ${whileApplying.p99} ms (idle ${figures[0].p99} ms; ${(whileApplying.rps / figures[0].rps).toFixed(2)} of the idle rate): ${whileApplying.p99 < 100 ? 'PASS' : 'MISS'}`);
  } finally {
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchChangesets();
