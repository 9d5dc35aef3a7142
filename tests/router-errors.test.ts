import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

/** a raw request, so the malformed path reaches the server as sent */
function raw(path: string): Promise<{ status: number; type: string; body: any }> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { authorization: 'Bearer x' } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('errors the router raises before any route runs', () => {
  it('a malformed %-escape under /scim/ is a SCIM error, not Fastify\'s default body', async () => {
    const res = await raw('/scim/v2/lists/%E0%A4%A/Users');
    expect(res.status).toBe(400);
    expect(res.type).toContain('application/scim+json');
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidSyntax' });
  });
  it('the same under /api/ is the admin API\'s JSON error', async () => {
    const res = await raw('/api/v1/lists/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_request' } });
  });
});

describe('outside every service\'s routes', () => {
  it('an unknown path, or bad JSON sent to one, is the admin API\'s JSON error (no Fastify default body, no FST_ERR_* code)', async () => {
    for (const path of ['/nope', '/favicon.ico', '/api/v2/lists', '/docs/nope', '/healthz/extra']) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toEqual({ error: { code: 'not_found', message: `no route GET ${path}` } });
    }
    const bad = await fetch(`${s.url}/nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'invalid_json' } });
    expect(text).not.toContain('FST_');
    // SCIM keeps its own shape under /scim
    const scim = await fetch(`${s.url}/scim/v2/lists/x/Nope`);
    expect(scim.status).toBe(401); // no token: SCIM's 401, in SCIM's error schema
    expect(await scim.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'] });
  });
});

/** bytes straight onto a socket (requests Node's HTTP parser refuses); the whole answer as text */
function rawBytes(bytes: Buffer): Promise<string> {
  const { port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1', () => sock.end(bytes));
    let text = '';
    sock.on('data', (d) => { text += d.toString('latin1'); });
    sock.on('close', () => resolve(text));
    sock.on('error', reject);
  });
}

function parse(answer: string) {
  const [head, body] = answer.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body) };
}

describe('requests the HTTP parser refuses before Fastify sees them', () => {
  it('a raw non-ASCII byte in a /scim/ request target is a 400 SCIM error', async () => {
    const res = parse(await rawBytes(Buffer.concat([Buffer.from('GET /scim/v2/lists/x/Users?filter=userName eq "'), Buffer.from([0xe9]), Buffer.from('" HTTP/1.1\r\nHost: x\r\n\r\n')])));
    expect(res.status).toBe(400);
    expect(res.head).toMatch(/content-type: application\/scim\+json/i);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidSyntax' });
  });
  it('elsewhere it is the admin API\'s JSON error', async () => {
    const res = parse(await rawBytes(Buffer.concat([Buffer.from('GET /api/v1/lists/'), Buffer.from([0xe9]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'bad_request', message: expect.stringContaining('cannot be parsed as HTTP') } });
  });
  it('headers over the size limit are 431 in the caller\'s dialect', async () => {
    const res = parse(await rawBytes(Buffer.from(`GET /scim/v2/lists/x/Users HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)));
    expect(res.status).toBe(431);
    expect(res.body).toMatchObject({ status: '431', detail: expect.stringContaining('headers are larger') });
  });
});
