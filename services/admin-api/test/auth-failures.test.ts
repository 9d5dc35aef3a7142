/** Brute force: a client address that keeps failing authentication is answered 429 with Retry-After, on the admin API and on SCIM, whatever token it sends next. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startStack, type Stack } from '../../../tests/helpers.ts';
import { expectStatus, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack({ MUSTER_AUTH_FAILURES_PER_MINUTE: '5' }, undefined, { transport: 'http' }); });
afterAll(async () => { await s?.stop(); });

describe('failed authentication is rate-limited per client address', () => {
  it('SCIM: five wrong tokens, then 429 with Retry-After (SCIM error) even for the right token; the admin API counts its own', async () => {
    const list = await scimList(s);
    const users = `${list.base}/Users?filter=${encodeURIComponent('userName eq "nobody"')}`;
    expectStatus(await s.scim(list.token, 'GET', users), 200);
    for (let i = 0; i < 5; i++) expectStatus(await s.scim(`sct_wrong${i}`, 'GET', users), 401);
    const blocked = await s.scim(list.token, 'GET', users);
    expectStatus(blocked, 429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(blocked.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429', detail: expect.stringMatching(/failed authentications/) });
    // the admin API keeps its own count: still open
    expectStatus(await s.admin('GET', '/whoami'), 200);
    for (let i = 0; i < 5; i++) expectStatus(await s.admin('GET', '/whoami', undefined, `mat_wrong${i}`), 401);
    const admin = await s.admin('GET', '/whoami', undefined, ADMIN);
    expectStatus(admin, 429);
    expect(admin.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(admin.body.error.code).toBe('too_many_failed_attempts');
  });
});
