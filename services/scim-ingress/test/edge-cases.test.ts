/**
 * What every write path must leave true, whatever the IdP sends: a required and unique userName, the
 * list's unique identifier, printable identifiers, capped strings; and filters that compare an
 * attribute with a value of another type are invalidFilter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { connectList, ENTERPRISE, ERROR, GROUP, PATCH_OP, USER, type ScimClient } from './support.ts';

const patch = (...ops: unknown[]) => ({ schemas: [PATCH_OP], Operations: ops });
const scimError = (res: { status: number; body: any }, status: number, scimType: string, detail: RegExp) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.schemas).toEqual([ERROR]);
  expect(res.body.scimType).toBe(scimType);
  expect(res.body.detail).toMatch(detail);
};

describe('SCIM edge cases', () => {
  let stack: Stack;
  let c: ScimClient;
  beforeAll(async () => {
    stack = await startStack({}, undefined, { transport: 'http' });
    c = { stack, ...(await connectList(stack)) };
  });
  afterAll(async () => { await stack?.stop(); });

  it('PATCH cannot empty userName (as POST and PUT cannot), so no two users share ""', async () => {
    const a = (await c.user('first')).body.id;
    const b = (await c.user('second')).body.id;
    for (const op of [
      { op: 'replace', path: 'userName', value: '' },
      { op: 'replace', value: { userName: '' } },
      { op: 'remove', path: 'userName' },
      { op: 'replace', path: 'userName', value: '   ' },
    ]) {
      scimError(await c.req('PATCH', `/Users/${a}`, patch(op)), 400, 'invalidValue', /userName/);
      scimError(await c.req('PATCH', `/Users/${b}`, patch(op)), 400, 'invalidValue', /userName/);
    }
    scimError(await c.req('PUT', `/Users/${a}`, { schemas: [USER], userName: '' }), 400, 'invalidValue', /userName/);
    scimError(await c.user(''), 400, 'invalidValue', /userName/);
    const found = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq ""')}`);
    expect(found.body.totalResults).toBe(0);
    expect((await c.req('GET', `/Users/${a}`)).body.userName).toBe('first');
  });

  it('identifiers that are only whitespace or hold NUL or another control character are refused on every path', async () => {
    for (const bad of ['   ', 'nul\u0000byte', 'tab\there', 'line\nbreak', 'del\u007f']) {
      scimError(await c.user(bad), 400, 'invalidValue', /userName|control|whitespace/);
      scimError(await c.user(`ok-${Math.random()}`, { externalId: bad }), 400, 'invalidValue', /externalId/);
    }
    const id = (await c.user('printable')).body.id;
    scimError(await c.req('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'userName', value: 'a\u0000b' })), 400, 'invalidValue', /control character/);
    scimError(await c.req('PATCH', `/Users/${id}`, patch({ op: 'add', path: 'externalId', value: ' \t ' })), 400, 'invalidValue', /externalId/);
    scimError(await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'bad\u0000group' }), 400, 'invalidValue', /displayName/);
    scimError(await c.req('POST', '/Groups', { schemas: [GROUP], displayName: '   ' }), 400, 'invalidValue', /displayName/);
  });

  it('strings are capped at 2,048 characters (identifiers at 1,024), named in the error', async () => {
    scimError(await c.user('long-title', { title: 'x'.repeat(2_049) }), 400, 'invalidValue', /^title is 2049 characters long/);
    scimError(await c.user('long-street', { addresses: [{ type: 'work', streetAddress: 'y'.repeat(5_000) }] }), 400, 'invalidValue', /addresses\[0\]\.streetAddress is 5000/);
    scimError(await c.user('z'.repeat(1_025)), 400, 'invalidValue', /userName is 1025 characters/);
    expect((await c.user('max-title', { title: 'x'.repeat(2_048) })).status).toBe(201);
  });

  it('a GET or DELETE that names a JSON content type but sends no body is fine', async () => {
    const id = (await c.user('bodiless')).body.id;
    for (const type of ['application/scim+json', 'application/json']) {
      const got = await fetch(`${c.base.replace('localhost', '127.0.0.1')}/Users/${id}`, { headers: { authorization: `Bearer ${c.token}`, 'content-type': type } });
      expect(got.status).toBe(200);
    }
    const gone = await fetch(`${c.base.replace('localhost', '127.0.0.1')}/Users/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/scim+json' } });
    expect(gone.status).toBe(204);
  });

  it('type-mismatched comparisons in a filter are invalidFilter, not an empty page or a 500', async () => {
    for (const f of ['userName gt true', 'userName eq 42', 'userName eq false', 'meta.lastModified gt 12', 'active eq "yes"', 'active gt true', 'emails.value sw 7', 'name.givenName co null']) {
      scimError(await c.req('GET', `/Users?filter=${encodeURIComponent(f)}`), 400, 'invalidFilter', /./);
    }
    expect((await c.req('GET', `/Users?filter=${encodeURIComponent('active eq true and userName sw "f"')}`)).status).toBe(200);
  });
});

describe('a user without the list\'s unique identifier', () => {
  let stack: Stack;
  afterAll(async () => { await stack?.stop(); });

  it('is refused with a SCIM 400 naming the attribute the list needs, and logged FAILED', async () => {
    stack = await startStack();
    const byNumber: ScimClient = { stack, ...(await connectList(stack, { uniqueIdentifier: 'employeeNumber' })) };
    const byEmail: ScimClient = { stack, ...(await connectList(stack, { uniqueIdentifier: 'email' })) };
    scimError(await byNumber.user('no-number'), 400, 'invalidValue', new RegExp(`employeeNumber, so every user needs ${ENTERPRISE}:employeeNumber`));
    scimError(await byNumber.user('blank-number', { [ENTERPRISE]: { employeeNumber: '  ' } }), 400, 'invalidValue', /employeeNumber/);
    scimError(await byEmail.user('no-email'), 400, 'invalidValue', /email, so every user needs emails/);
    const ok = await byNumber.user('numbered', { [ENTERPRISE]: { employeeNumber: 'E-1' } });
    expect(ok.status).toBe(201);
    // a write may not take the identifier away either
    scimError(await byNumber.req('PATCH', `/Users/${ok.body.id}`, patch({ op: 'remove', path: `${ENTERPRISE}:employeeNumber` })), 400, 'invalidValue', /employeeNumber/);
    scimError(await byNumber.req('PUT', `/Users/${ok.body.id}`, { schemas: [USER], userName: 'numbered' }), 400, 'invalidValue', /employeeNumber/);
    const withEmail = await byEmail.user('mailed', { emails: [{ value: 'mailed@example.org', primary: true }] });
    expect(withEmail.status).toBe(201);
    scimError(await byEmail.req('PATCH', `/Users/${withEmail.body.id}`, patch({ op: 'replace', path: 'emails', value: [] })), 400, 'invalidValue', /emails/);

    await expect.poll(async () => (await byNumber.log()).filter((e) => e.status === 'FAILED').length).toBe(4);
    const failed = (await byNumber.log()).filter((e) => e.status === 'FAILED');
    expect(failed.map((e) => e.operation).sort()).toEqual(['CREATE', 'CREATE', 'UPDATE', 'UPDATE']);
    expect(failed.every((e) => /employeeNumber/.test(e.error.detail))).toBe(true);
    const people = await stack.admin('GET', `/lists/${byNumber.listId}/people?status=all`);
    expect(people.body.items).toHaveLength(1);
  });
});
