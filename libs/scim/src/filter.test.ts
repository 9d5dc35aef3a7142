import { describe, expect, it } from 'vitest';
import { InvalidFilterError, ScimError } from './errors.ts';
import { parseAttributePath, parseFilter, parsePatchPath, type FilterNode } from './filter.ts';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const eq = (attribute: string, value: unknown, extra: Record<string, string> = {}): FilterNode =>
  ({ kind: 'compare', op: 'eq', path: { attribute, ...extra }, value }) as FilterNode;

describe('parseFilter: RFC 7644 §3.4.2.2 examples', () => {
  it.each([
    ['userName eq "bjensen"', eq('userName', 'bjensen')],
    [`name.familyName co "O'Malley"`, { kind: 'compare', op: 'co', path: { attribute: 'name', subAttribute: 'familyName' }, value: "O'Malley" }],
    ['userName sw "J"', { kind: 'compare', op: 'sw', path: { attribute: 'userName' }, value: 'J' }],
    [
      'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
      { kind: 'compare', op: 'sw', path: { uri: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'userName' }, value: 'J' },
    ],
    ['title pr', { kind: 'present', path: { attribute: 'title' } }],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', { kind: 'compare', op: 'gt', path: { attribute: 'meta', subAttribute: 'lastModified' }, value: '2011-05-13T04:42:34Z' }],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', { kind: 'compare', op: 'ge', path: { attribute: 'meta', subAttribute: 'lastModified' }, value: '2011-05-13T04:42:34Z' }],
    ['meta.lastModified lt "2011-05-13T04:42:34Z"', { kind: 'compare', op: 'lt', path: { attribute: 'meta', subAttribute: 'lastModified' }, value: '2011-05-13T04:42:34Z' }],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', { kind: 'compare', op: 'le', path: { attribute: 'meta', subAttribute: 'lastModified' }, value: '2011-05-13T04:42:34Z' }],
    ['title pr and userType eq "Employee"', { kind: 'and', filters: [{ kind: 'present', path: { attribute: 'title' } }, eq('userType', 'Employee')] }],
    ['title pr or userType eq "Intern"', { kind: 'or', filters: [{ kind: 'present', path: { attribute: 'title' } }, eq('userType', 'Intern')] }],
    [`schemas eq "${ENT}"`, eq('schemas', ENT)],
    [
      'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
      {
        kind: 'and',
        filters: [
          eq('userType', 'Employee'),
          {
            kind: 'or',
            filters: [
              { kind: 'compare', op: 'co', path: { attribute: 'emails' }, value: 'example.com' },
              { kind: 'compare', op: 'co', path: { attribute: 'emails', subAttribute: 'value' }, value: 'example.org' },
            ],
          },
        ],
      },
    ],
    [
      'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
      {
        kind: 'and',
        filters: [
          { kind: 'compare', op: 'ne', path: { attribute: 'userType' }, value: 'Employee' },
          {
            kind: 'not',
            filter: {
              kind: 'or',
              filters: [
                { kind: 'compare', op: 'co', path: { attribute: 'emails' }, value: 'example.com' },
                { kind: 'compare', op: 'co', path: { attribute: 'emails', subAttribute: 'value' }, value: 'example.org' },
              ],
            },
          },
        ],
      },
    ],
    ['userType eq "Employee" and (emails.type eq "work")', { kind: 'and', filters: [eq('userType', 'Employee'), eq('emails', 'work', { subAttribute: 'type' })] }],
    [
      'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
      {
        kind: 'and',
        filters: [
          eq('userType', 'Employee'),
          {
            kind: 'valuePath',
            path: { attribute: 'emails' },
            filter: { kind: 'and', filters: [eq('type', 'work'), { kind: 'compare', op: 'co', path: { attribute: 'value' }, value: '@example.com' }] },
          },
        ],
      },
    ],
    [
      'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
      {
        kind: 'or',
        filters: [
          {
            kind: 'valuePath',
            path: { attribute: 'emails' },
            filter: { kind: 'and', filters: [eq('type', 'work'), { kind: 'compare', op: 'co', path: { attribute: 'value' }, value: '@example.com' }] },
          },
          {
            kind: 'valuePath',
            path: { attribute: 'ims' },
            filter: { kind: 'and', filters: [eq('type', 'xmpp'), { kind: 'compare', op: 'co', path: { attribute: 'value' }, value: '@foo.com' }] },
          },
        ],
      },
    ],
  ])('%s', (input, expected) => {
    expect(parseFilter(input)).toEqual(expected);
  });
});

describe('parseFilter: grammar details', () => {
  it('gives "and" precedence over "or" and "not" over "and"', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toEqual({ kind: 'or', filters: [eq('a', 1), { kind: 'and', filters: [eq('b', 2), eq('c', 3)] }] });
    expect(parseFilter('a eq 1 and b eq 2 or c eq 3')).toEqual({ kind: 'or', filters: [{ kind: 'and', filters: [eq('a', 1), eq('b', 2)] }, eq('c', 3)] });
    expect(parseFilter('not (a eq 1) and b eq 2')).toEqual({ kind: 'and', filters: [{ kind: 'not', filter: eq('a', 1) }, eq('b', 2)] });
  });

  it('lets parentheses override precedence', () => {
    expect(parseFilter('(a eq 1 or b eq 2) and c eq 3')).toEqual({ kind: 'and', filters: [{ kind: 'or', filters: [eq('a', 1), eq('b', 2)] }, eq('c', 3)] });
  });

  it('accepts not( without a space (RFC 7644 errata 7319)', () => {
    expect(parseFilter('not(a eq 1)')).toEqual({ kind: 'not', filter: eq('a', 1) });
  });

  it('reads operators and logical words case-insensitively, keeping attribute names as written', () => {
    expect(parseFilter('UserName EQ "x" AND Title PR')).toEqual({ kind: 'and', filters: [eq('UserName', 'x'), { kind: 'present', path: { attribute: 'Title' } }] });
  });

  it('parses JSON literals: true, false, null, numbers', () => {
    expect(parseFilter('active eq true')).toEqual(eq('active', true));
    expect(parseFilter('active eq False')).toEqual(eq('active', false));
    expect(parseFilter('nickName eq null')).toEqual(eq('nickName', null));
    expect(parseFilter('x gt -1.5e2')).toEqual({ kind: 'compare', op: 'gt', path: { attribute: 'x' }, value: -150 });
  });

  it('decodes JSON string escapes', () => {
    expect(parseFilter('displayName eq "Babs \\"B\\" Jensen \\u00e9\\\\"')).toEqual(eq('displayName', 'Babs "B" Jensen é\\'));
    expect(parseFilter('displayName eq "a) or (b"')).toEqual(eq('displayName', 'a) or (b'));
  });

  it('parses URN-qualified extension attributes and sub-attributes', () => {
    expect(parseFilter(`${ENT}:employeeNumber eq "701984"`)).toEqual(eq('employeeNumber', '701984', { uri: ENT }));
    expect(parseFilter(`${ENT}:manager.value eq "26118915"`)).toEqual({
      kind: 'compare',
      op: 'eq',
      path: { uri: ENT, attribute: 'manager', subAttribute: 'value' },
      value: '26118915',
    });
  });

  it('accepts $ref as a sub-attribute name', () => {
    expect(parseFilter('members.$ref pr')).toEqual({ kind: 'present', path: { attribute: 'members', subAttribute: '$ref' } });
  });

  it('reads an unquoted value as a string (Entra legacy) unless disabled', () => {
    expect(parseFilter('externalId eq jyoung')).toEqual(eq('externalId', 'jyoung'));
    expect(() => parseFilter('externalId eq jyoung', { allowUnquotedValues: false })).toThrow(InvalidFilterError);
  });

  it('reads attr[filter].sub op value as one value path (Entra)', () => {
    expect(parseFilter('emails[type eq "work"].value eq "a@b.c"')).toEqual({
      kind: 'valuePath',
      path: { attribute: 'emails' },
      filter: { kind: 'and', filters: [eq('type', 'work'), eq('value', 'a@b.c')] },
    });
  });

  it('tolerates extra whitespace', () => {
    expect(parseFilter('  ( userName   eq "a" )  ')).toEqual(eq('userName', 'a'));
  });
});

describe('parseFilter: bad input', () => {
  it.each([
    ['', /empty/],
    ['userName eq', /Expected a value after "eq"/],
    ['userName xx "a"', /Expected an operator/],
    ['(userName eq "a"', /Expected "\)"/],
    ['userName eq "a")', /Unexpected "\)"/],
    ['userName eq "a" foo', /Unexpected "foo"/],
    ['userName eq "a', /Unterminated string/],
    ['userName eq "bad \\q escape"', /Invalid string literal/],
    ['userName eq "a" and', /Expected an attribute path/],
    ['userName eq and', /Expected a value/],
    ['not userName eq "a"', /Expected an operator/],
    ['emails[type eq "work"', /Expected "\]"/],
    ['emails[phones[type eq "x"]]', /cannot be nested/],
    ['emails[name.x eq "a"]', /only sub-attribute names/],
    ['name.givenName.x eq "a"', /not a valid attribute path/],
    ['1abc eq "a"', /not a valid attribute path/],
    ['emails[type eq "work"].value', /Expected an operator/],
  ])('%j → InvalidFilterError %s', (input, message) => {
    let err: unknown;
    try {
      parseFilter(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidFilterError);
    const e = err as InvalidFilterError;
    expect(e.status).toBe(400);
    expect(e.scimType).toBe('invalidFilter');
    expect(e.detail).toMatch(message);
  });

  it('reports the position of the problem', () => {
    try {
      parseFilter('userName zz "a"');
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidFilterError).position).toBe(9);
    }
  });

  it('enforces maxLength', () => {
    const long = `userName eq "${'a'.repeat(100)}"`;
    expect(() => parseFilter(long, { maxLength: 50 })).toThrow(/longer than 50/);
    expect(parseFilter(long, { maxLength: 200 })).toEqual(eq('userName', 'a'.repeat(100)));
  });

  it('enforces maxDepth without overflowing the stack', () => {
    const nested = (n: number): string => `${'('.repeat(n)}a eq 1${')'.repeat(n)}`;
    expect(parseFilter(nested(5), { maxDepth: 5 })).toEqual(eq('a', 1));
    expect(() => parseFilter(nested(6), { maxDepth: 5 })).toThrow(/deeper than 5/);
    expect(() => parseFilter(nested(100000), { maxLength: 1_000_000 })).toThrow(/deeper than 32/);
  });

  it('keeps long and-chains flat, so they do not count as depth', () => {
    const chain = Array.from({ length: 200 }, (_, i) => `a${i} eq ${i}`).join(' and ');
    const ast = parseFilter(chain, { maxDepth: 1 });
    expect(ast.kind).toBe('and');
    expect(ast.kind === 'and' && ast.filters.length).toBe(200);
  });

  it('rejects a non-string', () => {
    expect(() => parseFilter(42 as unknown as string)).toThrow(InvalidFilterError);
  });
});

describe('parsePatchPath', () => {
  it('parses attribute, sub-attribute, URN and value-filter paths', () => {
    expect(parsePatchPath('members')).toEqual({ attribute: 'members' });
    expect(parsePatchPath('name.familyName')).toEqual({ attribute: 'name', subAttribute: 'familyName' });
    expect(parsePatchPath(`${ENT}:manager`)).toEqual({ uri: ENT, attribute: 'manager' });
    expect(parsePatchPath('members[value eq "2819c223"]')).toEqual({ attribute: 'members', filter: eq('value', '2819c223') });
    expect(parsePatchPath('addresses[type eq "work"].streetAddress')).toEqual({
      attribute: 'addresses',
      subAttribute: 'streetAddress',
      filter: eq('type', 'work'),
    });
  });

  it('throws 400 invalidPath for malformed paths', () => {
    for (const bad of ['', 'emails[type eq "work"', 'emails[type eq "work"] .value', 'a b', 'emails[type eq "work"].value.x', 'name.givenName[type eq "x"]']) {
      let err: unknown;
      try {
        parsePatchPath(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ScimError);
      expect((err as ScimError).scimType, bad).toBe('invalidPath');
    }
  });
});

describe('parseAttributePath', () => {
  it('parses and rejects', () => {
    expect(parseAttributePath(' name.givenName ')).toEqual({ attribute: 'name', subAttribute: 'givenName' });
    expect(() => parseAttributePath('name..x')).toThrow(ScimError);
  });
});
