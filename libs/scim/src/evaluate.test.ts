import { describe, expect, it } from 'vitest';
import { InvalidFilterError } from './errors.ts';
import { evaluateFilter, validateFilter } from './evaluate.ts';
import { parseFilter } from './filter.ts';
import { createUserResourceSchema, ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, USER_RESOURCE_SCHEMA } from './schemas.ts';

const bjensen = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'bjensen-ext',
  userName: 'bjensen',
  name: { familyName: "O'Malley", givenName: 'Barbara' },
  displayName: 'Babs Jensen',
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'babs@foo.com', type: 'xmpp' }],
  [ENT]: { employeeNumber: '701984', manager: { value: 'mgr-1', displayName: 'John Smith' } },
  meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T06:42:34+02:00' },
};

const match = (filter: string, resource: Record<string, unknown> = bjensen): boolean => evaluateFilter(parseFilter(filter), resource, USER_RESOURCE_SCHEMA);

describe('evaluateFilter: RFC 7644 §3.4.2.2 examples against a sample user', () => {
  it.each([
    ['userName eq "bjensen"', true],
    ['userName eq "bjensen2"', false],
    [`name.familyName co "O'Malley"`, true],
    ['userName sw "J"', false],
    ['userName sw "BJ"', true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bJ"', true],
    ['title pr', true],
    ['nickName pr', false],
    // lastModified is 2011-05-13T04:42:34Z written with a +02:00 offset: compared as instants
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified lt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified gt "2011-05-13T04:42:33.999Z"', true],
    ['meta.created lt "2011-01-01T00:00:00+00:00"', true],
    ['title pr and userType eq "Employee"', true],
    ['title pr or userType eq "Intern"', true],
    ['nickName pr or userType eq "Intern"', false],
    [`schemas eq "${ENT}"`, true],
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    ['userType eq "Employee" and (emails.type eq "work")', true],
    ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', true],
    ['userType eq "Employee" and emails[type eq "home" and value co "@example.com"]', false],
    ['emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', true],
    ['emails[type eq "other"] or ims[type eq "aim"]', false],
  ])('%s → %s', (filter, expected) => {
    expect(match(filter)).toBe(expected);
  });
});

describe('evaluateFilter: typing by schema', () => {
  it('compares caseExact=false strings case-insensitively and caseExact=true strings exactly', () => {
    expect(match('userName eq "BJENSEN"')).toBe(true);
    expect(match('USERNAME Eq "bJensen"')).toBe(true);
    expect(match('emails.value eq "BJENSEN@EXAMPLE.COM"')).toBe(true);
    expect(match('externalId eq "bjensen-ext"')).toBe(true);
    expect(match('externalId eq "BJENSEN-EXT"')).toBe(false);
    expect(match('id eq "2819C223-7F76-453A-919D-413861904646"')).toBe(false);
  });

  it('applies every operator to strings', () => {
    expect(match('displayName ne "x"')).toBe(true);
    expect(match('displayName ne "babs jensen"')).toBe(false);
    expect(match('displayName ew "JENSEN"')).toBe(true);
    expect(match('displayName gt "Babs"')).toBe(true);
    expect(match('displayName lt "Babs"')).toBe(false);
    expect(match('displayName ge "babs jensen"')).toBe(true);
    expect(match('displayName le "babs jensen"')).toBe(true);
  });

  it('compares booleans as booleans, also given as strings', () => {
    expect(match('active eq true')).toBe(true);
    expect(match('active eq false')).toBe(false);
    expect(match('active ne false')).toBe(true);
    expect(match('active eq "True"')).toBe(true);
    expect(match('emails[primary eq true].value eq "bjensen@example.com"')).toBe(true);
    expect(match('active eq true', { ...bjensen, active: false })).toBe(false);
  });

  it('compares numbers numerically in an extension the schema defines', () => {
    const schema = createUserResourceSchema([
      {
        schema: {
          id: 'urn:example:ext:1.0:User',
          name: 'Ext',
          description: 'test',
          attributes: [
            { name: 'level', type: 'integer', multiValued: false, description: '', required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' },
          ],
        },
      },
    ]);
    const u = { ...bjensen, 'urn:example:ext:1.0:User': { level: 10 } };
    const run = (f: string): boolean => evaluateFilter(parseFilter(f), u, schema);
    expect(run('urn:example:ext:1.0:User:level gt 9')).toBe(true);
    expect(run('urn:example:ext:1.0:User:level gt 10')).toBe(false);
    expect(run('urn:example:ext:1.0:User:level le 10')).toBe(true);
    // lexicographic would say "10" < "9"
    expect(run('urn:example:ext:1.0:User:level lt 9')).toBe(false);
  });

  it('matches multi-valued attributes when any value matches', () => {
    expect(match('emails.value ew "jensen.org"')).toBe(true);
    expect(match('emails.type eq "home"')).toBe(true);
    expect(match('emails.type eq "other"')).toBe(false);
  });

  it('evaluates URN-qualified extension attributes', () => {
    expect(match(`${ENT}:employeeNumber eq "701984"`)).toBe(true);
    expect(match(`${ENT}:manager.value eq "MGR-1"`)).toBe(true);
    expect(match(`${ENT}:department pr`)).toBe(false);
  });

  it('treats absent attributes per the documented rules', () => {
    expect(match('nickName eq null')).toBe(true);
    expect(match('title eq null')).toBe(false);
    expect(match('title ne null')).toBe(true);
    expect(match('nickName ne "x"')).toBe(true);
    expect(match('nickName eq "x"')).toBe(false);
    expect(match('nickName pr', { ...bjensen, nickName: '' })).toBe(false);
    expect(match('phoneNumbers pr', { ...bjensen, phoneNumbers: [] })).toBe(false);
  });

  it('handles not and precedence', () => {
    expect(match('userName eq "nobody" and title pr or active eq true')).toBe(true);
    expect(match('userName eq "nobody" and (title pr or active eq true)')).toBe(false);
    expect(match('not (userName eq "bjensen") or active eq false')).toBe(false);
  });

  it('evaluates Group members', () => {
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g', displayName: 'Tour Guides', members: [{ value: 'u1' }, { value: 'u2' }] };
    expect(evaluateFilter(parseFilter('members[value eq "u2"]'), group, GROUP_RESOURCE_SCHEMA)).toBe(true);
    expect(evaluateFilter(parseFilter('members.value eq "u3"'), group, GROUP_RESOURCE_SCHEMA)).toBe(false);
    expect(evaluateFilter(parseFilter('displayName eq "tour guides"'), group, GROUP_RESOURCE_SCHEMA)).toBe(true);
  });

  it('throws invalidFilter for operators a type does not support', () => {
    for (const f of ['active gt true', 'active co "t"', 'meta.created co "2010"', 'meta.created gt "yesterday"', 'userName gt null', 'x509Certificates.value gt "a"']) {
      expect(() => match(f), f).toThrow(InvalidFilterError);
    }
  });
});

describe('validateFilter', () => {
  it('accepts known attributes and unknown urn: extensions', () => {
    for (const f of ['userName eq "a"', 'emails[type eq "work"].value eq "a"', `${ENT}:manager.value eq "x"`, 'urn:custom:ext:User:cardUid eq "x"', 'meta.lastModified gt "2020-01-01T00:00:00Z"']) {
      expect(() => validateFilter(parseFilter(f), USER_RESOURCE_SCHEMA), f).not.toThrow();
    }
  });

  it('rejects unknown attributes and type mismatches with a message', () => {
    expect(() => validateFilter(parseFilter('usrName eq "a"'), USER_RESOURCE_SCHEMA)).toThrow(/Unknown attribute "usrName"/);
    expect(() => validateFilter(parseFilter('name.nick eq "a"'), USER_RESOURCE_SCHEMA)).toThrow(/Unknown attribute "name.nick"/);
    expect(() => validateFilter(parseFilter('emails[kind eq "a"]'), USER_RESOURCE_SCHEMA)).toThrow(/Unknown attribute "emails.kind"/);
    expect(() => validateFilter(parseFilter(`${ENT}:badge eq "a"`), USER_RESOURCE_SCHEMA)).toThrow(InvalidFilterError);
    expect(() => validateFilter(parseFilter('userName[value eq "a"]'), USER_RESOURCE_SCHEMA)).toThrow(/not complex/);
    expect(() => validateFilter(parseFilter('active ge false'), USER_RESOURCE_SCHEMA)).toThrow(/boolean/);
    expect(() => validateFilter(parseFilter('meta.created eq "notadate"'), USER_RESOURCE_SCHEMA)).toThrow(/dateTime/);
  });
});
