import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startStack, type Answer, type Stack } from '../../../tests/helpers.ts';
import { createUser, expectStatus, provisioningLog, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

/** a request with a raw body (the stack's admin helper sends JSON) */
async function raw(stack: Stack, method: string, path: string, body: string | Buffer, contentType: string): Promise<Answer> {
  const res = await stack.running.app.inject({ method: method as 'POST', url: `/api/v1${path}`, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': contentType }, payload: body });
  let parsed: unknown = res.body;
  try { parsed = JSON.parse(res.body); } catch { /* text */ }
  return { status: res.statusCode, body: parsed as any, headers: new Headers(), text: res.body };
}
const upload = (listId: string, body: string | Buffer, contentType = 'text/csv', stack = s) => raw(stack, 'POST', `/lists/${listId}/imports`, body, contentType);

/** a list with no sync and fields of every type */
async function pupils(stack = s) {
  const list = await stack.admin('POST', '/lists', { name: `Pupils ${Math.random()}` });
  const id = list.body.id as string;
  for (const f of [
    { key: 'firstName', label: 'First name', type: 'text', required: true }, { key: 'lastName', label: 'Last name', type: 'text' },
    { key: 'email', label: 'Email', type: 'email' }, { key: 'employeeNumber', label: 'Pupil number', type: 'text' },
    { key: 'age', label: 'Age', type: 'number' }, { key: 'startDate', label: 'Start date', type: 'date' },
    { key: 'photoConsent', label: 'Photo consent', type: 'boolean' }, { key: 'house', label: 'House', type: 'enum', enumValues: ['Red', 'Blue'] },
  ]) expectStatus(await stack.admin('POST', `/lists/${id}/fields`, f), 201);
  return id;
}

const MAPPING = {
  uniqueIdentifier: { column: 'Email' },
  columns: {
    'First name': { field: 'firstName' }, Surname: { field: 'lastName' }, Email: { field: 'email', transform: 'lowercase' },
    Age: { field: 'age' }, Start: { field: 'startDate' }, Consent: { field: 'photoConsent' }, House: { field: 'house' },
  },
};
const HEADER = 'First name,Surname,Email,Age,Start,Consent,House';

/** map an upload and wait for it to be ready */
async function mapped(listId: string, importId: string, mapping: unknown = MAPPING, stack = s) {
  const res = await stack.admin('PUT', `/lists/${listId}/imports/${importId}/mapping`, mapping);
  expectStatus(res, 202);
  await expect.poll(async () => (await stack.admin('GET', `/lists/${listId}/imports/${importId}`)).body.status, { timeout: 15_000 }).not.toBe('validating');
  return (await stack.admin('GET', `/lists/${listId}/imports/${importId}`)).body;
}

async function errorsOf(listId: string, importId: string) {
  const res = await s.admin('GET', `/lists/${listId}/imports/${importId}/errors?limit=1000`);
  expectStatus(res, 200);
  return res.body.items as any[];
}

async function applied(listId: string, importId: string, stack = s) {
  const res = await stack.admin('POST', `/lists/${listId}/imports/${importId}/apply`, { approveAll: true });
  expectStatus(res, 202);
  await expect.poll(async () => (await stack.admin('GET', `/lists/${listId}/imports/${importId}`)).body.status, { timeout: 30_000 }).toBe('applied');
}

describe('upload and parse', () => {
  it('reads UTF-8 with a byte-order mark, CRLF, quoted delimiters and newlines, and suggests a mapping', async () => {
    const id = await pupils();
    const csv = '\ufeffGiven Name,Surname,E-mail,Staff ID,Notes\r\n"Ada","Love, Lace",ada@example.org,S1,"line one\r\nline two"\r\nBob,Smith,bob@example.org,S2,\r\n';
    const res = await upload(id, csv);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ status: 'uploaded', rows: 2, raggedRows: 0, encoding: 'utf-8', delimiter: ',', columns: ['Given Name', 'Surname', 'E-mail', 'Staff ID', 'Notes'] });
    expect(res.body.suggestedMapping).toEqual({ 'Given Name': 'firstName', Surname: 'lastName', 'E-mail': 'email', 'Staff ID': 'employeeNumber', Notes: null });
  });

  it('reads UTF-16 from Excel (little endian, with its mark), tab delimited', async () => {
    const id = await pupils();
    const res = await upload(id, Buffer.from('\ufeffFirst name\tEmail\nZoë\tzoe@example.org\n', 'utf16le'), 'text/csv; charset=utf-16');
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ encoding: 'utf-16le', delimiter: '\t', columns: ['First name', 'Email'], rows: 1 });
    const imp = await mapped(id, res.body.id, { uniqueIdentifier: { column: 'Email' }, columns: { 'First name': { field: 'firstName' }, Email: { field: 'email' } } });
    expect(imp.summary).toMatchObject({ rows: 1, create: 1 });
    const cs = (await s.admin('GET', `/changesets/${imp.changesetId}`)).body;
    expect(cs.changes[0].fields.find((f: any) => f.field === 'firstName').proposed).toBe('Zoë');
  });

  it('detects semicolons, reports ragged rows instead of failing, renames repeated headers', async () => {
    const id = await pupils();
    const res = await upload(id, 'Name;Email;Email;\nAda;a@x.org;b@x.org;\nBob;b@x.org\n');
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ delimiter: ';', columns: ['Name', 'Email', 'Email (2)', 'Column 4'], renamedColumns: ['Email (2)'], rows: 2, raggedRows: 1 });
  });

  it('refuses an empty file, accepts a header with no rows, and takes a multipart upload', async () => {
    const id = await pupils();
    const empty = await upload(id, '');
    expectStatus(empty, 400);
    expect(empty.body.error.message).toMatch(/empty/);
    const headerOnly = await upload(id, `${HEADER}\n`);
    expectStatus(headerOnly, 201);
    expect(headerOnly.body.rows).toBe(0);
    const boundary = 'muster-boundary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="pupils.csv"\r\nContent-Type: text/csv\r\n\r\n${HEADER}\nAda,L,ada@x.org,10,2020-09-01,yes,Red\n\r\n--${boundary}--\r\n`;
    const multi = await upload(id, body, `multipart/form-data; boundary=${boundary}`);
    expectStatus(multi, 201);
    expect(multi.body.rows).toBe(1);
    expect((await s.admin('GET', `/lists/${id}/imports/${multi.body.id}`)).body.fileName).toBe('pupils.csv');
  });

  it('refuses a file over MUSTER_IMPORT_MAX_BYTES with 413, keeping nothing', async () => {
    const small = await startStack({ MUSTER_IMPORT_MAX_BYTES: '1000' });
    try {
      const id = await pupils(small);
      const res = await upload(id, `${HEADER}\n${'Ada,L,ada@x.org,10,2020-09-01,yes,Red\n'.repeat(60)}`, 'text/csv', small);
      expectStatus(res, 413);
      expect(res.body.error).toMatchObject({ code: 'too_large' });
      expect(await readdir(join(small.dataDir, 'imports'))).toEqual([]);
      expect((await small.admin('GET', `/lists/${id}/imports`)).body.items).toEqual([]);
    } finally {
      await small.stop();
    }
  });
});

describe('validation', () => {
  it('finds each fault, one per row, leaves faulty rows and whole duplicate groups out, and sums up', async () => {
    const id = await pupils();
    const rows = [
      'Ada,Lovelace,ADA@example.org,36,1815-12-10,yes,Red', // 1 ok (email lowercased)
      'Bob,,,12,2020-01-01,no,Blue', // 2 missing_identifier
      'Cy,One,cy@example.org,1,2020-01-01,y,Red', // 3 duplicate_in_file
      'Cy,Two,CY@example.org,2,2020-01-01,n,Red', // 4 duplicate_in_file (the same after lowercase)
      'Dee,D,dee-at-example.org,5,2020-01-01,1,Red', // 5 the identifier is not an email: invalid_email
      'Eve,E,eve@example.org,five,2020-01-01,1,Red', // 6 invalid_number
      'Fay,F,fay@example.org,5,2021-02-30,1,Red', // 7 invalid_date
      'Gus,G,gus@example.org,5,2021/03/04,maybe,Red', // 8 invalid_boolean
      'Hal,H,hal@example.org,5,2021.03.04,true,Green', // 9 invalid_enum
      `${'I'.repeat(2001)},I,ivy@example.org,5,2021-03-04,true,red`, // 10 too_long
      'Jo,J,jo@example.org', // 11 ragged_row
      ',K,kim@example.org,5,2021-03-04,false,Blue', // 12 missing_required (firstName)
      'Lu,L,lu@example.org,7,2021-03-04,FALSE,blue', // 13 ok
    ];
    const up = await upload(id, `${HEADER}\n${rows.join('\n')}\n`);
    const imp = await mapped(id, up.body.id);
    expect(imp.status).toBe('ready');
    expect(imp.summary).toEqual({ rows: 13, create: 2, update: 0, unchanged: 0, deactivate: 0, reactivate: 0, invalid: 11, duplicateInFile: 2 });
    const errors = await errorsOf(id, up.body.id);
    expect(errors.map((e) => [e.row, e.code])).toEqual([
      [2, 'missing_identifier'], [3, 'duplicate_in_file'], [4, 'duplicate_in_file'], [5, 'invalid_email'], [6, 'invalid_number'], [7, 'invalid_date'],
      [8, 'invalid_boolean'], [9, 'invalid_enum'], [10, 'too_long'], [11, 'ragged_row'], [12, 'missing_required'],
    ]);
    expect(errors[1]).toMatchObject({ firstRow: 3, value: 'cy@example.org' });
    expect(errors[2]).toMatchObject({ firstRow: 3, value: 'cy@example.org' });
    expect(errors[5]).toMatchObject({ column: 'Start', field: 'startDate', value: '2021-02-30' });
    const cs = (await s.admin('GET', `/changesets/${imp.changesetId}`)).body;
    expect(cs.origin).toEqual({ kind: 'csv', id: up.body.id });
    const ada = cs.changes.find((c: any) => c.fields.some((f: any) => f.proposed === 'Ada'));
    expect(Object.fromEntries(ada.fields.map((f: any) => [f.field, f.proposed]))).toEqual({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.org', age: 36, startDate: '1815-12-10', photoConsent: true, house: 'Red' });
    const lu = cs.changes.find((c: any) => c.fields.some((f: any) => f.proposed === 'Lu'));
    expect(lu.fields.find((f: any) => f.field === 'house').proposed).toBe('Blue'); // enum values in any case
    expect(lu.fields.find((f: any) => f.field === 'startDate').proposed).toBe('2021-03-04');
  });

  it('refuses a mapping naming a column the file does not have, or a field the list does not have', async () => {
    const id = await pupils();
    const up = await upload(id, `${HEADER}\n`);
    const noColumn = await s.admin('PUT', `/lists/${id}/imports/${up.body.id}/mapping`, { uniqueIdentifier: { column: 'Mail' }, columns: {} });
    expectStatus(noColumn, 400);
    expect(noColumn.body.error.message).toMatch(/no column "Mail"/);
    const noField = await s.admin('PUT', `/lists/${id}/imports/${up.body.id}/mapping`, { uniqueIdentifier: { column: 'Email' }, columns: { Email: { field: 'colour' } } });
    expectStatus(noField, 400);
    expect(noField.body.error.message).toMatch(/no field "colour"/);
  });
});

describe('apply', () => {
  it('creates, updates, reactivates and deactivates as a changeset; the events are csv-sourced, correlated by the import; re-importing changes nothing', async () => {
    const id = await pupils();
    const first = await upload(id, `${HEADER}\nAda,L,ada@x.org,10,2020-09-01,yes,Red\nBob,M,bob@x.org,11,2020-09-01,no,Blue\nCy,N,cy@x.org,12,2020-09-01,no,Blue\n`);
    await mapped(id, first.body.id);
    await applied(id, first.body.id);
    const people = (await s.admin('GET', `/lists/${id}/people?sort=firstName`)).body.items;
    expect(people.map((p: any) => [p.fields.firstName, p.status])).toEqual([['Ada', 'active'], ['Bob', 'active'], ['Cy', 'active']]);
    const ada = (await s.admin('GET', `/lists/${id}/people/${people[0].id}`)).body;
    expect(ada.timeline[0]).toMatchObject({ type: 'PersonCreated', cause: 'changeset', source: { kind: 'csv' } });
    const log = await provisioningLog(s, id, `importId=${first.body.id}`);
    expect(log).toHaveLength(3);
    expect(log.every((e) => e.source === 'csv' && e.operation === 'CREATE')).toBe(true);

    // Bob deactivated by hand; the next file: Ada changed, Bob back (reactivate), Cy absent (deactivate), Dan new
    expectStatus(await s.admin('PATCH', `/lists/${id}/people/${people[1].id}`, { status: 'inactive' }), 200);
    const second = await upload(id, `${HEADER}\nAda,Lovelace,ada@x.org,10,2020-09-01,yes,Red\nBob,M,bob@x.org,11,2020-09-01,no,Blue\nDan,O,dan@x.org,9,2021-09-01,yes,Red\n`);
    const imp = await mapped(id, second.body.id, { ...MAPPING, missing: 'deactivate' });
    expect(imp.summary).toEqual({ rows: 3, create: 1, update: 1, unchanged: 0, deactivate: 1, reactivate: 1, invalid: 0, duplicateInFile: 0 });
    const cs = (await s.admin('GET', `/changesets/${imp.changesetId}`)).body;
    expect(cs.changes.map((c: any) => c.kind).sort()).toEqual(['create', 'deactivate', 'reactivate', 'update']);
    await applied(id, second.body.id);
    const after = (await s.admin('GET', `/lists/${id}/people?sort=firstName`)).body.items;
    expect(after.map((p: any) => [p.fields.firstName, p.fields.lastName, p.status])).toEqual([['Ada', 'Lovelace', 'active'], ['Bob', 'M', 'active'], ['Cy', 'N', 'inactive'], ['Dan', 'O', 'active']]);

    // the same file again: nothing to change
    const again = await upload(id, `${HEADER}\nAda,Lovelace,ada@x.org,10,2020-09-01,yes,Red\nBob,M,bob@x.org,11,2020-09-01,no,Blue\nDan,O,dan@x.org,9,2021-09-01,yes,Red\n`);
    const same = await mapped(id, again.body.id);
    expect(same.summary).toMatchObject({ rows: 3, unchanged: 3, create: 0, update: 0 });
    expect(same.changesetId).toBeNull();
    await applied(id, again.body.id);
  });

  it('on a synced list sets only local fields of people already on it: synced fields locked, newcomers not_on_list, no deactivation', async () => {
    const l = await scimList(s, { name: 'Synced import' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'cardNumber', label: 'Card number', type: 'text' }), 201);
    const ada = await createUser(s, l, 'ada');
    const up = await upload(l.id, 'Staff number,Card,Department\nE-ada,C-1,Art\nE-zed,C-2,Art\n');
    const noDeactivate = await s.admin('PUT', `/lists/${l.id}/imports/${up.body.id}/mapping`, { uniqueIdentifier: { column: 'Staff number' }, columns: { 'Staff number': { field: 'employeeNumber' } }, missing: 'deactivate' });
    expectStatus(noDeactivate, 400);
    const imp = await mapped(l.id, up.body.id, { uniqueIdentifier: { column: 'Staff number' }, columns: { 'Staff number': { field: 'employeeNumber' }, Card: { field: 'cardNumber' }, Department: { field: 'department' } } });
    expect(imp.summary).toMatchObject({ rows: 2, update: 1, create: 0, invalid: 1 });
    expect((await errorsOf(l.id, up.body.id))[0]).toMatchObject({ row: 2, code: 'not_on_list', value: 'E-zed' });
    const cs = (await s.admin('GET', `/changesets/${imp.changesetId}`)).body;
    expect(cs.changes[0].fields.find((f: any) => f.field === 'department')).toMatchObject({ locked: true, lockedBy: 'scim', choice: 'skip' });
    await applied(l.id, up.body.id);
    const p = (await s.admin('GET', `/lists/${l.id}/people/${ada}`)).body;
    expect(p.fields).toMatchObject({ cardNumber: 'C-1', department: 'Science' });
  });

  it('a crash during apply: after a restart the import finishes, each person created once', async () => {
    let stack = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' });
    const dataDir = stack.dataDir;
    try {
      const id = await pupils(stack);
      const rows = Array.from({ length: 600 }, (_, i) => `P${i},L,p${i}@x.org,${i % 90},2020-09-01,yes,Red`);
      const up = await upload(id, `${HEADER}\n${rows.join('\n')}\n`, 'text/csv', stack);
      const imp = await mapped(id, up.body.id, MAPPING, stack);
      expect(imp.summary.create).toBe(600);
      expectStatus(await stack.admin('POST', `/lists/${id}/imports/${up.body.id}/apply`, { approveAll: true }), 202);
      await stack.stop({ keepData: true });
      stack = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' }, dataDir);
      await expect.poll(async () => (await stack.admin('GET', `/lists/${id}/imports/${up.body.id}`)).body.status, { timeout: 30_000 }).toBe('applied');
      const people = await stack.admin('GET', `/lists/${id}/people?limit=1`);
      expect(people.body.total).toBe(600);
      // the file is not kept once its import is applied (removed at the next start when no request waited for the apply)
      await stack.stop({ keepData: true });
      stack = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' }, dataDir);
      await expect.poll(async () => readdir(join(dataDir, 'imports')), { timeout: 15_000 }).toEqual([]);
    } finally {
      await stack.stop();
    }
  });
});
