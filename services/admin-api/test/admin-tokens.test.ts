/** Admin tokens: listed with label, expiry and last use; issued, rotated with an overlap, revoked; the last owner token guarded; MUSTER_ADMIN_TOKEN replaced, not added to. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startStack, type Stack } from '../../../tests/helpers.ts';
import { expectStatus, organisation } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const whoami = (token: string) => s.admin('GET', '/whoami', undefined, token);

describe('admin token lifecycle', () => {
  it('lists tokens (never their values) with label, expiry and last use; issues, rotates with an overlap, revokes', async () => {
    const list = await s.admin('GET', '/admin-tokens');
    expectStatus(list, 200);
    const env = list.body.items.find((t: { label: string }) => t.label === 'MUSTER_ADMIN_TOKEN');
    expect(env).toMatchObject({ role: 'owner', orgId: null, active: true, current: true, expiresAt: null, lastUsedAt: expect.any(String) });
    expect(list.text).not.toContain(ADMIN);

    const issued = await s.admin('POST', '/admin-tokens', { role: 'admin', label: 'deploy bot', expiresInDays: 30 });
    expectStatus(issued, 201);
    expect(issued.body.expiresAt.slice(0, 10)).toBe(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
    expectStatus(await whoami(issued.body.token), 200);
    const listed = (await s.admin('GET', '/admin-tokens')).body.items.find((t: { id: string }) => t.id === issued.body.id);
    expect(listed).toMatchObject({ label: 'deploy bot', role: 'admin', active: true, lifetimeDays: 30, lastUsedAt: expect.any(String) });
    expect(JSON.stringify(listed)).not.toContain(issued.body.token);

    // rotation: the new token keeps the lifetime; the old works until the overlap ends
    const rotated = await s.admin('POST', `/admin-tokens/${issued.body.id}/rotate`, { overlapHours: 1 });
    expectStatus(rotated, 201);
    expect(rotated.body).toMatchObject({ rotatedFrom: issued.body.id, role: 'admin', label: 'deploy bot' });
    expect(rotated.body.expiresAt.slice(0, 10)).toBe(issued.body.expiresAt.slice(0, 10));
    expectStatus(await whoami(issued.body.token), 200);
    expectStatus(await whoami(rotated.body.token), 200);
    // no overlap: the old one stops at once (expired)
    const again = await s.admin('POST', `/admin-tokens/${rotated.body.id}/rotate`, { overlapHours: 0 });
    expectStatus(again, 201);
    const gone = await whoami(rotated.body.token);
    expectStatus(gone, 401);
    expect(gone.body.error.message).toMatch(/expired/);
    expectStatus(await s.admin('POST', `/admin-tokens/${rotated.body.id}/rotate`, {}), 409);

    expectStatus(await s.admin('DELETE', `/admin-tokens/${again.body.id}`), 200);
    expectStatus(await whoami(again.body.token), 401);
    expect((await s.admin('GET', '/admin-tokens')).body.items.find((t: { id: string }) => t.id === again.body.id)).toMatchObject({ active: false, revokedReason: 'revoked' });
  });

  it('the last working install-wide owner token is revoked only with ?confirm=last-owner', async () => {
    const mine = (await s.admin('GET', '/admin-tokens')).body.items.find((t: { current: boolean }) => t.current);
    const last = await s.admin('DELETE', `/admin-tokens/${mine.id}`);
    expectStatus(last, 409);
    expect(last.body.error).toMatchObject({ code: 'last_owner_token', message: expect.stringMatching(/confirm=last-owner/) });
    const second = await s.admin('POST', '/admin-tokens', { role: 'owner', label: 'break glass', orgId: null });
    expectStatus(second, 201);
    expectStatus(await s.admin('DELETE', `/admin-tokens/${second.body.id}`), 200); // another owner is left (this one)
    const third = await s.admin('POST', '/admin-tokens', { role: 'owner', label: 'successor', orgId: null });
    expectStatus(await s.admin('DELETE', `/admin-tokens/${mine.id}`), 200); // the successor is left
    const lastOne = await s.admin('DELETE', `/admin-tokens/${third.body.id}`, undefined, third.body.token);
    expectStatus(lastOne, 409);
    expectStatus(await s.admin('DELETE', `/admin-tokens/${third.body.id}?confirm=last-owner`, undefined, third.body.token), 200);
    expectStatus(await whoami(third.body.token), 401);
  });
});

describe('organisation owners and the environment token', () => {
  it("an organisation's owner sees and manages its own tokens only", async () => {
    const other = await startStack();
    try {
      const a = await organisation(other, 'School A', 'business');
      const b = await organisation(other, 'School B', 'business');
      const seen = await other.admin('GET', '/admin-tokens', undefined, a.token);
      expect(seen.body.items.map((t: { orgId: string }) => t.orgId)).toEqual([a.id]);
      expectStatus(await other.admin('DELETE', `/admin-tokens/${b.tokenId}`, undefined, a.token), 404);
      expectStatus(await other.admin('POST', '/admin-tokens', { role: 'viewer', orgId: b.id }, a.token), 403);
      expectStatus(await other.admin('POST', '/admin-tokens', { role: 'viewer' }, a.token), 201);
      expectStatus(await other.admin('GET', `/organisations/${b.id}/admin-tokens`, undefined, a.token), 404);
    } finally {
      await other.stop();
    }
  });

  it('a new MUSTER_ADMIN_TOKEN replaces the previous one (revoked, reason replaced) instead of adding an owner', async () => {
    const first = await startStack({ MUSTER_ADMIN_TOKEN: 'first-admin-token-0123456789abcdefgh' });
    const dir = first.dataDir;
    await first.stop({ keepData: true });
    const second = await startStack({ MUSTER_ADMIN_TOKEN: 'second-admin-token-0123456789abcdefg' }, dir);
    try {
      expectStatus(await second.admin('GET', '/whoami', undefined, 'first-admin-token-0123456789abcdefgh'), 401);
      const items = (await second.admin('GET', '/admin-tokens', undefined, 'second-admin-token-0123456789abcdefg')).body.items;
      const envTokens = items.filter((t: { label: string }) => t.label === 'MUSTER_ADMIN_TOKEN');
      expect(envTokens.map((t: { active: boolean; revokedReason: string | null }) => [t.active, t.revokedReason]).sort()).toEqual([[false, 'replaced'], [true, null]]);
    } finally {
      await second.stop();
    }
  });
});
