import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { SCIM_ERROR, createUser, eventually, expectStatus, scimList } from './support.ts';

let s: Stack;
// The SCIM ingress writes "last used" every 5 s (setInterval). Only setInterval is faked, so this file
// can fire that flush on demand instead of sleeping; every other timer (and Date) stays real.
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  s = await startStack();
});
afterAll(async () => { await s?.stop(); vi.useRealTimers(); });

const TOKEN = /^sct_[A-Za-z0-9_-]{43}$/;

function expect401(res: { status: number; body: any; headers: Headers }) {
  expectStatus(res, 401);
  expect(res.body).toMatchObject({ schemas: [SCIM_ERROR], status: '401', detail: expect.any(String) });
  expect(res.body.Resources).toBeUndefined();
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

describe('issuing tokens', () => {
  it('returns sct_ + 256 bits once, with the SCIM base URL; listings show prefix, created, last used, expiry, never the token', async () => {
    const l = await scimList(s, { name: 'Issue' });
    const a = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, { expiresInDays: 30 });
    expectStatus(a, 201);
    expect(a.body.token).toMatch(TOKEN);
    expect(Buffer.from(a.body.token.slice(4), 'base64url')).toHaveLength(32); // 256 bits of randomness
    expect(a.body).toMatchObject({ id: expect.any(String), prefix: a.body.token.slice(0, 8), scimBaseUrl: `${s.url.replace('127.0.0.1', 'localhost')}/scim/v2/lists/${l.id}` });
    expect(Date.parse(a.body.expiresAt) - Date.parse(a.body.createdAt)).toBe(30 * 86_400_000);
    expect(a.body.token).not.toBe(l.token);

    const listing = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expectStatus(listing, 200);
    expect(listing.body.items).toHaveLength(2); // several active tokens per list
    const text = JSON.stringify(listing.body);
    expect(text).not.toContain(a.body.token);
    expect(text).not.toContain(l.token);
    expect(text).not.toContain(createHash('sha256').update(a.body.token).digest('hex')); // nor its hash
    const item = listing.body.items.find((t: { id: string }) => t.id === a.body.id);
    expect(item).toEqual({
      id: a.body.id, prefix: a.body.token.slice(0, 8), label: null, createdAt: a.body.createdAt, lastUsedAt: null, expiresAt: a.body.expiresAt,
      revokedAt: null, rotatedFrom: null, status: 'active',
    });
    expect(Object.keys(item)).not.toContain('token');
  });

  it('stores only the hash: the token string is nowhere in the event log or the read models', async () => {
    const l = await scimList(s, { name: 'Hash only' });
    await createUser(s, l, 'hash'); // the token has been used, too
    await vi.advanceTimersByTimeAsync(5_000);
    const events = await s.running.adapters.store.readAll();
    const log = JSON.stringify(events);
    expect(log).not.toContain(l.token);
    expect(log).not.toContain(l.token.slice(4)); // not even without its prefix
    const issued = events.find((e) => e.type === 'ScimTokenIssued' && e.data.tokenId === l.tokenId)!;
    expect(issued.data.hash).toBe(createHash('sha256').update(l.token).digest('hex'));
    const rs = s.running.adapters.readStore;
    for (const name of ['lists', 'people', 'tokens', 'token_usage', 'provisioning_log', 'admin_tokens', 'organisations', 'groups']) {
      const docs = await rs.collection(name).find({});
      expect(JSON.stringify(docs), name).not.toContain(l.token.slice(4));
    }
  });

  it('records when a token was last used', async () => {
    const l = await scimList(s, { name: 'Last used' });
    const before = Date.now();
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    await vi.advanceTimersByTimeAsync(5_000); // the ingress's periodic flush
    const item = await eventually(async () => {
      const listing = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
      const t = listing.body.items.find((x: { id: string }) => x.id === l.tokenId);
      expect(t.lastUsedAt).not.toBeNull();
      return t;
    });
    expect(Date.parse(item.lastUsedAt)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(item.lastUsedAt)).toBeLessThanOrEqual(Date.now());
  });
});

describe('revoking and rotating', () => {
  it('revoke: the next request with the token is 401 with a SCIM error; other tokens keep working', async () => {
    const l = await scimList(s, { name: 'Revoke' });
    const other = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {});
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.admin('DELETE', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}`), 204);
    // (the admin sees it revoked first: the ingress's token cache follows the event log asynchronously and can
    // lag the revoke response by a moment — a known gap in the ingress, see the handover notes)
    const listing = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expect(listing.body.items.find((t: { id: string }) => t.id === l.tokenId)).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect401(await s.scim(l.token, 'GET', `${l.base}/Users`));
    expect401(await s.scim(l.token, 'POST', `${l.base}/Users`, { userName: 'x@example.org' }));
    expectStatus(await s.scim(other.body.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.admin('DELETE', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}`), 204); // idempotent
    expectStatus(await s.admin('DELETE', `/lists/${l.id}/sync/scim/tokens/no-such-token`), 404);
  });

  it('rotate: the new token works at once, the old one keeps working for the overlap window, then stops', async () => {
    const l = await scimList(s, { name: 'Rotate' });
    const overlapHours = 0.001; // 3.6 s: long enough for the in-overlap checks on a loaded machine
    const rotated = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}/rotate`, { overlapHours });
    expectStatus(rotated, 201);
    expect(rotated.body.token).toMatch(TOKEN);
    expect(rotated.body.token).not.toBe(l.token);
    expect(rotated.body).toMatchObject({ prefix: rotated.body.token.slice(0, 8), scimBaseUrl: l.base, previous: { id: l.tokenId, expiresAt: expect.any(String) } });
    const oldExpires = Date.parse(rotated.body.previous.expiresAt);
    expect(oldExpires - Date.parse(rotated.body.createdAt)).toBe(Math.round(overlapHours * 3_600_000));

    expectStatus(await s.scim(rotated.body.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200); // inside the overlap
    const listing = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expect(listing.body.items.find((t: { id: string }) => t.id === rotated.body.id)).toMatchObject({ rotatedFrom: l.tokenId, status: 'active', expiresAt: null });
    expect(listing.body.items.find((t: { id: string }) => t.id === l.tokenId)).toMatchObject({ expiresAt: rotated.body.previous.expiresAt, status: 'active' });

    await new Promise((r) => setTimeout(r, Math.max(0, oldExpires - Date.now() + 20)));
    expect401(await s.scim(l.token, 'GET', `${l.base}/Users`));
    expectStatus(await s.scim(rotated.body.token, 'GET', `${l.base}/Users`), 200);
    const after = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expect(after.body.items.find((t: { id: string }) => t.id === l.tokenId).status).toBe('expired');
    // an expired (or revoked) token cannot be rotated
    expectStatus(await s.admin('POST', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}/rotate`, {}), 409);
  });

  it('rotate defaults to a 24 hour overlap', async () => {
    const l = await scimList(s, { name: 'Rotate default' });
    const rotated = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}/rotate`);
    expectStatus(rotated, 201);
    expect(Date.parse(rotated.body.previous.expiresAt) - Date.parse(rotated.body.createdAt)).toBe(24 * 3_600_000);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.admin('POST', `/lists/${l.id}/sync/scim/tokens/${l.tokenId}/rotate`, { overlapHours: -1 }), 400);
    // issuing needs no body either; without expiresInDays a token does not expire
    const plain = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`);
    expectStatus(plain, 201);
    expect(plain.body.expiresAt).toBeNull();
  });
});

describe('a token works only on its own list', () => {
  it("another list's base URL with it is 401, never data", async () => {
    const a = await scimList(s, { name: 'List A' });
    const b = await scimList(s, { name: 'List B' });
    const onB = await createUser(s, b, 'bea');
    expect401(await s.scim(a.token, 'GET', `${b.base}/Users`));
    expect401(await s.scim(a.token, 'GET', `${b.base}/Users/${onB}`));
    expect401(await s.scim(a.token, 'POST', `${b.base}/Users`, { userName: 'intruder@example.org' }));
    expect401(await s.scim(a.token, 'GET', `${b.base}/ServiceProviderConfig`));
    // and A's own URL does not show B's people
    const own = await s.scim(a.token, 'GET', `${a.base}/Users/${onB}`);
    expectStatus(own, 404);
    const people = await s.admin('GET', `/lists/${b.id}/people`);
    expect(people.body.items.map((p: { id: string }) => p.id)).toEqual([onB]);
  });

  it('a token id naming a built-in object property (constructor, __proto__, ...) is 404 and writes nothing; SCIM keeps working', async () => {
    const l = await scimList(s, { name: 'Built-in ids' });
    const stream = `scimtokens-${l.id}`;
    const before = (await s.running.adapters.store.readStream(stream)).length;
    for (const id of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expectStatus(await s.admin('DELETE', `/lists/${l.id}/sync/scim/tokens/${id}`), 404);
      expectStatus(await s.admin('POST', `/lists/${l.id}/sync/scim/tokens/${id}/rotate`, {}), 404);
    }
    expect((await s.running.adapters.store.readStream(stream)).length).toBe(before);
    const fresh = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {});
    expectStatus(fresh, 201);
    expectStatus(await s.scim(fresh.body.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    expect401(await s.scim('sct_wrong', 'GET', `${l.base}/Users`));
  });

  it('a log already holding a revocation of such an id (written before the fix) still authenticates every issued token', async () => {
    const l = await scimList(s, { name: 'Bogus revocation' });
    const stream = `scimtokens-${l.id}`;
    const now = new Date().toISOString();
    const id = `bogus-${Date.now()}`;
    await s.running.adapters.store.appendToStream(stream, [{
      eventId: crypto.randomUUID(), type: 'ScimTokenRevoked', data: { listId: '', tokenId: 'constructor', reason: 'revoked' },
      metadata: { eventId: id, version: 1, occurredAt: now, correlationId: id, causationId: id, actor: { kind: 'admin', id: 'test' }, source: { kind: 'admin-api' } },
    }], { expectedRevision: 'any' });
    const later = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {});
    expectStatus(later, 201);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.scim(later.body.token, 'GET', `${l.base}/Users`), 200);
    expect401(await s.scim('sct_wrong', 'GET', `${l.base}/Users`));
    const listing = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expectStatus(listing, 200);
    expect(listing.body.items.map((t: { id: string }) => t.id).sort()).toEqual([l.tokenId, later.body.id].sort());
  });

  it('no token, a malformed one or an admin token is 401', async () => {
    const l = await scimList(s, { name: 'No token' });
    expect401(await s.scim('', 'GET', `${l.base}/Users`));
    expect401(await s.scim('sct_not-a-real-token', 'GET', `${l.base}/Users`));
    expect401(await s.scim('test-admin-token-0123456789', 'GET', `${l.base}/Users`));
  });
});
