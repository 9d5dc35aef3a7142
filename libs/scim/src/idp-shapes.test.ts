/**
 * One test per numbered item of shared/reference/idp-request-shapes.md, at the library level:
 * the request bodies and filters are the shapes the IdPs send; HTTP status codes and headers
 * are the ingress service's job, so those items check the pieces this library supplies.
 */
import { describe, expect, it } from 'vitest';
import { buildListResponse, buildSchemas } from './discovery.ts';
import { ScimError, toScimErrorBody } from './errors.ts';
import { evaluateFilter, validateFilter } from './evaluate.ts';
import { parseFilter } from './filter.ts';
import { applyPatch } from './patch.ts';
import { filterToQuery } from './query.ts';
import { normalizeResourceInput, normalizeUserInput, projectAttributes, sortResources } from './resource.ts';
import { ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, GROUP_SCHEMA_ID, USER_RESOURCE_SCHEMA, USER_SCHEMA, USER_SCHEMA_ID } from './schemas.ts';
import type { ScimResource } from './schema-types.ts';

const U = USER_RESOURCE_SCHEMA;
const G = GROUP_RESOURCE_SCHEMA;

/** What the ingress does for GET /Users?filter=…: parse, validate, run over the candidates. */
function search(filter: string, resources: ScimResource[], schema = U): ScimResource[] {
  const ast = parseFilter(filter);
  validateFilter(ast, schema);
  return resources.filter((r) => evaluateFilter(ast, r, schema));
}

function stored(json: unknown, id: string, schema = U): ScimResource {
  return { ...normalizeResourceInput(json, schema), id, meta: { resourceType: schema.resourceType, created: '2024-01-01T00:00:00Z', lastModified: '2024-01-01T00:00:00Z' } };
}

const oktaUserBody = {
  schemas: [USER_SCHEMA_ID],
  userName: 'isaac.brock@example.com',
  name: { givenName: 'Isaac', familyName: 'Brock' },
  emails: [{ primary: true, value: 'isaac.brock@example.com', type: 'work' }],
  displayName: 'Isaac Brock',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

const entraUserBody = {
  schemas: [USER_SCHEMA_ID, ENT],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com',
  active: true,
  emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
};

describe('Okta', () => {
  it('1. userName filter for an absent user: zero results, numeric ListResponse', () => {
    const filter = decodeURIComponent('userName%20eq%20%22x%40y%22');
    expect(filter).toBe('userName eq "x@y"');
    const found = search(filter, [stored(oktaUserBody, 'u1')]);
    expect(found).toEqual([]);
    const body = buildListResponse(found, found.length, 1);
    expect(body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    expect(typeof body.totalResults).toBe('number');
    expect(filterToQuery(parseFilter(filter))).toEqual([{ attributePath: 'userName', value: 'x@y', caseInsensitive: true }]);
  });

  it('2. POST /Users with read-only groups:[] and a password: both ignored, no error; duplicates are detectable', () => {
    const out = normalizeUserInput(oktaUserBody);
    expect(out).toEqual({
      schemas: [USER_SCHEMA_ID],
      userName: 'isaac.brock@example.com',
      name: { givenName: 'Isaac', familyName: 'Brock' },
      emails: [{ primary: true, value: 'isaac.brock@example.com', type: 'work' }],
      displayName: 'Isaac Brock',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      active: true,
    });
    // duplicate detection: userName is unique per server and matched case-insensitively
    expect(USER_SCHEMA.attributes.find((a) => a.name === 'userName')).toMatchObject({ uniqueness: 'server', caseExact: false });
    expect(search('userName eq "ISAAC.BROCK@example.com"', [stored(oktaUserBody, 'u1')])).toHaveLength(1);
    expect(toScimErrorBody(new ScimError({ status: 409, scimType: 'uniqueness', detail: 'userName is already taken' }))).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '409',
      scimType: 'uniqueness',
      detail: 'userName is already taken',
    });
  });

  it('3. paging with startIndex/count is stable whatever the page size', () => {
    const users: ScimResource[] = [];
    for (let i = 0; i < 250; i++) {
      // duplicate and case-varied userNames make ties that must still order stably
      users.push({ id: `id-${String((i * 7919) % 1000).padStart(4, '0')}`, userName: i % 3 === 0 ? 'Same' : `user${(i * 31) % 97}`, schemas: [USER_SCHEMA_ID] });
    }
    const shuffledA = [...users].reverse();
    const shuffledB = [...users.slice(100), ...users.slice(0, 100)];
    const full = sortResources(shuffledA, 'userName', 'ascending', U).map((u) => u['id']);
    expect(sortResources(shuffledB, 'userName', undefined, U).map((u) => u['id'])).toEqual(full);
    for (const count of [1, 7, 100, 250]) {
      const pages: unknown[] = [];
      for (let startIndex = 1; startIndex <= 250; startIndex += count) {
        pages.push(...sortResources(shuffledB, 'userName', 'ascending', U).slice(startIndex - 1, startIndex - 1 + count).map((u) => u['id']));
      }
      expect(pages).toEqual(full);
    }
    expect(new Set(full).size).toBe(250);
    // without sortBy the input order (the store's stable order) is kept
    expect(sortResources(users, undefined, undefined, U)).toEqual(users);
  });

  it('4. PUT with id, groups:[], meta:{resourceType} and name.middleName:"" → accepted as the new state', () => {
    const existing = stored(oktaUserBody, '23a35c27-23d3-4c03-b4c5-6443c09e7173');
    const put = {
      schemas: [USER_SCHEMA_ID],
      id: '23a35c27-23d3-4c03-b4c5-6443c09e7173',
      userName: 'isaac.brock@example.com',
      name: { givenName: 'Isaac', middleName: '', familyName: 'Brock-Smith' },
      emails: [{ primary: true, value: 'isaac.brock@example.com', type: 'work' }],
      displayName: 'Isaac Brock-Smith',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      active: true,
      meta: { resourceType: 'User' },
    };
    const out = normalizeUserInput(put, U, { existing });
    expect(out).not.toHaveProperty('id');
    expect(out).not.toHaveProperty('groups');
    expect(out).not.toHaveProperty('meta');
    expect(out['name']).toEqual({ givenName: 'Isaac', middleName: '', familyName: 'Brock-Smith' });
    expect(out['displayName']).toBe('Isaac Brock-Smith');
  });

  it('5. deactivate / reactivate with a path-less replace {active:false|true}', () => {
    const u = stored(oktaUserBody, 'u1');
    const off = applyPatch(u, [{ op: 'replace', value: { active: false } }], U);
    expect(off['active']).toBe(false);
    expect({ ...off, active: true }).toEqual(u);
    expect(applyPatch(off, [{ op: 'replace', value: { active: true } }], U)['active']).toBe(true);
  });

  it('6. Groups: displayName filter, create with members:[], rename with id in value, membership remove+add, full push', () => {
    const g = stored({ schemas: [GROUP_SCHEMA_ID], displayName: 'Test SCIMv2', members: [] }, 'g1', G);
    expect(g).not.toHaveProperty('members');
    const filter = decodeURIComponent('displayName%20eq%20%22Test%20SCIMv2%22');
    expect(search(filter, [g], G)).toEqual([g]);
    expect(filterToQuery(parseFilter(filter), G)).toEqual([{ attributePath: 'displayName', value: 'Test SCIMv2', caseInsensitive: true }]);

    const renamed = applyPatch(g, [{ op: 'replace', value: { id: 'g1', displayName: 'Test SCIMv2 renamed' } }], G);
    expect(renamed['displayName']).toBe('Test SCIMv2 renamed');
    expect(renamed['id']).toBe('g1');

    const withTwo = applyPatch(renamed, [{ op: 'add', path: 'members', value: [{ value: 'u1', display: 'a' }, { value: 'u2', display: 'b' }] }], G);
    const swapped = applyPatch(
      withTwo,
      [
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'add', path: 'members', value: [{ value: 'u3', display: 'x' }] },
      ],
      G,
    );
    expect(swapped['members']).toEqual([{ value: 'u2', display: 'b' }, { value: 'u3', display: 'x' }]);

    const pushed = applyPatch(swapped, [{ op: 'replace', path: 'members', value: [{ value: 'u9', display: 'z' }] }], G);
    expect(pushed['members']).toEqual([{ value: 'u9', display: 'z' }]);
  });

  it('7. userName filter is case-insensitive; a bad token gets a SCIM Error body with status "401"', () => {
    const u = stored(oktaUserBody, 'u1');
    expect(search('userName eq "Isaac.Brock@EXAMPLE.com"', [u])).toEqual([u]);
    expect(toScimErrorBody(new ScimError({ status: 401, detail: 'Invalid bearer token' }))).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
      detail: 'Invalid bearer token',
    });
  });
});

describe('Microsoft Entra ID', () => {
  it('1. Test Connection and matching filters: random userName, unquoted externalId, emails[type eq "work"].value; only eq/and', () => {
    const u = stored(entraUserBody, 'u1');
    expect(search('userName eq "7b4e8f0e-0000-4000-8000-000000000000"', [u])).toEqual([]);

    expect(search('externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef', [u])).toEqual([u]);
    expect(filterToQuery(parseFilter('externalId eq jyoung'))).toEqual([{ attributePath: 'externalId', value: 'jyoung', caseInsensitive: false }]);

    const byMail = 'emails[type eq "work"].value eq "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"';
    expect(search(byMail, [u])).toEqual([u]);
    expect(search('emails[type eq "home"].value eq "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"', [u])).toEqual([]);
    expect(filterToQuery(parseFilter(byMail))).toEqual([
      { attributePath: 'emails.value', value: 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com', caseInsensitive: true, typeEquals: 'work' },
    ]);

    const both = 'userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"';
    expect(search(both, [u])).toEqual([u]);
    expect(filterToQuery(parseFilter(both))).toHaveLength(2);
  });

  it('2. POST /Users with [core, enterprise] schemas, client meta and roles:[] → meta ignored', () => {
    const out = normalizeUserInput(entraUserBody);
    expect(out).not.toHaveProperty('meta');
    expect(out).not.toHaveProperty('roles');
    expect(out['schemas']).toEqual([USER_SCHEMA_ID]);
    expect(out['userName']).toBe(entraUserBody.userName);
    expect(out['emails']).toEqual(entraUserBody.emails);
    const withExt = normalizeUserInput({ ...entraUserBody, [ENT]: { employeeNumber: '42', department: 'Sales' } });
    expect(withExt['schemas']).toEqual([USER_SCHEMA_ID, ENT]);
    expect(withExt[ENT]).toEqual({ employeeNumber: '42', department: 'Sales' });
  });

  it('3. legacy PATCH with PascalCase ops over every path Entra uses', () => {
    const u = stored(entraUserBody, 'u1');
    const out = applyPatch(
      u,
      [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@contoso.com' },
        { op: 'Replace', path: 'name.familyName', value: 'Fam' },
        { op: 'Replace', path: 'name.givenName', value: 'Giv' },
        { op: 'Replace', path: 'externalId', value: 'ext-2' },
        { op: 'Replace', path: 'userName', value: 'new.user@contoso.com' },
        { op: 'Add', path: 'displayName', value: 'New User' },
        { op: 'Add', path: 'nickName', value: 'Nick' },
        { op: 'Add', path: 'title', value: 'Engineer' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
        { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' },
        { op: 'Add', path: `${ENT}:employeeNumber`, value: 'E-1' },
        { op: 'Replace', path: `${ENT}:department`, value: 'R&D' },
        { op: 'Add', path: `${ENT}:manager`, value: 'mgr-id' },
        { op: 'Remove', path: 'nickName' },
      ],
      U,
    );
    expect(out).toMatchObject({
      userName: 'new.user@contoso.com',
      externalId: 'ext-2',
      displayName: 'New User',
      title: 'Engineer',
      name: { formatted: 'givenName familyName', familyName: 'Fam', givenName: 'Giv' },
      emails: [{ primary: true, type: 'work', value: 'new@contoso.com' }],
      phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }],
      addresses: [{ type: 'work', postalCode: '98052' }],
      [ENT]: { employeeNumber: 'E-1', department: 'R&D', manager: { value: 'mgr-id' } },
    });
    expect(out).not.toHaveProperty('nickName');
    expect(out['schemas']).toEqual([USER_SCHEMA_ID, ENT]);
  });

  it('4. disable: legacy string boolean "False" (any case) and the flagged boolean false', () => {
    const u = stored(entraUserBody, 'u1');
    for (const v of ['False', 'false', 'FALSE', 'fAlSe']) {
      expect(applyPatch(u, [{ op: 'Replace', path: 'active', value: v }], U)['active']).toBe(false);
    }
    const off = applyPatch(u, [{ op: 'replace', path: 'active', value: false }], U);
    expect(off['active']).toBe(false);
    expect(applyPatch(off, [{ op: 'Replace', path: 'active', value: 'True' }], U)['active']).toBe(true);
    expect(() => applyPatch(u, [{ op: 'Replace', path: 'active', value: 'No' }], U)).toThrow(/"active" must be a boolean/);
  });

  it('5. path-less replace with dotted and URN-prefixed keys', () => {
    const u = stored(entraUserBody, 'u1');
    const out = applyPatch(
      u,
      [{ op: 'replace', value: { displayName: 'Dee', 'name.givenName': 'Dee', 'name.familyName': 'Doe', [`${ENT}:employeeNumber`]: '777' } }],
      U,
    );
    expect(out['displayName']).toBe('Dee');
    expect(out['name']).toEqual({ formatted: 'givenName familyName', givenName: 'Dee', familyName: 'Doe' });
    expect(out[ENT]).toEqual({ employeeNumber: '777' });
    for (const k of ['name.givenName', 'name.familyName', `${ENT}:employeeNumber`]) expect(out).not.toHaveProperty([k]);
  });

  it('6. add/replace on a filtered path that matches nothing creates the value (emails, phoneNumbers, addresses, roles)', () => {
    const bare = stored({ schemas: [USER_SCHEMA_ID], userName: 'a@b.c' }, 'u1');
    const out = applyPatch(
      bare,
      [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'a@b.c' },
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0101' },
        { op: 'Replace', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
        { op: 'Add', path: 'roles[primary eq "True"].value', value: 'Admin' },
      ],
      U,
    );
    expect(out['emails']).toEqual([{ type: 'work', value: 'a@b.c' }]);
    expect(out['phoneNumbers']).toEqual([{ type: 'work', value: '+1 555 0101' }]);
    // the second op found the element the first one created
    expect(out['addresses']).toEqual([{ type: 'work', streetAddress: '1 Main St', locality: 'Redmond' }]);
    expect(out['roles']).toEqual([{ primary: true, value: 'Admin' }]);
  });

  it('7. manager as a bare id string → manager.value; Remove deletes it', () => {
    const u = stored(entraUserBody, 'u1');
    const added = applyPatch(u, [{ op: 'Add', path: `${ENT}:manager`, value: 'mgr-1' }], U);
    expect(added[ENT]).toEqual({ manager: { value: 'mgr-1' } });
    const withName = { ...added, [ENT]: { manager: { value: 'mgr-1', displayName: 'Old Boss' } } };
    const replaced = applyPatch(withName, [{ op: 'Replace', path: `${ENT}:manager`, value: 'mgr-2' }], U);
    expect(replaced[ENT]).toEqual({ manager: { value: 'mgr-2' } });
    const removed = applyPatch(replaced, [{ op: 'Remove', path: `${ENT}:manager` }], U);
    expect(removed).not.toHaveProperty(ENT);
    expect(removed['schemas']).toEqual([USER_SCHEMA_ID]);
  });

  it('8. Groups: extra Microsoft schema URI and meta tolerated; excludedAttributes=members; displayName filter', () => {
    const body = {
      schemas: [GROUP_SCHEMA_ID, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: { resourceType: 'Group' },
    };
    const norm = normalizeResourceInput(body, G);
    expect(norm).toEqual({ schemas: [GROUP_SCHEMA_ID], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'displayName' });
    const g = { ...stored(body, 'g1', G), members: [{ value: 'u1' }] };
    const lean = projectAttributes(g, { excludedAttributes: 'members' }, G);
    expect(lean).not.toHaveProperty('members');
    expect(lean['id']).toBe('g1');
    expect(lean['displayName']).toBe('displayName');
    const found = search('displayName eq "displayName"', [g], G).map((r) => projectAttributes(r, { excludedAttributes: ['members'] }, G));
    expect(found).toEqual([lean]);
  });

  it('9. members legacy Add/Remove with $ref:null value arrays remove only the listed members; flagged form too', () => {
    const g = { ...stored({ schemas: [GROUP_SCHEMA_ID], displayName: 'G' }, 'g1', G), members: [{ value: 'u1' }, { value: 'u2' }, { value: 'u3' }] };
    const added = applyPatch(g, [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u4' }] }], G);
    expect(added['members']).toEqual([{ value: 'u1' }, { value: 'u2' }, { value: 'u3' }, { value: 'u4' }]);
    const removed = applyPatch(added, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u2' }, { $ref: null, value: 'u4' }] }], G);
    expect(removed['members']).toEqual([{ value: 'u1' }, { value: 'u3' }]);
    const flagged = applyPatch(removed, [{ op: 'remove', path: 'members[value eq "u1"]' }], G);
    expect(flagged['members']).toEqual([{ value: 'u3' }]);
    // removing a member that is not there leaves the group alone
    expect(applyPatch(flagged, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'nobody' }] }], G)['members']).toEqual([{ value: 'u3' }]);
  });

  it('10. values stored as sent, one value per type, soft-deleted users still found, /Schemas without nulls', () => {
    const u = stored({ ...entraUserBody, userName: 'MiXeD.Case@Contoso.com', displayName: '  Spaced  ' }, 'u1');
    expect(u['userName']).toBe('MiXeD.Case@Contoso.com');
    expect(u['displayName']).toBe('  Spaced  ');

    const twice = applyPatch(
      u,
      [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'one@contoso.com' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'two@contoso.com' },
      ],
      U,
    );
    expect((twice['emails'] as { type: string }[]).filter((e) => e.type === 'work')).toHaveLength(1);

    const off = applyPatch(u, [{ op: 'Replace', path: 'active', value: 'False' }], U);
    expect(search('userName eq "mixed.case@contoso.com"', [off])).toEqual([off]);

    const schemasJson = JSON.stringify(buildSchemas());
    expect(schemasJson).not.toContain('null');
    for (const doc of buildSchemas()) {
      const names = JSON.stringify(doc.attributes).match(/"name":"[^"]*"/g) ?? [];
      for (const n of names) expect(n).toMatch(/^"name":"(\$ref|[a-z][A-Za-z0-9]*)"$/);
    }
  });
});
