import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { createUser, expectStatus, patchOps, person, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const FIELDS = [
  { key: 'fullName', label: 'Full name', type: 'text', required: true },
  { key: 'contact', label: 'Contact email', type: 'email' },
  { key: 'mobile', label: 'Mobile', type: 'phone' },
  { key: 'born', label: 'Date of birth', type: 'date' },
  { key: 'year', label: 'Year', type: 'number' },
  { key: 'boarder', label: 'Boarder', type: 'boolean' },
  { key: 'house', label: 'House', type: 'enum', enumValues: ['Red', 'Blue'] },
  { key: 'tags', label: 'Tags', type: 'text', multiValued: true },
];

async function listWithFields(name: string) {
  const list = await s.admin('POST', '/lists', { name });
  expectStatus(list, 201);
  for (const f of FIELDS) expectStatus(await s.admin('POST', `/lists/${list.body.id}/fields`, f), 201);
  return list.body.id as string;
}

describe('master lists', () => {
  it('creates, reads, renames and lists several lists per organisation', async () => {
    const staff = await s.admin('POST', '/lists', { name: 'Staff', description: 'Everyone employed' });
    expectStatus(staff, 201);
    expect(staff.body).toMatchObject({ id: expect.any(String), name: 'Staff', description: 'Everyone employed', orgId: 'default', fields: [], sync: null });
    const students = await s.admin('POST', '/lists', { name: 'Students' });
    expectStatus(students, 201);
    const renamed = await s.admin('PATCH', `/lists/${staff.body.id}`, { name: 'All staff' });
    expectStatus(renamed, 200);
    const got = await s.admin('GET', `/lists/${staff.body.id}`);
    expect(got.body).toMatchObject({ id: staff.body.id, name: 'All staff', counts: { active: 0, inactive: 0 }, scimBaseUrl: null });
    const all = await s.admin('GET', '/lists');
    expect(all.body.items.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining([staff.body.id, students.body.id]));
    expectStatus(await s.admin('POST', '/lists', { name: '  ' }), 400);
    expectStatus(await s.admin('GET', '/lists/nope'), 404);
  });
});

describe('schema fields', () => {
  it('adds a field of each type, with the required flag', async () => {
    const id = await listWithFields('Field types');
    const fields = await s.admin('GET', `/lists/${id}/fields`);
    expect(fields.body.items).toEqual(FIELDS.map((f) => ({ required: false, multiValued: false, ...f, syncedBy: null })));
    expect(fields.body.items.map((f: { type: string }) => f.type)).toEqual(['text', 'email', 'phone', 'date', 'number', 'boolean', 'enum', 'text']);
  });

  it('refuses a duplicate key (409) and malformed fields (400)', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Field errors' });
    const id = list.body.id;
    expectStatus(await s.admin('POST', `/lists/${id}/fields`, { key: 'badge', label: 'Badge', type: 'text' }), 201);
    const dup = await s.admin('POST', `/lists/${id}/fields`, { key: 'badge', label: 'Another badge', type: 'number' });
    expectStatus(dup, 409);
    expect(dup.body.error.message).toContain('"badge" already exists');
    expectStatus(await s.admin('POST', `/lists/${id}/fields`, { key: '1bad', label: 'Bad', type: 'text' }), 400);
    expectStatus(await s.admin('POST', `/lists/${id}/fields`, { key: 'colour', label: 'Colour', type: 'rainbow' }), 400);
    const noValues = await s.admin('POST', `/lists/${id}/fields`, { key: 'house', label: 'House', type: 'enum' });
    expectStatus(noValues, 400);
    expect(noValues.body.error.message).toContain('enumValues');
    expectStatus(await s.admin('POST', `/lists/${id}/fields`, { key: 'age', label: 'Age', type: 'number', enumValues: ['1'] }), 400);
  });
});

describe('people on a list with no sync', () => {
  it('creates a person, validating every field type (400 with the reasons)', async () => {
    const id = await listWithFields('Manual roster');
    const bad = await s.admin('POST', `/lists/${id}/people`, {
      fields: { contact: 'not-an-email', mobile: 'call me', born: '2024-02-31', year: '7', boarder: 'yes', house: 'Green', tags: [1], nope: 'x' },
    });
    expectStatus(bad, 400);
    const errors: string[] = bad.body.error.details.errors;
    for (const expected of [
      'field "contact" must be an email address', 'field "mobile" must be a phone number', 'field "born" must be a date (YYYY-MM-DD)',
      'field "year" must be a number', 'field "boarder" must be true or false', 'field "house" must be one of Red, Blue',
      'field "tags" must be a string', 'unknown field "nope"', 'field "fullName" is required',
    ]) expect(errors).toContain(expected);

    const ok = await s.admin('POST', `/lists/${id}/people`, {
      fields: { fullName: 'Ada Lovelace', contact: 'ada@example.org', mobile: '+44 20 7946 0000', born: '1815-12-10', year: 7, boarder: false, house: 'Red', tags: ['maths', 'poetry'] },
    });
    expectStatus(ok, 201);
    expect(ok.body).toMatchObject({ id: expect.any(String), status: 'active', fields: { fullName: 'Ada Lovelace', year: 7, boarder: false, tags: ['maths', 'poetry'] } });
    const listed = await s.admin('GET', `/lists/${id}/people`);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: ok.body.id, status: 'active', fields: ok.body.fields, createdAt: expect.any(String), updatedAt: expect.any(String), linked: false })]);
  });

  it('edits, deactivates and reactivates, and the detail shows the history from the event log', async () => {
    const id = await listWithFields('Edits');
    const created = await s.admin('POST', `/lists/${id}/people`, { fields: { fullName: 'Grace Hopper', year: 8 } });
    const pid = created.body.id;
    const edit = await s.admin('PATCH', `/lists/${id}/people/${pid}`, { fields: { year: 9, house: 'Blue' } });
    expectStatus(edit, 200);
    expect(edit.body.fields).toEqual({ fullName: 'Grace Hopper', year: 9, house: 'Blue' });
    expectStatus(await s.admin('PATCH', `/lists/${id}/people/${pid}`, { fields: { year: 'nine' } }), 400);
    const clear = await s.admin('PATCH', `/lists/${id}/people/${pid}`, { fields: { fullName: '' } });
    expectStatus(clear, 400);
    expect(clear.body.error.message).toContain('"fullName" is required');
    expectStatus(await s.admin('PATCH', `/lists/${id}/people/${pid}`, {}), 400);
    const cleared = await s.admin('PATCH', `/lists/${id}/people/${pid}`, { fields: { house: null } });
    expect(cleared.body.fields).toEqual({ fullName: 'Grace Hopper', year: 9 });

    const off = await s.admin('PATCH', `/lists/${id}/people/${pid}`, { status: 'inactive' });
    expect(off.body.status).toBe('inactive');
    const inactive = await s.admin('GET', `/lists/${id}/people?status=inactive`);
    expect(inactive.body.items.map((p: { id: string }) => p.id)).toEqual([pid]);
    expect((await s.admin('GET', `/lists/${id}/people?status=active`)).body.total).toBe(0);
    const on = await s.admin('PATCH', `/lists/${id}/people/${pid}`, { status: 'active' });
    expect(on.body.status).toBe('active');
    const list = await s.admin('GET', `/lists/${id}`);
    expect(list.body.counts).toEqual({ active: 1, inactive: 0 });

    const p = await person(s, id, pid);
    expect(p).toMatchObject({ id: pid, status: 'active', linked: false, syncAnchor: null, uniqueId: null, lockedFields: [], createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect(Date.parse(p.updatedAt)).toBeGreaterThanOrEqual(Date.parse(p.createdAt));
    expect(p.timeline.map((t: { type: string }) => t.type)).toEqual(['PersonCreated', 'AttributesChanged', 'AttributesChanged', 'Deactivated', 'Reactivated']);
    expect(p.timeline[1]).toMatchObject({ cause: 'admin', actor: { kind: 'admin' }, source: { kind: 'admin-api', method: 'PATCH' }, fieldChanges: [{ field: 'year', old: 8, new: 9 }, { field: 'house', old: null, new: 'Blue' }] });
    expect(p.timeline[2].fieldChanges).toEqual([{ field: 'house', old: 'Blue', new: null }]);
  });

  it('a person of another list is 404', async () => {
    const a = await listWithFields('A');
    const b = await listWithFields('B');
    const onA = await s.admin('POST', `/lists/${a}/people`, { fields: { fullName: 'On A' } });
    expectStatus(await s.admin('GET', `/lists/${b}/people/${onA.body.id}`), 404);
    expectStatus(await s.admin('PATCH', `/lists/${b}/people/${onA.body.id}`, { status: 'inactive' }), 404);
    expectStatus(await s.admin('GET', `/lists/${a}/people/missing`), 404);
  });
});

describe('people on a synced list', () => {
  it('synced fields are locked (409 naming the sync), local-only fields stay editable', async () => {
    const l = await scimList(s, { name: 'Synced' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'locker', label: 'Locker', type: 'number' }), 201);
    const ada = await createUser(s, l, 'ada');

    const locked = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { firstName: 'Augusta', locker: 3 } });
    expectStatus(locked, 409);
    expect(locked.body.error).toMatchObject({ code: 'locked', details: { sync: 'SCIM', fields: ['firstName'] } });
    expect(locked.body.error.message).toMatch(/"firstName" is owned by the SCIM sync/);
    // named even when the value is invalid too
    expectStatus(await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { email: 'nope' } }), 409);
    // nothing was written by the refused edit
    expect((await person(s, l.id, ada)).fields.locker).toBeUndefined();

    const local = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { locker: 3 } });
    expectStatus(local, 200);
    expect(local.body.fields).toMatchObject({ firstName: 'Ada', locker: 3 });

    const status = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { status: 'inactive' });
    expectStatus(status, 409);
    expect(status.body.error.message).toContain('SCIM');
    // the IdP deactivates; an admin may reactivate by hand (the event says so, the answer warns)
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ada}`, patchOps({ op: 'replace', path: 'active', value: false })), 200);
    const back = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { status: 'active' });
    expectStatus(back, 200);
    expect(back.body).toMatchObject({ status: 'active', warning: expect.stringMatching(/identity provider's next change for this person wins/) });
    const events = await s.running.adapters.store.readStream(`person-${ada}`);
    expect(events.at(-1)).toMatchObject({ type: 'Reactivated', data: { cause: 'admin' } });
    const create = await s.admin('POST', `/lists/${l.id}/people`, { fields: { firstName: 'Hand' } });
    expectStatus(create, 409);
    expect(create.body.error.message).toContain('SCIM');

    // the sync never touches local-only fields
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ada}`, patchOps({ op: 'replace', path: 'name.givenName', value: 'Augusta' })), 200);
    const p = await person(s, l.id, ada);
    expect(p.fields).toMatchObject({ firstName: 'Augusta', locker: 3 });
    expect(p.lockedFields.sort()).toEqual(['department', 'displayName', 'email', 'employeeNumber', 'firstName', 'jobTitle', 'lastName', 'phone', 'primaryEmail']);
    expect(p).toMatchObject({ linked: true, syncedBy: 'scim', uniqueId: { kind: 'employeeNumber', value: 'E-ada' } });
    expect(p.timeline.map((t: { type: string; cause: string | null }) => `${t.type}:${t.cause ?? ''}`)).toEqual(['PersonProvisioned:', 'AttributesChanged:admin', 'Deactivated:', 'Reactivated:admin', 'AttributesChanged:idp']);
    expect(p.timeline[4]).toMatchObject({ source: { kind: 'scim', method: 'PATCH' }, fieldChanges: [{ field: 'firstName', old: 'Ada', new: 'Augusta' }], scimChanges: [expect.objectContaining({ path: 'name.givenName' })] });
  });
});

describe('read-your-writes positions', () => {
  it('after= a position the log has not reached is 400 at once, not a wait; a returned one answers', async () => {
    const list = await s.admin('POST', '/lists', { name: 'After' });
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/fields`, { key: 'firstName', label: 'First name', type: 'text' }), 201);
    const created = await s.admin('POST', `/lists/${list.body.id}/people`, { fields: { firstName: 'Ada' } });
    expectStatus(created, 201);
    const t0 = Date.now();
    const far = await s.admin('GET', `/lists/${list.body.id}/people?after=${created.body.position + 1_000_000}`);
    expectStatus(far, 400);
    expect(far.body.error).toMatchObject({ code: 'invalid', message: expect.stringContaining('past the end of the event log') });
    expect(Date.now() - t0).toBeLessThan(2_000);
    const ok = await s.admin('GET', `/lists/${list.body.id}/people?after=${created.body.position}`);
    expectStatus(ok, 200);
    expect(ok.body.total).toBe(1);
  });
});
