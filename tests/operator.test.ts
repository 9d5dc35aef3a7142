/**
 * The operator endpoints on a running stack over real HTTP: /healthz and /readyz say nothing of the
 * internals without an install-wide admin token, /metrics is Prometheus text for operators and the
 * scrape token only, and slow clients are cut off by the request and header timeouts.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organisation } from '../services/admin-api/test/support.ts';
import { ADMIN, OPERATOR, startStack, type Stack } from './helpers.ts';

const SCRAPE = 'scrape-token-for-prometheus-0123456789';

describe('operator endpoints', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ MUSTER_METRICS_TOKEN: SCRAPE, MUSTER_HTTP_REQUEST_TIMEOUT_MS: '2000', MUSTER_HTTP_HEADERS_TIMEOUT_MS: '1000' }, undefined, { transport: 'http' });
  });
  afterAll(async () => { await s?.stop(); });

  it('/healthz and /readyz show only a status to anyone but an install-wide admin token', async () => {
    const org = await organisation(s, 'Northwind', 'business', 'owner');
    for (const path of ['/healthz', '/readyz']) {
      for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${org.token}` }, { authorization: 'Bearer not-a-token' }, { authorization: `Bearer ${SCRAPE}` }]) {
        const res = await fetch(`${s.url}${path}`, { headers });
        expect(res.status, path).toBe(200);
        expect(Object.keys(await res.json() as object), `${path} ${JSON.stringify(headers)}`).toEqual(['status']);
      }
    }
    const health = await (await fetch(`${s.url}/healthz`, OPERATOR)).json() as { status: string; services: Record<string, unknown> };
    expect(health.status).toBe('ok');
    expect(Object.keys(health.services).sort()).toEqual(['admin-api', 'entra-sync', 'mapping', 'projector', 'scim-ingress']);
    expect(await (await fetch(`${s.url}/readyz`, OPERATOR)).json()).toEqual({ status: 'ready', reasons: [] });
  });

  it('/metrics: Prometheus text of requests by route, SCIM calls by IdP and status, appends, syncs, lag and runs; 401 without a token', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Metered' });
    await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'userName' });
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
    const base = String(tok.body.scimBaseUrl).replace('localhost', '127.0.0.1');
    const post = (userName: string, ua: string) => fetch(`${base}/Users`, {
      method: 'POST', headers: { authorization: `Bearer ${tok.body.token}`, 'content-type': 'application/scim+json', 'user-agent': ua },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName }),
    });
    expect((await post('ada', 'Okta SCIM Client 1.0.0')).status).toBe(201);
    expect((await post('ada', 'Okta SCIM Client 1.0.0')).status).toBe(409);
    expect((await post('bob', 'Azure AD SCIM Client')).status).toBe(201);
    expect((await post('eve', 'curl/8.0')).status).toBe(201);
    expect((await s.admin('PUT', `/lists/${list.body.id}/mappings`, { mappings: [] })).status).toBeLessThan(500);

    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    for (const token of [ADMIN, SCRAPE]) {
      const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      expect(value(/^muster_scim_requests_total\{idp="Okta",method="POST",resource="Users",status="201"\} (\d+)/m)).toBe(1);
      expect(value(/^muster_scim_requests_total\{idp="Okta",method="POST",resource="Users",status="409"\} (\d+)/m)).toBe(1);
      expect(value(/^muster_scim_requests_total\{idp="Microsoft Entra ID",method="POST",resource="Users",status="201"\} (\d+)/m)).toBe(1);
      expect(value(/^muster_scim_requests_total\{idp="other",method="POST",resource="Users",status="201"\} (\d+)/m)).toBe(1);
      // routes by pattern, not by id
      expect(value(/^muster_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/lists",status="201"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(list.body.id);
      expect(value(/^muster_event_store_append_seconds_count\{outcome="ok"\} (\d+)/m)).toBeGreaterThan(3);
      expect(value(/^muster_event_store_sync_seconds_count (\d+)/m)).toBeGreaterThan(0);
      expect(value(/^muster_projection_lag_events\{service="projector"\} (\d+)/m)).toBeGreaterThanOrEqual(0);
      expect(text).toMatch(/^muster_remap_runs\{outcome="finished"\} \d+/m);
      expect(text).toMatch(/^muster_entra_sync_runs\{outcome="failed"\} 0/m);
      expect(text).toMatch(/^muster_process_resident_memory_bytes \d+/m);
      expect(text).not.toContain(tok.body.token);
    }
  });

  it('a body trickled a byte a second is cut off by the request timeout; headers that never end, by the header timeout', async () => {
    const { port } = new URL(s.url);
    const trickle = (head: string, body: boolean) => new Promise<{ ms: number; answer: string }>((resolve) => {
      const started = Date.now();
      const sock = connect(Number(port), '127.0.0.1');
      let answer = '';
      sock.on('data', (d) => { answer += d; });
      sock.on('error', () => {});
      const timer = setInterval(() => { if (!sock.destroyed) sock.write(body ? 'x' : 'X-Slow: y\r\n'); }, 1_000);
      sock.on('close', () => { clearInterval(timer); resolve({ ms: Date.now() - started, answer }); });
      sock.write(head);
    });
    const [slowBody, slowHeaders] = await Promise.all([
      trickle(`POST /api/v1/lists HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`, true),
      trickle('GET /healthz HTTP/1.1\r\nHost: x\r\n', false),
    ]);
    expect(slowBody.ms).toBeLessThan(6_000);
    expect(slowBody.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(slowHeaders.ms).toBeLessThan(5_000);
    expect(slowHeaders.answer).toMatch(/^HTTP\/1\.1 408/);
  }, 20_000);
});
