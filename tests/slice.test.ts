import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR, startStack, natsAvailable, type Stack } from './helpers.ts';

const natsUp = await natsAvailable();
const requireNats = process.env.MUSTER_REQUIRE_NATS === '1';
if (!natsUp && !requireNats) console.log('SKIPPED slice over NATS: nothing on 127.0.0.1:4222 (set MUSTER_REQUIRE_NATS=1 to make this fatal)');

const modes: Array<[string, Record<string, string>]> = [['in-process bus', {}]];
if (natsUp || requireNats) modes.push(['NATS bus', { NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' }]);

describe.each(modes)('first vertical slice on the one-process runtime (%s)', (_name, env) => {
  let s: Stack;
  beforeAll(async () => { s = await startStack(env); });
  afterAll(async () => { await s?.stop(); });

  it('list → SCIM connect → token → SCIM user → roster', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Staff' });
    expect(list.status).toBe(201);
    expect(list.body).toMatchObject({ id: expect.any(String), name: 'Staff' });
    const id = list.body.id;

    const connect = await s.admin('POST', `/lists/${id}/sync/scim`, { uniqueIdentifier: 'employeeNumber' });
    expect(connect.status).toBe(201);
    expect(connect.body.connected).toBe(true);

    const tok = await s.admin('POST', `/lists/${id}/sync/scim/tokens`, {});
    expect(tok.status).toBe(201);
    expect(tok.body.token).toMatch(/^sct_[A-Za-z0-9_-]{43,}$/);
    expect(tok.body.scimBaseUrl).toBe(`http://localhost:${new URL(s.url).port}/scim/v2/lists/${id}`);
    const listing = await s.admin('GET', `/lists/${id}/sync/scim/tokens`);
    expect(JSON.stringify(listing.body)).not.toContain(tok.body.token);
    expect(listing.body.items[0].prefix).toBe(tok.body.token.slice(0, 8));

    const base = tok.body.scimBaseUrl;
    const created = await s.scim(tok.body.token, 'POST', `${base}/Users`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      userName: 'ada@example.org', name: { givenName: 'Ada', familyName: 'Lovelace' }, active: true,
      emails: [{ value: 'ada@example.org', type: 'work', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'E001', department: 'Analytical Engines' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toContain('application/scim+json');
    expect(created.headers.get('location')).toContain(`/Users/${created.body.id}`);

    const got = await s.scim(tok.body.token, 'GET', `${base}/Users/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: created.body.id, userName: 'ada@example.org', name: { givenName: 'Ada', familyName: 'Lovelace' } });

    const events = await s.running.adapters.store.readStream(`person-${created.body.id}`);
    expect(events.map((e) => e.type)).toEqual(['PersonProvisioned']);

    const people = await s.admin('GET', `/lists/${id}/people`);
    expect(people.status).toBe(200);
    expect(people.body.total).toBe(1);
    expect(people.body.items[0]).toMatchObject({ id: created.body.id, status: 'active', fields: { firstName: 'Ada', lastName: 'Lovelace', employeeNumber: 'E001', department: 'Analytical Engines', email: 'ada@example.org' } });
  });

  it('admin API without a valid token is 401 with a JSON error', async () => {
    const none = await fetch(`${s.url}/api/v1/lists`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const wrong = await s.admin('GET', '/lists', undefined, 'nope');
    expect(wrong.status).toBe(401);
  });

  it('/healthz is 200 with every service ready', async () => {
    const res = await fetch(`${s.url}/healthz`, OPERATOR);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body.services).sort()).toEqual(['admin-api', 'entra-sync', 'mapping', 'projector', 'scim-ingress']);
  });
});
