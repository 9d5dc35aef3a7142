import { request } from 'node:http';
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
