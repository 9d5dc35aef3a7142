import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { DEFAULT_FIELD_KEYS, expectStatus, organisation } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const entra = {
  tenantId: '0b2f6a52-3d61-4c1b-9b8e-1f7a2d3c4e5f', clientId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', clientSecret: 'app-secret-value-123',
  groupIds: ['5d7c4f2a-1b3e-4c6d-8e9f-0a1b2c3d4e5f'], schedule: null,
};

describe('one sync provider per list', () => {
  it('connecting SCIM on an Entra-synced list is 409, and the reverse; disconnecting frees the list', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Staff' });
    const connect = await s.admin('POST', `/lists/${list.body.id}/sync/entra`, { ...entra, uniqueIdentifier: 'email' });
    expectStatus(connect, 201);
    expect(connect.body.fieldsAdded).toEqual(DEFAULT_FIELD_KEYS);
    expect(JSON.stringify(connect.body)).not.toContain(entra.clientSecret);

    const scim = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' });
    expectStatus(scim, 409);
    expect(scim.body.error.message).toMatch(/synced by entra; one sync provider per list/);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {}), 409);

    const status = await s.admin('GET', `/lists/${list.body.id}/sync/entra`);
    expect(status.body).toMatchObject({ connected: true, provider: 'entra', tenantId: entra.tenantId, clientId: entra.clientId, uniqueIdentifier: 'email' });
    const fields = await s.admin('GET', `/lists/${list.body.id}/fields`);
    expect(fields.body.items.find((f: { key: string }) => f.key === 'firstName').syncedBy).toBe('entra');

    expectStatus(await s.admin('DELETE', `/lists/${list.body.id}/sync/entra`), 200);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' }), 201);
    const reverse = await s.admin('POST', `/lists/${list.body.id}/sync/entra`, entra);
    expectStatus(reverse, 409);
    expect(reverse.body.error.message).toMatch(/synced by scim/);
  });

  it('bad Entra ids are 400 with the reason', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Other' });
    const bad = await s.admin('POST', `/lists/${list.body.id}/sync/entra`, { tenantId: 'contoso', clientId: entra.clientId });
    expectStatus(bad, 400);
    expect(bad.body.error.message).toMatch(/tenantId/);
  });

  it('Entra sync is open from the pro plan, the lowest one (SCIM needs business)', async () => {
    const pro = await organisation(s, 'Pro school', 'pro');
    const list = await s.admin('POST', '/lists', { name: 'Pupils' }, pro.token);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/entra`, entra, pro.token), 201);
  });
});
