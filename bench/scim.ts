/**
 * SCIM over real HTTP on the embedded stack: the server runs in its own process (the launcher,
 * as `npm start` runs it), the load tool (autocannon) here in a second process. A bare Fastify
 * echo route, measured the same way, is the ceiling each SCIM figure is compared with. Beside
 * them, with no target, the write floor (bench/write-floor-server.ts): a bare route that only stores
 * a create's events durably, with and without the hash chain.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER_NODE_FLAGS } from '../services/launcher/src/services.ts';
import { ADMIN, figure, freePort, load, rssMb, spawnNode, waitFor, type Figure } from './harness.ts';

export async function benchScim(opts: { durationS?: number; people?: number } = {}): Promise<Figure[]> {
  const duration = opts.durationS ?? Number(process.env.BENCH_DURATION_S ?? 8);
  const target = opts.people ?? Number(process.env.BENCH_PEOPLE ?? 100_000);
  const figures: Figure[] = [];
  let seq = 0;

  // ---- ceiling: a bare Fastify echo route, kept running for the whole bench ----
  // This machine's speed drifts by tens of percent within minutes (other tenants share the host),
  // so every SCIM scenario is paired with an echo run at the same concurrency taken right before
  // it, and its ratio is to that run. Both servers run all along; the one not under load is idle.
  const echoPort = await freePort();
  const echo = spawnNode(['--input-type=module', '-e', `
    import Fastify from 'fastify';
    const app = Fastify({ logger: false });
    app.post('/echo', async (req) => req.body);
    app.get('/echo', async () => ({ ok: true }));
    // no-work routes that answer with the exact bytes and headers of a real SCIM response, set by
    // the bench once it has one (PUT /fixed/get|post): the ceiling for each shape of response
    const fixed = {};
    app.put('/fixed/:kind', async (req) => { fixed[req.params.kind] = req.body; return { ok: true }; });
    app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (req, body, done) => { try { done(null, JSON.parse(body)); } catch (e) { done(e); } });
    const answer = (kind, status) => async (req, reply) => { const f = fixed[kind]; reply.code(status).headers(f.headers); return f.body; };
    app.get('/fixed/*', answer('get', 200));
    app.post('/fixed/*', answer('post', 201));
    await app.listen({ port: ${echoPort}, host: '127.0.0.1' });
  `], {});
  await waitFor(`http://127.0.0.1:${echoPort}/echo`, echo.child, echo.out);
  const echoRun = async (c: number) => {
    const r = await load({ url: `http://127.0.0.1:${echoPort}/echo`, connections: c, duration, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userName: 'x', active: true }) }, echo.child.pid);
    return figure('echo (ceiling)', c, r, await rssMb(echo.child.pid!));
  };
  /** runs `scenario` right after an echo run at the same concurrency and records both */
  const paired = async (c: number, scenario: () => Promise<Figure>) => {
    const e = await echoRun(c);
    const f = await scenario();
    f.echoRps = e.rps;
    f.ratio = Math.round((f.rps / e.rps) * 100) / 100;
    figures.push(f);
    return f;
  };
  for (const c of [1, 64]) figures.push(await echoRun(c));

  // ---- not a target: the write floor, a bare route storing what a create stores (bench/write-floor-server.ts) ----
  const floorPort = await freePort();
  const floor = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'bench/write-floor-server.ts', String(floorPort)], {});
  await waitFor(`http://127.0.0.1:${floorPort}/healthz`, floor.child, floor.out);

  // ---- Muster, embedded stack ----
  const dataDir = await mkdtemp(join(tmpdir(), 'muster-bench-scim-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const srv = spawnNode([...LAUNCHER_NODE_FLAGS, '--import', 'tsx', 'services/launcher/src/main.ts'], {
    PORT: String(port), HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: ADMIN, NATS_URL: '',
    // the default configuration of `npm start` (LOG_LEVEL info: a line per request) unless BENCH_LOG_LEVEL says otherwise
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', MUSTER_PUBLIC_URL: base, MUSTER_SCIM_RATE_LIMIT: '1000000',
  });
  try {
    await waitFor(`${base}/healthz`, srv.child, srv.out);
    const A = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const list = (await (await fetch(`${base}/api/v1/lists`, { method: 'POST', headers: A, body: JSON.stringify({ name: 'Bench' }) })).json()) as { id: string };
    await fetch(`${base}/api/v1/lists/${list.id}/sync/scim`, { method: 'POST', headers: A, body: JSON.stringify({ uniqueIdentifier: 'userName' }) });
    const tok = (await (await fetch(`${base}/api/v1/lists/${list.id}/sync/scim/tokens`, { method: 'POST', headers: A, body: '{}' })).json()) as { token: string };
    const scimPath = `/scim/v2/lists/${list.id}`;
    const S = { authorization: `Bearer ${tok.token}`, 'content-type': 'application/scim+json' };
    /** a new user's body; numbered from `seq` (the people created so far) unless told otherwise */
    const userBody = (given?: number) => {
      const n = given ?? seq++;
      return JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${n}@bench.example`, externalId: `ext-${n}`, name: { givenName: `Given${n}`, familyName: `Family${n}` }, emails: [{ value: `user${n}@bench.example`, type: 'work', primary: true }], active: true });
    };
    const ids: string[] = [];
    const post = (c: number, d: number, amount?: number) => load({
      url: base, connections: c, ...(amount ? { amount } : { duration: d }),
      requests: [{ method: 'POST', path: `${scimPath}/Users`, headers: S, setupRequest: (req) => ({ ...req, body: userBody() }), onResponse: (status, body) => { if (status === 201) { try { ids.push(JSON.parse(body).id); } catch { /* ignore */ } } } }],
    }, srv.child.pid);
    const patch = (c: number) => load({
      url: base, connections: c, duration,
      requests: [{ method: 'PATCH', path: `${scimPath}/Users/x`, headers: S, setupRequest: (req) => {
        const id = ids[Math.floor(Math.random() * ids.length)];
        return { ...req, path: `${scimPath}/Users/${id}`, body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `Title ${Math.random().toString(36).slice(2, 8)}` }] }) };
      } }],
    }, srv.child.pid);
    // "a list already holding N people": wait until the projector has applied every write so far
    // (right after a burst of POSTs it is still catching up, and reads wait for their list's writes)
    const settled = async () => {
      for (let i = 0; i < 600; i++) {
        const h = (await (await fetch(`${base}/healthz`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { services: { projector: { lagEvents?: number } } };
        if (h.services.projector.lagEvents === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const getByUserName = (c: number) => paired(c, async () => {
      const label = `${seq} people`;
      const r = await load({
        url: base, connections: c, duration,
        requests: [{ method: 'GET', path: `${scimPath}/Users`, headers: { authorization: S.authorization }, setupRequest: (req) => ({ ...req, path: `${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * seq)}@bench.example"`)}` }) }],
      }, srv.child.pid);
      return figure(`GET filter userName (${label})`, c, r, await rssMb(srv.child.pid!));
    });
    // not a target: GET /Users/{id}, answered on the HTTP thread from the person stream and the
    // ingress's snapshot cache (no hop to the projector thread, one resource without a ListResponse);
    // the cheapest read shape this stack has, measured beside the filtered GET for comparison
    const getById = (c: number) => paired(c, async () => {
      const label = `${seq} people`;
      const r = await load({
        url: base, connections: c, duration,
        requests: [{ method: 'GET', path: `${scimPath}/Users`, headers: { authorization: S.authorization }, setupRequest: (req) => ({ ...req, path: `${scimPath}/Users/${ids[Math.floor(Math.random() * ids.length)]}` }) }],
      }, srv.child.pid);
      return figure(`GET /Users/{id} (${label})`, c, r, await rssMb(srv.child.pid!));
    });
    // not targets: the ceiling for each response shape, a bare Fastify route (in the echo process)
    // that does no work and answers with the bytes and headers of a real SCIM response of that kind
    const setFixed = async (kind: 'get' | 'post', res: Response) => {
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'etag', 'location']) { const v = res.headers.get(h); if (v) headers[h] = v; }
      await fetch(`http://127.0.0.1:${echoPort}/fixed/${kind}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ headers, body: await res.text() }) });
    };
    let fixedSeq = 10_000_000; // bodies for the no-work POST: the same shape, never created
    const fixedRun = (c: number, kind: 'get' | 'post') => paired(c, async () => {
      const r = await load({
        url: `http://127.0.0.1:${echoPort}`, connections: c, duration,
        requests: [kind === 'get'
          ? { method: 'GET', path: `/fixed${scimPath}/Users`, headers: { authorization: S.authorization }, setupRequest: (req) => ({ ...req, path: `/fixed${scimPath}/Users?filter=${encodeURIComponent(`userName eq "user${Math.floor(Math.random() * seq)}@bench.example"`)}` }) }
          : { method: 'POST', path: `/fixed${scimPath}/Users`, headers: S, setupRequest: (req) => ({ ...req, body: userBody(fixedSeq++) }) }],
      }, echo.child.pid);
      return figure(`${kind === 'get' ? 'GET filter' : 'POST'} bytes, no work (ceiling)`, c, r, await rssMb(echo.child.pid!));
    });
    let floorSeq = 20_000_000; // bodies for the write floor: the same shape as the creates
    const floorRun = (c: number, route: 'floor' | 'floor-unchained') => paired(c, async () => {
      const r = await load({
        url: `http://127.0.0.1:${floorPort}`, connections: c, duration,
        requests: [{ method: 'POST', path: `/${route}${scimPath}/Users`, headers: S, setupRequest: (req) => ({ ...req, body: userBody(floorSeq++) }) }],
      }, floor.child.pid);
      return figure(route === 'floor' ? 'POST durable append only (write floor)' : 'POST durable append, no hash chain', c, r, await rssMb(floor.child.pid!));
    });
    const postRun = (c: number) => paired(c, async () => figure('POST /Users (unique, durable)', c, await post(c, duration), await rssMb(srv.child.pid!)));
    const patchRun = (c: number) => paired(c, async () => figure('PATCH /Users/{id}', c, await patch(c), await rssMb(srv.child.pid!)));

    await postRun(1);
    // the filtered GET at about 1,000 people, then again after the concurrent POSTs (about 10,000)
    // and at 100,000: the target asks for the same rate at every size. Each read scenario starts
    // once the projector has applied every write so far (settled), before its echo run.
    if (seq < 1000) await post(64, 0, 1000 - seq);
    for (const c of [1, 64]) { await settled(); await getByUserName(c); }
    await settled();
    await postRun(64);
    // the write floor once Muster's projector has caught up (so that it runs on idle cores)
    await settled();
    await floorRun(64, 'floor');
    await floorRun(64, 'floor-unchained');
    for (const c of [1, 64]) { await settled(); await getByUserName(c); }
    await getById(64);
    await setFixed('get', await fetch(`${base}${scimPath}/Users?filter=${encodeURIComponent('userName eq "user1@bench.example"')}`, { headers: { authorization: S.authorization } }));
    await setFixed('post', await fetch(`${base}${scimPath}/Users`, { method: 'POST', headers: S, body: userBody() }));
    await fixedRun(64, 'get');
    await fixedRun(64, 'post');
    for (const c of [1, 64]) { await settled(); await patchRun(c); }
    if (seq < target) {
      const t0 = Date.now();
      await post(64, 0, target - seq);
      console.log(`loaded ${seq} people in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    for (const c of [1, 64]) { await settled(); await getByUserName(c); }
    await getById(64);
    const h = (await (await fetch(`${base}/healthz`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { services: { 'scim-ingress': { fastPath?: unknown } } };
    console.log(`requests answered by the SCIM fast path (before Fastify routing): ${JSON.stringify(h.services['scim-ingress'].fastPath)}`);
  } finally {
    srv.child.kill('SIGTERM');
    echo.child.kill('SIGTERM');
    floor.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }

  console.log('ratio = req/s ÷ the echo run taken right before the scenario, at the same concurrency');
  console.log('CPU µs/req = the server\'s CPU per request: main thread / its busiest other thread (Muster: the projector\'s) / all its other threads; then the load tool\'s');
  console.log('scenario                                   conns    req/s   p50 ms   p99 ms  errors  non2xx  RSS MB  echo req/s  ratio  CPU µs/req main/thread/others + tool');
  for (const f of figures) {
    const cpu = f.cpu ? `${f.cpu.main}/${f.cpu.busiest}/${f.cpu.others} + ${f.cpu.tool}` : '';
    console.log(`${f.scenario.padEnd(42)} ${String(f.connections).padStart(5)} ${String(f.rps).padStart(8)} ${String(f.p50).padStart(8)} ${String(f.p99).padStart(8)} ${String(f.errors).padStart(7)} ${String(f.non2xx).padStart(7)} ${String(f.rssMb).padStart(7)}  ${String(f.echoRps ?? '').padStart(10)}  ${String(f.ratio ?? '').padEnd(5)}  ${cpu}`);
  }
  const at64 = (s: string) => figures.filter((f) => f.scenario.startsWith(s) && f.connections === 64);
  const postF = at64('POST /Users')[0];
  const floorF = at64('POST durable append only')[0];
  const gets = at64('GET filter userName');
  console.log(`targets: durable POST ≥ 0.30 of echo with p99 < 40 ms → ${postF.ratio} / ${postF.p99} ms: ${postF.ratio! >= 0.3 && postF.p99 < 40 ? 'PASS' : 'MISS'}`);
  if (floorF) {
    const serverCpu = (f: Figure) => (f.cpu ? f.cpu.main + f.cpu.busiest + f.cpu.others : '?');
    const bare = at64('POST durable append, no hash chain')[0];
    console.log(`         (write floor, no target: storing a create's three events durably through the hash chain and nothing else → ${floorF.ratio} of echo, ${floorF.rps} req/s, ${floorF.p99} ms p99, server CPU ${serverCpu(floorF)} µs per create against ${serverCpu(postF)} for Muster's POST${bare ? `; without the hash chain ${bare.ratio} of echo, ${serverCpu(bare)} µs` : ''})`);
  }
  for (const getF of gets) {
    console.log(`         filter GET ≥ 0.70 of echo with p99 < 15 ms (${getF.scenario.replace('GET filter userName ', '')}) → ${getF.ratio} / ${getF.p99} ms: ${getF.ratio! >= 0.7 && getF.p99 < 15 ? 'PASS' : 'MISS'}`);
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchScim();
