import { describe, expect, it } from 'vitest';
import { ScimError } from './errors.ts';
import { normalizeResourceInput, normalizeUserInput, projectAttributes, sortResources } from './resource.ts';
import { createUserResourceSchema, ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, GROUP_SCHEMA_ID, USER_RESOURCE_SCHEMA, USER_SCHEMA_ID } from './schemas.ts';
import type { ScimResource } from './schema-types.ts';
import { scimErrorOf as errorOf } from './test-support.ts';


describe('normalizeUserInput', () => {
  it('canonicalises attribute-name case at every level', () => {
    const out = normalizeUserInput({ UserName: 'a', NAME: { GivenName: 'G' }, Emails: [{ VALUE: 'a@b.c', Type: 'work', Primary: 'true' }], [ENT.toUpperCase()]: { Department: 'D' } });
    expect(out).toEqual({ schemas: [USER_SCHEMA_ID, ENT], userName: 'a', name: { givenName: 'G' }, emails: [{ value: 'a@b.c', type: 'work', primary: true }], [ENT]: { department: 'D' } });
  });

  it('nests dotted and URN-qualified keys', () => {
    const out = normalizeUserInput({ userName: 'a', 'name.familyName': 'F', name: { givenName: 'G' }, [`${ENT}:employeeNumber`]: '7', [`${ENT}:manager.value`]: 'm' });
    expect(out['name']).toEqual({ familyName: 'F', givenName: 'G' });
    expect(out[ENT]).toEqual({ employeeNumber: '7', manager: { value: 'm' } });
  });

  it('drops readOnly input, the password and unknown core attributes', () => {
    const out = normalizeUserInput({
      userName: 'a',
      id: 'client-id',
      meta: { resourceType: 'User' },
      groups: [{ value: 'g1' }],
      password: 'secret',
      favouriteColour: 'blue',
      [ENT]: { manager: { value: 'm', displayName: 'Boss' } },
    });
    expect(out).toEqual({ schemas: [USER_SCHEMA_ID, ENT], userName: 'a', [ENT]: { manager: { value: 'm' } } });
  });

  it('keeps unknown urn: extension data under its URN, object or flattened key', () => {
    const out = normalizeUserInput({
      userName: 'a',
      'urn:example:custom:1.0:User': { cardUid: 'C1', nested: { x: [1, 2] } },
      'urn:example:other:1.0:User:boarding': true,
    });
    expect(out['urn:example:custom:1.0:User']).toEqual({ cardUid: 'C1', nested: { x: [1, 2] } });
    expect(out['urn:example:other:1.0:User']).toEqual({ boarding: true });
    expect(out['schemas']).toEqual([USER_SCHEMA_ID, 'urn:example:custom:1.0:User', 'urn:example:other:1.0:User']);
  });

  it('does not share objects with its input', () => {
    const input = { userName: 'a', 'urn:example:custom:1.0:User': { list: [1] } };
    const out = normalizeUserInput(input);
    (out['urn:example:custom:1.0:User'] as { list: number[] }).list.push(2);
    expect(input['urn:example:custom:1.0:User'].list).toEqual([1]);
  });

  it('wraps a single value of a multi-valued attribute and treats empty arrays and nulls as unassigned', () => {
    const out = normalizeUserInput({ userName: 'a', emails: { value: 'a@b.c' }, phoneNumbers: [], title: null, roles: [{ value: null }] });
    expect(out).toEqual({ schemas: [USER_SCHEMA_ID], userName: 'a', emails: [{ value: 'a@b.c' }] });
  });

  it.each([
    [{ userName: 42 }, /"userName" must be a string; got 42/],
    [{ userName: 'a', active: 'yes' }, /"active" must be a boolean; got "yes"/],
    [{ userName: 'a', name: 'Babs' }, /"name" must be an object; got "Babs"/],
    [{ userName: 'a', emails: [{ value: 1 }] }, /"emails\[0\].value" must be a string/],
    [{ userName: 'a', meta: 'x', addresses: ['1 Main St'] }, /"addresses\[0\]" must be an object; got "1 Main St"/],
  ])('rejects wrong types with a clear detail (%j)', (body, detail) => {
    const err = errorOf(() => normalizeUserInput(body));
    expect(err.status).toBe(400);
    expect(err.scimType).toBe('invalidValue');
    expect(err.detail).toMatch(detail);
  });

  it('accepts a bare string for a multi-valued complex attribute that has a value sub-attribute', () => {
    expect(normalizeUserInput({ userName: 'a', emails: ['a@b.c'] })['emails']).toEqual([{ value: 'a@b.c' }]);
  });

  it('rejects a missing required attribute, two primaries, and non-objects', () => {
    expect(errorOf(() => normalizeUserInput({ displayName: 'x' })).detail).toMatch(/"userName" is required/);
    expect(errorOf(() => normalizeUserInput({ userName: '' })).detail).toMatch(/"userName" is required/);
    expect(errorOf(() => normalizeResourceInput({ members: [] }, GROUP_RESOURCE_SCHEMA)).detail).toMatch(/"displayName" is required/);
    expect(errorOf(() => normalizeUserInput({ userName: 'a', emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] })).detail).toMatch(/primary/);
    expect(errorOf(() => normalizeUserInput([])).scimType).toBe('invalidSyntax');
    expect(errorOf(() => normalizeUserInput({ userName: 'a', schemas: 'urn:x' })).scimType).toBe('invalidSyntax');
    expect(errorOf(() => normalizeUserInput({ userName: 'a', [ENT]: 'x' })).scimType).toBe('invalidValue');
  });

  it('with `existing`: immutable attributes must not change and are carried over when left out', () => {
    const schema = createUserResourceSchema([
      {
        schema: {
          id: 'urn:example:imm:1.0:User',
          name: 'Imm',
          description: '',
          attributes: [{ name: 'badge', type: 'string', multiValued: false, description: '', required: false, caseExact: true, mutability: 'immutable', returned: 'default', uniqueness: 'none' }],
        },
      },
    ]);
    const existing = { schemas: [USER_SCHEMA_ID, 'urn:example:imm:1.0:User'], id: 'u1', userName: 'a', 'urn:example:imm:1.0:User': { badge: 'B1' } };
    expect(normalizeUserInput({ userName: 'b' }, schema, { existing })['urn:example:imm:1.0:User']).toEqual({ badge: 'B1' });
    expect(normalizeUserInput({ userName: 'b', 'urn:example:imm:1.0:User': { badge: 'B1' } }, schema, { existing })['userName']).toBe('b');
    expect(errorOf(() => normalizeUserInput({ userName: 'b', 'urn:example:imm:1.0:User': { badge: 'B2' } }, schema, { existing })).scimType).toBe('mutability');
  });

  it('normalises Group input', () => {
    const out = normalizeResourceInput({ DisplayName: 'G', members: [{ value: 'u1', $ref: null, display: 'A', type: 'User' }] }, GROUP_RESOURCE_SCHEMA);
    expect(out).toEqual({ schemas: [GROUP_SCHEMA_ID], displayName: 'G', members: [{ value: 'u1', display: 'A', type: 'User' }] });
  });
});

const fullUser = (): ScimResource => ({
  schemas: [USER_SCHEMA_ID, ENT],
  id: 'u1',
  externalId: 'e1',
  userName: 'bjensen',
  password: 'should-never-leak',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [{ value: 'b@x.org', type: 'work', primary: true }],
  [ENT]: { department: 'Tours', manager: { value: 'm1' } },
  meta: { resourceType: 'User', created: '2020-01-01T00:00:00Z' },
});

describe('projectAttributes', () => {
  const U = USER_RESOURCE_SCHEMA;

  it('by default returns everything except returned:never', () => {
    const { password: _p, ...rest } = fullUser();
    expect(projectAttributes(fullUser(), {}, U)).toEqual(rest);
  });

  it('attributes= returns the listed attributes plus id and schemas', () => {
    expect(projectAttributes(fullUser(), { attributes: 'userName,name.givenName' }, U)).toEqual({ schemas: [USER_SCHEMA_ID], id: 'u1', userName: 'bjensen', name: { givenName: 'Barbara' } });
    expect(projectAttributes(fullUser(), { attributes: ['emails.value', `${ENT}:department`] }, U)).toEqual({
      schemas: [USER_SCHEMA_ID, ENT],
      id: 'u1',
      emails: [{ value: 'b@x.org' }],
      [ENT]: { department: 'Tours' },
    });
    expect(projectAttributes(fullUser(), { attributes: ENT }, U)[ENT]).toEqual({ department: 'Tours', manager: { value: 'm1' } });
    expect(projectAttributes(fullUser(), { attributes: 'password' }, U)).not.toHaveProperty('password');
    expect(projectAttributes(fullUser(), { attributes: 'USERNAME' }, U)).toEqual({ schemas: [USER_SCHEMA_ID], id: 'u1', userName: 'bjensen' });
  });

  it('excludedAttributes= removes the listed ones but never id', () => {
    const out = projectAttributes(fullUser(), { excludedAttributes: 'emails, id, name.familyName, meta' }, U);
    expect(out).not.toHaveProperty('emails');
    expect(out).not.toHaveProperty('meta');
    expect(out).not.toHaveProperty('password');
    expect(out['id']).toBe('u1');
    expect(out['name']).toEqual({ givenName: 'Barbara' });
    const noExt = projectAttributes(fullUser(), { excludedAttributes: ENT }, U);
    expect(noExt).not.toHaveProperty(ENT);
    expect(noExt['schemas']).toEqual([USER_SCHEMA_ID]);
  });

  it('attributes wins when both are given; unknown names are ignored', () => {
    expect(projectAttributes(fullUser(), { attributes: 'userName,nope', excludedAttributes: 'userName' }, U)).toEqual({ schemas: [USER_SCHEMA_ID], id: 'u1', userName: 'bjensen' });
  });

  it('honours returned:request', () => {
    const schema = createUserResourceSchema([
      {
        schema: {
          id: 'urn:example:req:1.0:User',
          name: 'Req',
          description: '',
          attributes: [{ name: 'secretish', type: 'string', multiValued: false, description: '', required: false, caseExact: false, mutability: 'readWrite', returned: 'request', uniqueness: 'none' }],
        },
      },
    ]);
    const u = { ...fullUser(), 'urn:example:req:1.0:User': { secretish: 's' } };
    expect(projectAttributes(u, {}, schema)).not.toHaveProperty('urn:example:req:1.0:User');
    expect(projectAttributes(u, { attributes: 'urn:example:req:1.0:User:secretish' }, schema)['urn:example:req:1.0:User']).toEqual({ secretish: 's' });
  });

  it('does not mutate the resource', () => {
    const u = fullUser();
    const copy = structuredClone(u);
    projectAttributes(u, { attributes: 'name.givenName' }, U);
    expect(u).toEqual(copy);
  });
});

describe('sortResources', () => {
  const U = USER_RESOURCE_SCHEMA;
  const list: ScimResource[] = [
    { id: '3', userName: 'carol', emails: [{ value: 'z@x', primary: false }, { value: 'a@x', primary: true }], meta: { created: '2020-01-01T10:00:00+02:00' } },
    { id: '1', userName: 'Bob', emails: [{ value: 'm@x' }], meta: { created: '2020-01-01T09:00:00Z' } },
    { id: '2', userName: 'alice', meta: { created: '2020-01-01T08:30:00Z' } },
    { id: '4', userName: 'bob' },
  ];
  const ids = (l: ScimResource[]): unknown[] => l.map((r) => r['id']);

  it('sorts caseExact=false strings case-insensitively, ties by id', () => {
    expect(ids(sortResources(list, 'userName', 'ascending', U))).toEqual(['2', '1', '4', '3']);
    expect(ids(sortResources(list, 'userName', 'descending', U))).toEqual(['3', '1', '4', '2']);
  });

  it('sorts multi-valued attributes by the primary value, else the first', () => {
    expect(ids(sortResources(list, 'emails', undefined, U))).toEqual(['3', '1', '2', '4']);
    expect(ids(sortResources(list, 'emails.value', 'Descending', U))).toEqual(['1', '3', '2', '4']);
  });

  it('sorts dateTime as instants and keeps missing values last', () => {
    expect(ids(sortResources(list, 'meta.created', 'ascending', U))).toEqual(['3', '2', '1', '4']);
    expect(ids(sortResources(list, 'meta.created', 'descending', U))).toEqual(['1', '2', '3', '4']);
  });

  it('returns a new array and leaves the input alone', () => {
    const before = ids(list);
    const out = sortResources(list, 'userName', undefined, U);
    expect(out).not.toBe(list);
    expect(ids(list)).toEqual(before);
  });

  it('rejects a bad sortOrder or sortBy', () => {
    expect(errorOf(() => sortResources(list, 'userName', 'sideways', U)).scimType).toBe('invalidValue');
    expect(errorOf(() => sortResources(list, 'user name', undefined, U)).scimType).toBe('invalidPath');
  });
});
