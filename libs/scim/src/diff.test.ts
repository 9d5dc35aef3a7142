import { describe, expect, it } from 'vitest';
import { diffResources } from './diff.ts';
import { parsePatchPath } from './filter.ts';
import { applyPatch } from './patch.ts';
import { ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, USER_RESOURCE_SCHEMA, USER_SCHEMA_ID } from './schemas.ts';

const before = {
  schemas: [USER_SCHEMA_ID, ENT],
  id: 'u1',
  userName: 'bjensen',
  active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [
    { type: 'work', value: 'b@work.org', primary: true },
    { type: 'home', value: 'b@home.org' },
  ],
  [ENT]: { department: 'Tours', manager: { value: 'm1' } },
  meta: { lastModified: '2020-01-01T00:00:00Z' },
};

describe('diffResources', () => {
  it('reports nothing for equal resources, ignoring meta and schemas', () => {
    expect(diffResources(before, { ...structuredClone(before), meta: { lastModified: '2024-01-01T00:00:00Z' }, schemas: [USER_SCHEMA_ID] })).toEqual([]);
  });

  it('flattens to leaf paths for simple, complex, typed multi-valued and extension attributes', () => {
    const after = applyPatch(
      before,
      [
        { op: 'replace', path: 'name.givenName', value: 'Babs' },
        { op: 'replace', path: 'active', value: false },
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'babs@work.org' },
        { op: 'remove', path: 'emails[type eq "home"]' },
        { op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1' },
        { op: 'replace', path: `${ENT}:department`, value: 'Sales' },
        { op: 'replace', path: `${ENT}:manager`, value: 'm2' },
        { op: 'add', path: 'title', value: 'Guide' },
      ],
      USER_RESOURCE_SCHEMA,
    );
    expect(diffResources(before, after)).toEqual([
      { path: 'active', oldValue: true, newValue: false },
      { path: 'emails[type eq "home"].type', oldValue: 'home', newValue: null },
      { path: 'emails[type eq "home"].value', oldValue: 'b@home.org', newValue: null },
      { path: 'emails[type eq "work"].value', oldValue: 'b@work.org', newValue: 'babs@work.org' },
      { path: 'name.givenName', oldValue: 'Barbara', newValue: 'Babs' },
      { path: 'phoneNumbers[type eq "mobile"].type', oldValue: null, newValue: 'mobile' },
      { path: 'phoneNumbers[type eq "mobile"].value', oldValue: null, newValue: '+1' },
      { path: 'title', oldValue: null, newValue: 'Guide' },
      { path: `${ENT}:department`, oldValue: 'Tours', newValue: 'Sales' },
      { path: `${ENT}:manager.value`, oldValue: 'm1', newValue: 'm2' },
    ]);
  });

  it('keys members by value: one change per added or removed member', () => {
    const g1 = { id: 'g', displayName: 'G', members: [{ value: 'u1' }, { value: 'u2', display: 'B' }] };
    const g2 = applyPatch(
      g1,
      [
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'add', path: 'members', value: [{ value: 'u3' }] },
      ],
      GROUP_RESOURCE_SCHEMA,
    );
    expect(diffResources(g1, g2)).toEqual([
      { path: 'members[value eq "u1"]', oldValue: { value: 'u1' }, newValue: null },
      { path: 'members[value eq "u3"]', oldValue: null, newValue: { value: 'u3' } },
    ]);
    const renamed = { ...g2, members: [{ value: 'u2', display: 'Bee' }, { value: 'u3' }] };
    expect(diffResources(g2, renamed)).toEqual([{ path: 'members[value eq "u2"].display', oldValue: 'B', newValue: 'Bee' }]);
  });

  it('falls back to the whole attribute when values have no distinct key', () => {
    const a = { userName: 'a', schemasX: ['x'], emails: [{ value: 'a@x' }, { value: 'a@x' }] };
    const b = { userName: 'a', schemasX: ['x', 'y'], emails: [{ value: 'a@x' }] };
    expect(diffResources(a, b)).toEqual([
      { path: 'emails', oldValue: [{ value: 'a@x' }, { value: 'a@x' }], newValue: [{ value: 'a@x' }] },
      { path: 'schemasX', oldValue: ['x'], newValue: ['x', 'y'] },
    ]);
  });

  it('treats absent, null and [] alike and handles creation and deletion', () => {
    expect(diffResources({ userName: 'a', roles: [] }, { userName: 'a', nickName: null })).toEqual([]);
    expect(diffResources(null, { userName: 'a', name: { givenName: 'G' } })).toEqual([
      { path: 'name.givenName', oldValue: null, newValue: 'G' },
      { path: 'userName', oldValue: null, newValue: 'a' },
    ]);
    expect(diffResources({ userName: 'a' }, undefined)).toEqual([{ path: 'userName', oldValue: 'a', newValue: null }]);
  });

  it('produces paths that parse as PATCH paths', () => {
    const after = applyPatch(before, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'x"y@work.org' }], USER_RESOURCE_SCHEMA);
    for (const c of diffResources(before, { ...after, [ENT]: { department: 'X' } })) {
      expect(() => parsePatchPath(c.path), c.path).not.toThrow();
    }
  });
});
