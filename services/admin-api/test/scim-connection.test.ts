import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { DEFAULT_FIELD_KEYS, ENTERPRISE, SCIM_ERROR, createUser, expectStatus, person, scimList, scimUser } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

describe('connecting SCIM', () => {
  it.each([
    ['employeeNumber', 'E-ada'],
    ['userName', 'ada@example.org'],
    ['email', 'ada.work@example.org'],
  ] as const)('connects with %s as the unique identifier, creating the 9 default fields and mappings', async (uid, expected) => {
    const list = await s.admin('POST', '/lists', { name: `Students by ${uid}` });
    const connect = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: uid });
    expectStatus(connect, 201);
    expect(connect.body).toMatchObject({ connected: true, provider: 'scim', uniqueIdentifier: uid, scimBaseUrl: expect.stringContaining(`/scim/v2/lists/${list.body.id}`) });
    expect(connect.body.fieldsAdded).toEqual(DEFAULT_FIELD_KEYS);

    const fields = await s.admin('GET', `/lists/${list.body.id}/fields`);
    expect(fields.body.items.map((f: { label: string }) => f.label)).toEqual(['First Name', 'Last Name', 'Email', 'Display Name', 'Employee Number', 'Primary Email', 'Phone', 'Job Title', 'Department']);
    expect(fields.body.items.every((f: { syncedBy: string }) => f.syncedBy === 'scim')).toBe(true);
    const mappings = await s.admin('GET', `/lists/${list.body.id}/mappings`);
    expectStatus(mappings, 200);
    expect(mappings.body.mappings).toHaveLength(9);
    expect(mappings.body.mappings.map((m: { field: string }) => m.field).sort()).toEqual([...DEFAULT_FIELD_KEYS].sort());

    const status = await s.admin('GET', `/lists/${list.body.id}/sync/scim`);
    expect(status.body).toMatchObject({ connected: true, uniqueIdentifier: uid });

    // the chosen identifier is the person's visible id; the IdP's own id is kept apart as the sync anchor
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
    const created = await s.scim(tok.body.token, 'POST', `${tok.body.scimBaseUrl}/Users`, scimUser('ada', {
      externalId: '00u-okta-ada', emails: [{ value: 'ada.home@example.org', type: 'home' }, { value: 'ada.work@example.org', type: 'work', primary: true }],
    }));
    expectStatus(created, 201);
    const p = await person(s, list.body.id, created.body.id);
    expect(p.uniqueId).toEqual({ kind: uid, value: expected });
    expect(p.syncAnchor).toEqual({ scimId: created.body.id, externalId: '00u-okta-ada', userName: 'ada@example.org' });
  });

  it('keeps fields that already exist and only adds the missing defaults', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Contractors' });
    const own = await s.admin('POST', `/lists/${list.body.id}/fields`, { key: 'email', label: 'Contact email', type: 'email', required: true });
    expectStatus(own, 201);
    const connect = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' });
    expectStatus(connect, 201);
    expect(connect.body.fieldsAdded).toEqual(DEFAULT_FIELD_KEYS.filter((k) => k !== 'email'));
    const fields = await s.admin('GET', `/lists/${list.body.id}/fields`);
    expect(fields.body.items).toHaveLength(9);
    expect(fields.body.items.find((f: { key: string }) => f.key === 'email')).toMatchObject({ label: 'Contact email', required: true });
  });

  it('refuses a second connection with 409', async () => {
    const l = await scimList(s, { name: 'Twice' });
    const again = await s.admin('POST', `/lists/${l.id}/sync/scim`, { uniqueIdentifier: 'email' });
    expectStatus(again, 409);
    expect(again.body.error.message).toMatch(/already connected/);
  });

  it('validates the unique identifier choice', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Bad uid' });
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'shoeSize' }), 400);
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/sync/scim`, {}), 400);
  });

  it('issuing a token or disconnecting needs SCIM connected (409)', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Not connected' });
    const tok = await s.admin('POST', `/lists/${list.body.id}/sync/scim/tokens`, {});
    expectStatus(tok, 409);
    expect(tok.body.error.message).toMatch(/not connected/);
    expectStatus(await s.admin('DELETE', `/lists/${list.body.id}/sync/scim`), 409);
  });
});

describe('disconnecting SCIM', () => {
  it('revokes every token at once, keeps people, frees synced fields, and can reconnect', async () => {
    const l = await scimList(s, { name: 'Staff to disconnect' });
    const second = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {});
    const ada = await createUser(s, l, 'ada');
    await createUser(s, l, 'grace');
    const local = await s.admin('POST', `/lists/${l.id}/fields`, { key: 'locker', label: 'Locker', type: 'number' });
    expectStatus(local, 201);

    // while connected: synced fields and status are the IdP's
    const locked = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { firstName: 'Augusta' } });
    expectStatus(locked, 409);
    expect(locked.body.error.message).toContain('SCIM');

    const configured = (await s.admin('GET', `/lists/${l.id}/mappings`)).body.mappings.map((m: { field: string }) => (m.field === 'email' ? { ...m, transform: 'lowercase' } : m));
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: configured }), 200);

    const off = await s.admin('DELETE', `/lists/${l.id}/sync/scim`);
    expectStatus(off, 200);
    expect(off.body).toMatchObject({ connected: false, revokedTokens: 2, peopleKept: true });

    const tokens = await s.admin('GET', `/lists/${l.id}/sync/scim/tokens`);
    expectStatus(tokens, 200);
    expect(tokens.body.items.map((t: { status: string }) => t.status)).toEqual(['revoked', 'revoked']);
    for (const token of [l.token, second.body.token]) {
      const res = await s.scim(token, 'GET', `${l.base}/Users`);
      expectStatus(res, 401);
      expect(res.body).toMatchObject({ schemas: [SCIM_ERROR], status: '401' });
      expect(res.headers.get('content-type')).toContain('application/scim+json');
    }

    const people = await s.admin('GET', `/lists/${l.id}/people`);
    expect(people.body.total).toBe(2);
    expect(people.body.items.every((p: { status: string }) => p.status === 'active')).toBe(true);

    const fields = await s.admin('GET', `/lists/${l.id}/fields`);
    expect(fields.body.items.every((f: { syncedBy: string | null }) => f.syncedBy === null)).toBe(true);
    const edited = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { firstName: 'Augusta', locker: 12 } });
    expectStatus(edited, 200);
    expect(edited.body.fields).toMatchObject({ firstName: 'Augusta', locker: 12, lastName: 'Tester' });
    const off2 = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { status: 'inactive' });
    expectStatus(off2, 200);
    expect(off2.body.status).toBe('inactive');
    // and admins can add people by hand again
    expectStatus(await s.admin('POST', `/lists/${l.id}/people`, { fields: { firstName: 'Hand', lastName: 'Made' } }), 201);

    const again = await s.admin('POST', `/lists/${l.id}/sync/scim`, { uniqueIdentifier: 'employeeNumber' });
    expectStatus(again, 201);
    expect(again.body.fieldsAdded).toEqual([]);
    expect((await s.admin('GET', `/lists/${l.id}/mappings`)).body.mappings).toEqual(configured); // the earlier configuration is kept
    const fresh = await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {});
    expectStatus(fresh, 201);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 401); // old tokens stay revoked
    const users = await s.scim(fresh.body.token, 'GET', `${l.base}/Users?filter=${encodeURIComponent('userName eq "ada@example.org"')}`);
    expectStatus(users, 200);
    expect(users.body.totalResults).toBe(1);
    // the IdP owns the synced fields again and pushes its value back
    const patched = await s.scim(fresh.body.token, 'PUT', `${l.base}/Users/${ada}`, scimUser('ada', { [ENTERPRISE]: { employeeNumber: 'E-ada', department: 'Maths' } }));
    expectStatus(patched, 200);
    const p = await person(s, l.id, ada);
    expect(p.fields).toMatchObject({ firstName: 'Ada', department: 'Maths', locker: 12 });
    expect(p.status).toBe('active');
    expectStatus(await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { firstName: 'X' } }), 409);
  });
});
