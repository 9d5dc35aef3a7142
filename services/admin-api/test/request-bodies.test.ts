/** How the admin API reads request bodies: lenient where clients are sloppy and nothing is lost, one error shape otherwise. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startStack, type Stack } from '../../../tests/helpers.ts';

let s: Stack;
beforeAll(async () => { s = await startStack({}, undefined, { transport: 'http' }); });
afterAll(async () => { await s?.stop(); });

const send = async (method: string, path: string, body: string | undefined, contentType?: string) => {
  const res = await fetch(`${s.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, ...(contentType ? { 'content-type': contentType } : {}) }, body });
  return { status: res.status, body: (await res.json()) as any };
};

describe('admin API request bodies', () => {
  it('a JSON content type with no body is no body (DELETE, a bodiless POST), not an error', async () => {
    const list = await send('POST', '/lists', JSON.stringify({ name: 'Bodies' }), 'application/json');
    expect(list.status).toBe(201);
    const del = await send('DELETE', `/lists/${list.body.id}/sync/scim`, '', 'application/json');
    expect(del.status).toBe(409); // SCIM is not connected: the route ran
    expect(del.body.error.code).toBe('conflict');
    const tokens = await send('POST', `/lists/${list.body.id}/sync/scim/tokens`, undefined, 'application/json');
    expect(tokens.status).toBe(409);
    // a route that needs a body says which field is missing
    const missing = await send('POST', '/lists', '', 'application/json');
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid');
  });

  it('JSON sent as text/plain is 415 naming the accepted types; a broken JSON body is 400 invalid_json; no FST_ERR codes', async () => {
    const plain = await send('POST', '/lists', JSON.stringify({ name: 'X' }), 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.body.error).toEqual({ code: 'unsupported_media_type', message: expect.stringContaining('application/json') });
    const broken = await send('POST', '/lists', '{"name": ', 'application/json');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
    const nowhere = await send('GET', '/no-such-thing', undefined);
    expect(nowhere).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(JSON.stringify([plain.body, broken.body, nowhere.body])).not.toMatch(/FST_/);
  });
});

describe('admin API query parameters', () => {
  it('an unknown parameter of the people query is 400 naming it (a typo no longer returns everyone)', async () => {
    const list = await send('POST', '/lists', JSON.stringify({ name: 'Queries' }), 'application/json');
    const typo = await send('GET', `/lists/${list.body.id}/people?stauts=active`, undefined);
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toMatch(/unknown query parameter "stauts"/);
    const filter = await send('GET', `/lists/${list.body.id}/people?status=active&eq.nope=1`, undefined);
    expect(filter.status).toBe(400);
    expect(filter.body.error.message).toMatch(/unknown field "nope"/);
    expect((await send('GET', `/lists/${list.body.id}/people?status=active&limit=5`, undefined)).status).toBe(200);
    const op = await send('GET', `/lists/${list.body.id}/provisioning-log?operation=CREATE,CRAETE`, undefined);
    expect(op.status).toBe(400);
    expect(op.body.error.message).toMatch(/unknown operation "CRAETE"/);
    expect((await send('GET', `/lists/${list.body.id}/provisioning-log?operation=create,deactivate`, undefined)).status).toBe(200);
  });
});
