import { describe, expect, it } from 'vitest';
import { ScimError, type ScimErrorType } from './errors.ts';
import { applyPatch, parsePatchRequest, PATCH_OP_SCHEMA } from './patch.ts';
import { createUserResourceSchema, ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, GROUP_SCHEMA_ID, USER_RESOURCE_SCHEMA, USER_SCHEMA_ID } from './schemas.ts';
import type { ScimResource } from './schema-types.ts';
import { scimErrorOf } from './test-support.ts';

const user = (): ScimResource => ({
  schemas: [USER_SCHEMA_ID],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'bjensen',
  userName: 'bjensen',
  name: { familyName: 'Jensen', givenName: 'Barbara' },
  displayName: 'Babs Jensen',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA' }],
  meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z' },
});

const group = (): ScimResource => ({
  schemas: [GROUP_SCHEMA_ID],
  id: 'acbf3ae7-8463-4692-b4fd-9b4da3f908ce',
  displayName: 'Tour Guides',
  members: [
    { value: '2819c223-7f76-453a-919d-413861904646', display: 'Babs Jensen' },
    { value: '902c246b-6245-4190-8e05-00816be7344a', display: 'Mandy Pepperidge' },
    { value: 'c3a26dd3-27a0-4dec-a2ac-ce211e105f97', display: 'James Smith' },
  ],
});

const patchUser = (ops: unknown[], r: ScimResource = user()): ScimResource => applyPatch(r, ops, USER_RESOURCE_SCHEMA);
const patchGroup = (ops: unknown[], r: ScimResource = group()): ScimResource => applyPatch(r, ops, GROUP_RESOURCE_SCHEMA);


function expectScimError(fn: () => unknown, scimType: ScimErrorType, detail?: RegExp): void {
  const err = scimErrorOf(fn);
  expect(err.status).toBe(400);
  expect(err.scimType).toBe(scimType);
  if (detail) expect(err.detail).toMatch(detail);
}

describe('applyPatch: RFC 7644 §3.5.2 examples', () => {
  it('§3.5.2.1 add a member to a group', () => {
    const out = patchGroup([{ op: 'add', path: 'members', value: [{ display: 'Babs Jensen', $ref: 'https://example.com/v2/Users/u4', value: 'u4' }] }]);
    expect(out['members']).toHaveLength(4);
    expect((out['members'] as unknown[])[3]).toEqual({ display: 'Babs Jensen', $ref: 'https://example.com/v2/Users/u4', value: 'u4' });
  });

  it('§3.5.2.1 add without a path merges: emails gains a value, nickName is set', () => {
    const out = patchUser([{ op: 'add', value: { emails: [{ value: 'babs@jensen.net', type: 'other' }], nickName: 'Babs' } }]);
    expect(out['nickName']).toBe('Babs');
    expect(out['emails']).toEqual([...(user()['emails'] as unknown[]), { value: 'babs@jensen.net', type: 'other' }]);
  });

  it('§3.5.2.1 adding a value that is already there changes nothing', () => {
    const out = patchUser([{ op: 'add', path: 'emails', value: [{ value: 'BJENSEN@example.com', type: 'work' }] }]);
    expect(out['emails']).toHaveLength(2);
  });

  it('§3.5.2.2 remove all members', () => {
    const out = patchGroup([{ op: 'remove', path: 'members' }]);
    expect(out).not.toHaveProperty('members');
  });

  it('§3.5.2.2 remove one member by value filter', () => {
    const out = patchGroup([{ op: 'remove', path: 'members[value eq "2819c223-7f76-453a-919d-413861904646"]' }]);
    expect((out['members'] as { value: string }[]).map((m) => m.value)).toEqual(['902c246b-6245-4190-8e05-00816be7344a', 'c3a26dd3-27a0-4dec-a2ac-ce211e105f97']);
  });

  it('§3.5.2.2 remove a complex value chosen by a compound filter', () => {
    const out = patchUser([{ op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' }]);
    expect(out['emails']).toEqual([{ value: 'babs@jensen.org', type: 'home' }]);
  });

  it('§3.5.2.2 remove two members then add one, in one request', () => {
    const out = patchGroup([
      { op: 'remove', path: 'members[value eq "2819c223-7f76-453a-919d-413861904646"]' },
      { op: 'remove', path: 'members[value eq "902c246b-6245-4190-8e05-00816be7344a"]' },
      { op: 'add', path: 'members', value: [{ value: 'new-1', display: 'New' }] },
    ]);
    expect((out['members'] as { value: string }[]).map((m) => m.value)).toEqual(['c3a26dd3-27a0-4dec-a2ac-ce211e105f97', 'new-1']);
  });

  it('§3.5.2.2 remove all members then add new ones', () => {
    const out = patchGroup([
      { op: 'remove', path: 'members' },
      { op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] },
    ]);
    expect(out['members']).toEqual([{ value: 'a' }, { value: 'b' }]);
  });

  it('§3.5.2.3 replace all members', () => {
    const out = patchGroup([{ op: 'replace', path: 'members', value: [{ display: 'Babs', value: '2819c223' }, { display: 'James', value: '08e1d05d' }] }]);
    expect(out['members']).toEqual([{ display: 'Babs', value: '2819c223' }, { display: 'James', value: '08e1d05d' }]);
  });

  it('§3.5.2.3 replace a whole address selected by filter', () => {
    const value = { type: 'work', streetAddress: '911 Universal City Plaza', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'US', formatted: '911 Universal City Plaza\nHollywood, CA 91608 US', primary: true };
    const out = patchUser([{ op: 'replace', path: 'addresses[type eq "work"]', value }]);
    expect(out['addresses']).toEqual([value]);
  });

  it('§3.5.2.3 replace one sub-attribute of a filtered value, keeping the others', () => {
    const out = patchUser([{ op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: '1010 Broadway Ave' }]);
    expect(out['addresses']).toEqual([{ type: 'work', streetAddress: '1010 Broadway Ave', locality: 'Hollywood', region: 'CA', postalCode: '91608', country: 'USA' }]);
  });

  it('§3.5.2.3 replace without a path', () => {
    const out = patchUser([
      { op: 'replace', value: { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }], nickName: 'Babs' } },
    ]);
    expect(out['nickName']).toBe('Babs');
    expect(out['emails']).toHaveLength(2);
  });

  it('replace of a complex attribute sets the given sub-attributes and keeps the rest', () => {
    const out = patchUser([{ op: 'replace', path: 'name', value: { givenName: 'Babs' } }]);
    expect(out['name']).toEqual({ familyName: 'Jensen', givenName: 'Babs' });
  });

  it('replace of a multi-valued attribute without a filter replaces every value', () => {
    const out = patchUser([{ op: 'replace', path: 'emails', value: [{ value: 'only@x.org', type: 'work' }] }]);
    expect(out['emails']).toEqual([{ value: 'only@x.org', type: 'work' }]);
  });

  it('remove of a sub-attribute and of a simple attribute', () => {
    const out = patchUser([
      { op: 'remove', path: 'name.givenName' },
      { op: 'remove', path: 'displayName' },
    ]);
    expect(out['name']).toEqual({ familyName: 'Jensen' });
    expect(out).not.toHaveProperty('displayName');
  });

  it('remove of a filtered sub-attribute drops a value left without its value', () => {
    const out = patchUser([{ op: 'remove', path: 'emails[type eq "home"].value' }]);
    expect(out['emails']).toEqual([{ value: 'bjensen@example.com', type: 'work', primary: true }]);
    const out2 = patchUser([{ op: 'remove', path: 'addresses[type eq "work"].locality' }]);
    expect((out2['addresses'] as Record<string, unknown>[])[0]).not.toHaveProperty('locality');
  });

  it('remove that matches nothing is a no-op (idempotent retries)', () => {
    expect(patchGroup([{ op: 'remove', path: 'members[value eq "not-a-member"]' }])).toEqual(group());
    expect(patchUser([{ op: 'remove', path: 'nickName' }])['userName']).toBe('bjensen');
  });
});

describe('applyPatch: leniency and rules', () => {
  it('accepts op names in any case', () => {
    expect(patchUser([{ op: 'Replace', path: 'displayName', value: 'A' }])['displayName']).toBe('A');
    expect(patchUser([{ op: 'ADD', path: 'nickName', value: 'B' }])['nickName']).toBe('B');
    expect(patchUser([{ op: 'Remove', path: 'displayName' }])).not.toHaveProperty('displayName');
  });

  it('resolves attribute names case-insensitively and stores them in the schema case', () => {
    const out = patchUser([{ op: 'replace', path: 'NAME.GIVENNAME', value: 'Bee' }, { op: 'add', path: 'NickName', value: 'n' }]);
    expect(out['name']).toEqual({ familyName: 'Jensen', givenName: 'Bee' });
    expect(out['nickName']).toBe('n');
    expect(out).not.toHaveProperty('NickName');
  });

  it('replaces a key stored in another case instead of adding a second one', () => {
    const stored: ScimResource = { ...user(), DisplayName: 'Old' };
    delete stored['displayName'];
    const out = patchUser([{ op: 'replace', path: 'displayName', value: 'New' }], stored);
    expect(out['displayName']).toBe('New');
    expect(out).not.toHaveProperty('DisplayName');
  });

  it('keeps a single primary: setting primary true clears the others', () => {
    const out = patchUser([{ op: 'add', path: 'emails', value: [{ value: 'n@x.org', type: 'other', primary: true }] }]);
    const emails = out['emails'] as { value: string; primary?: boolean }[];
    expect(emails.filter((e) => e.primary === true).map((e) => e.value)).toEqual(['n@x.org']);
    expect(emails.find((e) => e.value === 'bjensen@example.com')?.primary).toBe(false);

    const out2 = patchUser([{ op: 'replace', path: 'emails[type eq "home"].primary', value: 'True' }]);
    const emails2 = out2['emails'] as { type: string; primary?: boolean }[];
    expect(emails2.filter((e) => e.primary === true).map((e) => e.type)).toEqual(['home']);
  });

  it('rejects two primaries in one value', () => {
    expectScimError(() => patchUser([{ op: 'replace', path: 'emails', value: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }]), 'invalidValue', /primary/);
  });

  it('coerces string booleans for boolean attributes', () => {
    expect(patchUser([{ op: 'replace', path: 'active', value: 'FALSE' }])['active']).toBe(false);
    expect(patchUser([{ op: 'replace', value: { active: 'true' } }])['active']).toBe(true);
  });

  it('treats a null value as removal', () => {
    expect(patchUser([{ op: 'replace', path: 'displayName', value: null }])).not.toHaveProperty('displayName');
  });

  it('keeps unknown urn: extension data as sent', () => {
    const out = patchUser([
      { op: 'add', path: 'urn:example:custom:1.0:User:cardUid', value: 'A1B2' },
      { op: 'add', value: { 'urn:example:other:1.0:User': { boarding: true } } },
    ]);
    expect(out['urn:example:custom:1.0:User']).toEqual({ cardUid: 'A1B2' });
    expect(out['urn:example:other:1.0:User']).toEqual({ boarding: true });
    expect(out['schemas']).toEqual([USER_SCHEMA_ID, 'urn:example:custom:1.0:User', 'urn:example:other:1.0:User']);
    const removed = patchUser([{ op: 'remove', path: 'urn:example:custom:1.0:User:cardUid' }], out);
    expect(removed).not.toHaveProperty('urn:example:custom:1.0:User');
  });

  it('adds and removes the extension URN in schemas as extension data comes and goes', () => {
    const out = patchUser([{ op: 'add', path: `${ENT}:department`, value: 'Tours' }]);
    expect(out['schemas']).toEqual([USER_SCHEMA_ID, ENT]);
    expect(out[ENT]).toEqual({ department: 'Tours' });
    const back = patchUser([{ op: 'remove', path: `${ENT}:department` }], out);
    expect(back['schemas']).toEqual([USER_SCHEMA_ID]);
    expect(back).not.toHaveProperty(ENT);
  });

  it('targets a whole extension by its URN', () => {
    const out = patchUser([{ op: 'add', path: ENT, value: { department: 'D', costCenter: 'C' } }]);
    expect(out[ENT]).toEqual({ department: 'D', costCenter: 'C' });
    expect(patchUser([{ op: 'remove', path: ENT }], out)).not.toHaveProperty(ENT);
  });

  it('drops a password instead of storing it', () => {
    const out = patchUser([{ op: 'replace', path: 'password', value: 'secret' }, { op: 'replace', value: { password: 'x', title: 'T' } }]);
    expect(out).not.toHaveProperty('password');
    expect(out['title']).toBe('T');
  });

  it('does not mutate its input', () => {
    const input = user();
    const snapshot = structuredClone(input);
    patchUser([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'x@y.z' }, { op: 'remove', path: 'addresses' }], input);
    expect(input).toEqual(snapshot);
  });

  it('is atomic: when a later operation fails nothing applies and the input is intact', () => {
    const input = user();
    const snapshot = structuredClone(input);
    expectScimError(() => patchUser([{ op: 'replace', path: 'displayName', value: 'CHANGED' }, { op: 'remove' }], input), 'noTarget');
    expect(input).toEqual(snapshot);
  });
});

describe('applyPatch: mutability', () => {
  it('rejects a path targeting a readOnly attribute', () => {
    expectScimError(() => patchUser([{ op: 'replace', path: 'id', value: 'x' }]), 'mutability', /readOnly/);
    expectScimError(() => patchUser([{ op: 'add', path: 'groups', value: [{ value: 'g' }] }]), 'mutability');
    expectScimError(() => patchUser([{ op: 'replace', path: 'meta.lastModified', value: '2020-01-01T00:00:00Z' }]), 'mutability');
    expectScimError(() => patchUser([{ op: 'replace', path: `${ENT}:manager.displayName`, value: 'x' }]), 'mutability');
  });

  it('skips readOnly attributes inside a path-less value, but not a conflicting id', () => {
    const out = patchUser([{ op: 'replace', value: { id: user()['id'], meta: { resourceType: 'X' }, groups: [], title: 'T' } }]);
    expect(out['title']).toBe('T');
    expect(out['meta']).toEqual(user()['meta']);
    expectScimError(() => patchUser([{ op: 'replace', value: { id: 'other', title: 'T' } }]), 'mutability', /id/);
  });

  it('lets an immutable attribute be set once', () => {
    const schema = createUserResourceSchema([
      {
        schema: {
          id: 'urn:example:imm:1.0:User',
          name: 'Imm',
          description: 'test',
          attributes: [
            { name: 'badge', type: 'string', multiValued: false, description: '', required: false, caseExact: true, mutability: 'immutable', returned: 'default', uniqueness: 'none' },
          ],
        },
      },
    ]);
    const once = applyPatch(user(), [{ op: 'add', path: 'urn:example:imm:1.0:User:badge', value: 'B1' }], schema);
    expect(once['urn:example:imm:1.0:User']).toEqual({ badge: 'B1' });
    expect(applyPatch(once, [{ op: 'replace', path: 'urn:example:imm:1.0:User:badge', value: 'B1' }], schema)).toEqual(once);
    const err = scimErrorOf(() => applyPatch(once, [{ op: 'replace', path: 'urn:example:imm:1.0:User:badge', value: 'B2' }], schema));
    expect(err.scimType).toBe('mutability');
    expect(scimErrorOf(() => applyPatch(once, [{ op: 'remove', path: 'urn:example:imm:1.0:User:badge' }], schema)).scimType).toBe('mutability');
  });

  it('rejects changing an immutable sub-attribute of an existing member', () => {
    expectScimError(() => patchGroup([{ op: 'replace', path: 'members[value eq "902c246b-6245-4190-8e05-00816be7344a"].value', value: 'other' }]), 'mutability');
  });

  it('refuses to remove a required attribute', () => {
    expectScimError(() => patchUser([{ op: 'remove', path: 'userName' }]), 'invalidValue', /required/);
    expectScimError(() => patchGroup([{ op: 'replace', path: 'displayName', value: null }]), 'invalidValue', /required/);
  });
});

describe('applyPatch: errors', () => {
  it.each<[string, unknown[], ScimErrorType, RegExp]>([
    ['unknown op', [{ op: 'frobnicate', path: 'title', value: 'x' }], 'invalidSyntax', /op must be/],
    ['op missing', [{ path: 'title', value: 'x' }], 'invalidSyntax', /op must be/],
    ['operation not an object', ['replace'], 'invalidSyntax', /must be an object/],
    ['add without value', [{ op: 'add', path: 'title' }], 'invalidSyntax', /needs a "value"/],
    ['remove without path', [{ op: 'remove' }], 'noTarget', /needs a "path"/],
    ['path-less value not an object', [{ op: 'replace', value: 'x' }], 'invalidValue', /must be an object/],
    ['unknown attribute', [{ op: 'replace', path: 'favouriteColour', value: 'x' }], 'invalidPath', /unknown attribute "favouriteColour"/],
    ['unknown key in path-less value', [{ op: 'replace', value: { favouriteColour: 'x' } }], 'invalidPath', /favouriteColour/],
    ['unknown sub-attribute', [{ op: 'replace', path: 'name.nick', value: 'x' }], 'invalidPath', /name.nick/],
    ['malformed path', [{ op: 'replace', path: 'emails[type eq', value: 'x' }], 'invalidPath', /Invalid path/],
    ['filter on a single-valued attribute', [{ op: 'replace', path: 'name[givenName eq "x"].familyName', value: 'x' }], 'invalidPath', /multi-valued/],
    ['sub-attribute of every value', [{ op: 'replace', path: 'emails.value', value: 'x' }], 'invalidPath', /select values with a filter/],
    ['wrong type', [{ op: 'replace', path: 'active', value: 'maybe' }], 'invalidValue', /"active" must be a boolean/],
    ['wrong type in value object', [{ op: 'add', value: { name: { givenName: 42 } } }], 'invalidValue', /"name.givenName" must be a string/],
    ['array for a single-valued attribute', [{ op: 'replace', path: 'title', value: ['a'] }], 'invalidValue', /single value/],
    ['no match and filter cannot create', [{ op: 'replace', path: 'emails[value co "zzz"].type', value: 'work' }], 'noTarget', /no value of "emails" matches/],
  ])('%s → %s', (_name, ops, scimType, detail) => {
    expectScimError(() => patchUser(ops), scimType, detail);
  });

  it('rejects an unknown sub-attribute inside a value filter as invalidFilter', () => {
    const err = scimErrorOf(() => patchUser([{ op: 'replace', path: 'emails[kind eq "work"].value', value: 'x' }]));
    expect(err.scimType).toBe('invalidFilter');
  });

  it('rejects an empty operation list', () => {
    expectScimError(() => patchUser([]), 'invalidSyntax');
  });
});

describe('parsePatchRequest', () => {
  it('returns the operations of a valid body', () => {
    const ops = [{ op: 'replace', path: 'active', value: false }];
    expect(parsePatchRequest({ schemas: [PATCH_OP_SCHEMA], Operations: ops })).toEqual(ops);
    expect(parsePatchRequest({ operations: ops })).toEqual(ops);
  });

  it('rejects malformed bodies', () => {
    expectScimError(() => parsePatchRequest(null), 'invalidSyntax');
    expectScimError(() => parsePatchRequest({ schemas: ['urn:wrong'], Operations: [{ op: 'add', path: 'x', value: 1 }] }), 'invalidSyntax', /PatchOp/);
    expectScimError(() => parsePatchRequest({ schemas: [PATCH_OP_SCHEMA] }), 'invalidSyntax', /Operations/);
    expectScimError(() => parsePatchRequest({ schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'nope' }] }), 'invalidSyntax');
  });
});

describe('applyPatch: extension keys in path-less values', () => {
  it('accepts a URN-qualified manager key with a bare id, and an extension object with a dotted key', () => {
    const out = patchUser([{ op: 'Add', value: { [`${ENT}:manager`]: 'boss-1' } }]);
    expect(out[ENT]).toEqual({ manager: { value: 'boss-1' } });
    const out2 = patchUser([{ op: 'replace', value: { [ENT]: { 'manager.value': 'boss-2', Department: 'D' } } }], out);
    expect(out2[ENT]).toEqual({ manager: { value: 'boss-2' }, department: 'D' });
  });
});
