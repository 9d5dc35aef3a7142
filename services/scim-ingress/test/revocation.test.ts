import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';

let s: Stack;
beforeAll(async () => { s = await startStack({ MUSTER_AUTH_FAILURES_PER_MINUTE: '1000' }); }); // 60 deliberate 401s from one address
afterAll(async () => { await s?.stop(); });

describe('token revocation is immediate', () => {
  it('the request right after a revoke is 401, every time', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Revocations' });
    expect((await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'userName' })).status).toBe(201);
    for (let i = 0; i < 60; i++) {
      const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
      expect((await s.scim(tok.body.token, 'GET', `${tok.body.scimBaseUrl}/Users?count=1`)).status).toBe(200);
      expect((await s.admin('DELETE', `/lists/${list.body.id}/sync/scim/tokens/${tok.body.id}`)).status).toBe(204);
      const after = await s.scim(tok.body.token, 'GET', `${tok.body.scimBaseUrl}/Users?count=1`);
      expect(after.status, `attempt ${i}`).toBe(401);
      expect(after.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
  }, 60_000);
});
