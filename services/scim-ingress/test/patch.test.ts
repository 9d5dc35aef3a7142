import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, PATCH_OP, USER, domainEvents, expectScimError, scimStack, type ScimClient } from './support.ts';

describe('PATCH /Users/{id} over HTTP (RFC 7644 §3.5.2)', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  const patch = (id: string, ops: unknown[], headers?: Record<string, string>) => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: ops }, headers);
  const newUser = async (userName: string, extra: Record<string, unknown> = {}) => (await c.user(userName, extra)).body.id as string;

  it('add, replace, remove with simple, complex, sub-attribute and URN paths', async () => {
    const id = await newUser('p1@example.org', { name: { givenName: 'P', familyName: 'One' }, title: 'Old' });
    const r = await patch(id, [
      { op: 'add', path: 'nickName', value: 'Pip' },
      { op: 'replace', path: 'name.familyName', value: 'Uno' },
      { op: 'remove', path: 'title' },
      { op: 'add', path: `${ENTERPRISE}:department`, value: 'R&D' },
      { op: 'replace', path: 'name', value: { middleName: 'Q' } },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ nickName: 'Pip', name: { givenName: 'P', familyName: 'Uno', middleName: 'Q' }, [ENTERPRISE]: { department: 'R&D' } });
    expect(r.body).not.toHaveProperty('title');
    expect(r.body.schemas).toEqual([USER, ENTERPRISE]);
    expect(r.body.meta.version).toBe('W/"1"');
  });

  it('path-less values, value-filter paths, multi-valued merge and one primary per attribute', async () => {
    const id = await newUser('p2@example.org', { emails: [{ value: 'p2@work.org', type: 'work', primary: true }] });
    let r = await patch(id, [{ op: 'add', value: { displayName: 'Pat', emails: [{ value: 'p2@home.org', type: 'home', primary: true }] } }]);
    expect(r.status).toBe(200);
    expect(r.body.displayName).toBe('Pat');
    expect(r.body.emails).toEqual([{ value: 'p2@work.org', type: 'work', primary: false }, { value: 'p2@home.org', type: 'home', primary: true }]);
    r = await patch(id, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'p2@new-work.org' }]);
    expect(r.body.emails[0]).toMatchObject({ value: 'p2@new-work.org', type: 'work' });
    r = await patch(id, [{ op: 'remove', path: 'emails[type eq "home"]' }]);
    expect(r.body.emails).toEqual([{ value: 'p2@new-work.org', type: 'work', primary: false }]);
    // adding the same value again merges instead of duplicating
    r = await patch(id, [{ op: 'add', path: 'emails', value: [{ value: 'p2@new-work.org', type: 'work', display: 'Work' }] }]);
    expect(r.body.emails).toHaveLength(1);
    expect(r.body.emails[0].display).toBe('Work');
    expectScimError(await patch(id, [{ op: 'add', path: 'emails', value: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }]), 400, 'invalidValue');
  });

  it('PATCH is atomic: one bad operation leaves the resource and the event log untouched', async () => {
    const id = await newUser('p3@example.org', { title: 'Keep' });
    const mark = await c.head();
    expectScimError(await patch(id, [{ op: 'replace', path: 'title', value: 'Changed' }, { op: 'replace', path: 'nosuch', value: 1 }]), 400, 'invalidPath');
    expect((await c.req('GET', `/Users/${id}`)).body.title).toBe('Keep');
    expect(domainEvents(await c.since(mark))).toEqual([]);
  });

  it('mutability: readOnly paths are rejected, id inside a path-less value is ignored when it matches, immutable enforced', async () => {
    const id = await newUser('p4@example.org');
    expectScimError(await patch(id, [{ op: 'replace', path: 'id', value: 'x' }]), 400, 'mutability');
    expectScimError(await patch(id, [{ op: 'replace', path: 'meta.created', value: '2000-01-01T00:00:00Z' }]), 400, 'mutability');
    expectScimError(await patch(id, [{ op: 'add', path: 'groups', value: [{ value: 'g' }] }]), 400, 'mutability');
    const ok = await patch(id, [{ op: 'replace', value: { id, title: 'Same id is fine' } }]);
    expect(ok.status).toBe(200);
    expectScimError(await patch(id, [{ op: 'replace', value: { id: 'someone-else', title: 'x' } }]), 400, 'mutability');
    // required: userName cannot be removed
    expectScimError(await patch(id, [{ op: 'remove', path: 'userName' }]), 400, 'invalidValue');
    // password is accepted and dropped: never stored, never returned
    const pw = await patch(id, [{ op: 'replace', path: 'password', value: 'S3cret-Patch!' }]);
    expect(pw.status).toBe(200);
    expect(pw.body).not.toHaveProperty('password');
    expect(JSON.stringify(await c.events())).not.toContain('S3cret-Patch!');
  });

  it('bad PATCH requests → 400 with the RFC scimType', async () => {
    const id = await newUser('p5@example.org');
    expectScimError(await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP] }), 400, 'invalidSyntax');
    expectScimError(await patch(id, [{ op: 'explode', path: 'title', value: 'x' }]), 400, 'invalidSyntax');
    expectScimError(await patch(id, [{ op: 'replace', path: 'title' }]), 400, 'invalidSyntax');
    expectScimError(await patch(id, [{ op: 'remove' }]), 400, 'noTarget');
    expectScimError(await patch(id, [{ op: 'replace', path: 'emails[type eq', value: 'x' }]), 400);
    expectScimError(await patch(id, [{ op: 'replace', path: 'active', value: 'sometimes' }]), 400, 'invalidValue');
  });

  it('userName changes by PATCH honour uniqueness (409) and are case-insensitive', async () => {
    const a = await newUser('pa@example.org');
    await newUser('pb@example.org');
    expectScimError(await patch(a, [{ op: 'replace', path: 'userName', value: 'PB@example.org' }]), 409, 'uniqueness');
    const ok = await patch(a, [{ op: 'replace', path: 'userName', value: 'PA@Example.org' }]);
    expect(ok.status).toBe(200);
    expect(ok.body.userName).toBe('PA@Example.org');
  });
});
