import { describe, expect, it } from 'vitest';
import { parseFilter } from './filter.ts';
import { filterToQuery } from './query.ts';
import { ENTERPRISE_USER_SCHEMA_ID as ENT, GROUP_RESOURCE_SCHEMA, USER_RESOURCE_SCHEMA } from './schemas.ts';

const q = (f: string, schema = USER_RESOURCE_SCHEMA) => filterToQuery(parseFilter(f), schema);

describe('filterToQuery', () => {
  it('translates equality on indexed attributes, with case sensitivity from the schema', () => {
    expect(q('userName eq "Bjensen"')).toEqual([{ attributePath: 'userName', value: 'Bjensen', caseInsensitive: true }]);
    expect(q('USERNAME EQ "b"')).toEqual([{ attributePath: 'userName', value: 'b', caseInsensitive: true }]);
    expect(q('externalId eq "E1"')).toEqual([{ attributePath: 'externalId', value: 'E1', caseInsensitive: false }]);
    expect(q('id eq "abc"')).toEqual([{ attributePath: 'id', value: 'abc', caseInsensitive: false }]);
    expect(q('displayName eq "Tour Guides"', GROUP_RESOURCE_SCHEMA)).toEqual([{ attributePath: 'displayName', value: 'Tour Guides', caseInsensitive: true }]);
    expect(q('emails.value eq "a@b.c"')).toEqual([{ attributePath: 'emails.value', value: 'a@b.c', caseInsensitive: true }]);
    expect(q('emails eq "a@b.c"')).toEqual([{ attributePath: 'emails.value', value: 'a@b.c', caseInsensitive: true }]);
    expect(q(`${ENT}:employeeNumber eq "701984"`)).toEqual([{ attributePath: `${ENT}:employeeNumber`, value: '701984', caseInsensitive: true }]);
    expect(q(`${ENT.toLowerCase()}:EMPLOYEENUMBER eq 701984`)).toEqual([{ attributePath: `${ENT}:employeeNumber`, value: '701984', caseInsensitive: true }]);
  });

  it('translates value paths on emails, with the type as a refinement', () => {
    expect(q('emails[value eq "a@b.c"]')).toEqual([{ attributePath: 'emails.value', value: 'a@b.c', caseInsensitive: true }]);
    expect(q('emails[type eq "work" and value eq "a@b.c"]')).toEqual([{ attributePath: 'emails.value', value: 'a@b.c', caseInsensitive: true, typeEquals: 'work' }]);
    expect(q('emails[type eq "work"].value eq "a@b.c"')).toEqual([{ attributePath: 'emails.value', value: 'a@b.c', caseInsensitive: true, typeEquals: 'work' }]);
  });

  it('translates AND of translatable parts', () => {
    expect(q('userName eq "a" and (externalId eq "b")')).toEqual([
      { attributePath: 'userName', value: 'a', caseInsensitive: true },
      { attributePath: 'externalId', value: 'b', caseInsensitive: false },
    ]);
  });

  it('returns null for anything else', () => {
    for (const f of [
      'userName ne "a"',
      'userName sw "a"',
      'userName pr',
      'userName eq "a" or externalId eq "b"',
      'not (userName eq "a")',
      'userName eq "a" and title eq "b"',
      'title eq "x"',
      'userName eq null',
      'emails[type eq "work"]',
      'emails[value co "x"]',
      'emails[type eq "work" and display eq "x" and value eq "y"]',
      `${ENT}:manager.value eq "m"`,
      'urn:custom:ext:User:cardUid eq "x"',
      'unknownAttr eq "x"',
    ]) {
      expect(q(f), f).toBeNull();
    }
  });

  it('takes a custom list of indexed paths', () => {
    const ast = parseFilter(`title eq "x" and ${ENT}:manager.value eq "m"`);
    expect(filterToQuery(ast, USER_RESOURCE_SCHEMA, { indexable: ['title', `${ENT}:manager.value`] })).toEqual([
      { attributePath: 'title', value: 'x', caseInsensitive: true },
      { attributePath: `${ENT}:manager.value`, value: 'm', caseInsensitive: true },
    ]);
    expect(filterToQuery(parseFilter('userName eq "a"'), USER_RESOURCE_SCHEMA, { indexable: ['title'] })).toBeNull();
  });
});
