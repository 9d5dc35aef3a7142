import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, LIST_RESPONSE, USER, expectScimError, scimStack, type ScimClient } from './support.ts';

const people = [
  { userName: 'bjensen', name: { givenName: 'Barbara', familyName: 'Jensen' }, title: 'Tour Guide', userType: 'Employee', active: true,
    emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }], [ENTERPRISE]: { employeeNumber: '1001', department: 'Tours' }, externalId: 'E-1' },
  { userName: 'jsmith', name: { givenName: 'John', familyName: 'Smith' }, title: 'Manager', userType: 'Contractor', active: false,
    emails: [{ value: 'john@example.org', type: 'work' }], [ENTERPRISE]: { employeeNumber: '1002', department: 'Sales' }, externalId: 'E-2' },
  { userName: 'Alice', name: { givenName: 'Alice', familyName: 'Adams' }, userType: 'Employee', active: true,
    emails: [{ value: 'alice@example.com', type: 'home' }], [ENTERPRISE]: { employeeNumber: '1003' } },
  { userName: 'zed', name: { givenName: 'Zed', familyName: 'Zimmer' }, title: 'Tour Lead', active: true, [ENTERPRISE]: { employeeNumber: '1004', department: 'Tours' } },
];

describe('Users filters, sorting and paging over HTTP (RFC 7644 §3.4.2)', () => {
  let c: ScimClient;
  const ids: Record<string, string> = {};
  let created2: string;
  beforeAll(async () => {
    c = await scimStack();
    for (const [i, p] of people.entries()) {
      const r = await c.req('POST', '/Users', { schemas: [USER, ENTERPRISE], ...p });
      expect(r.status).toBe(201);
      ids[p.userName] = r.body.id;
      if (i === 1) { created2 = r.body.meta.created; await new Promise((res) => setTimeout(res, 15)); }
    }
    for (let i = 0; i < 20; i++) expect((await c.user(`bulk${String(i).padStart(2, '0')}@paging.example`)).status).toBe(201);
  });
  afterAll(async () => { await c?.stack.stop(); });

  const names = async (filter: string, extra = '') => {
    const r = await c.req('GET', `/Users?filter=${encodeURIComponent(filter)}&count=1000${extra}`);
    expect(r.status, `${filter}: ${r.text}`).toBe(200);
    return (r.body.Resources as any[]).map((x) => x.userName).sort();
  };

  it('every operator: eq ne co sw ew pr gt ge lt le', async () => {
    expect(await names('userName eq "bjensen"')).toEqual(['bjensen']);
    expect((await names('userName ne "bjensen"')).length).toBe(23);
    expect(await names('name.familyName co "mit"')).toEqual(['jsmith']);
    expect(await names('userName sw "J"')).toEqual(['jsmith']);
    expect(await names('userName ew "SEN"')).toEqual(['bjensen']);
    expect(await names('title pr')).toEqual(['bjensen', 'jsmith', 'zed']);
    expect(await names('name.givenName gt "Y"')).toEqual(['zed']);
    expect(await names('name.givenName ge "John"')).toEqual(['jsmith', 'zed']);
    expect(await names('name.givenName lt "B"')).toEqual(['Alice']);
    expect(await names('name.givenName le "Barbara"')).toEqual(['Alice', 'bjensen']);
  });

  it('and / or / not, grouping, precedence', async () => {
    expect(await names('title pr and userType eq "Employee"')).toEqual(['bjensen']);
    expect(await names('userName eq "zed" or userName eq "Alice"')).toEqual(['Alice', 'zed']);
    expect(await names('userType eq "Employee" and (title co "Tour" or name.givenName eq "Alice")')).toEqual(['Alice', 'bjensen']);
    expect(await names('userType pr and not (userType eq "Employee")')).toEqual(['jsmith']);
    expect(await names('userName eq "zed" or userName eq "Alice" and title pr')).toEqual(['zed']);
  });

  it('value paths, sub-attributes, URN-qualified names, case-insensitive names, caseExact respected', async () => {
    expect(await names('emails[type eq "work" and value co "@example.com"]')).toEqual(['bjensen']);
    expect(await names('emails[type eq "home"]')).toEqual(['Alice', 'bjensen']);
    expect(await names('emails.type eq "home"')).toEqual(['Alice', 'bjensen']);
    expect(await names('emails co "example.org"')).toEqual(['jsmith']);
    expect(await names(`${ENTERPRISE}:department eq "Tours"`)).toEqual(['bjensen', 'zed']);
    expect(await names(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "zed"`)).toEqual(['zed']);
    expect(await names('USERNAME EQ "ALICE"')).toEqual(['Alice']);
    expect(await names('Name.GivenName Eq "alice"')).toEqual(['Alice']);
    // externalId is caseExact: a different case does not match
    expect(await names('externalId eq "E-1"')).toEqual(['bjensen']);
    expect(await names('externalId eq "e-1"')).toEqual([]);
    // id is caseExact and filterable
    expect(await names(`id eq "${ids.zed}"`)).toEqual(['zed']);
    expect(await names(`emails[type eq "work"].value eq "BJENSEN@example.com"`)).toEqual(['bjensen']);
  });

  it('dateTime compared as time, booleans and numbers typed', async () => {
    expect(await names(`meta.created le "${created2}" and userName pr and userType pr`)).toEqual(['bjensen', 'jsmith']);
    // the same instant in another offset
    const shifted = new Date(new Date(created2).getTime()).toISOString().replace('Z', '+00:00');
    expect(await names(`meta.created le "${shifted}" and userType pr`)).toEqual(['bjensen', 'jsmith']);
    expect(await names('meta.lastModified gt "2000-01-01T00:00:00+02:00" and userName eq "zed"')).toEqual(['zed']);
    expect(await names('active eq false')).toEqual(['jsmith']);
    expect(await names('active eq true')).toEqual(['Alice', 'bjensen', 'zed']); // absent is not true
    expectScimError(await c.req('GET', `/Users?filter=${encodeURIComponent('active gt true')}`), 400, 'invalidFilter');
    expectScimError(await c.req('GET', `/Users?filter=${encodeURIComponent('meta.created gt "yesterday"')}`), 400, 'invalidFilter');
  });

  it('POST /Users/.search and POST /.search take a SearchRequest body', async () => {
    const r = await c.req('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'title co "Tour"', attributes: ['userName'], sortBy: 'userName', startIndex: 1, count: 10 });
    expect(r.status).toBe(200);
    expect(r.body.schemas).toEqual([LIST_RESPONSE]);
    expect(r.body.Resources).toEqual([{ schemas: [USER], id: ids.bjensen, userName: 'bjensen' }, { schemas: [USER], id: ids.zed, userName: 'zed' }]);
    const all = await c.req('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "Alice"' });
    expect(all.status).toBe(200);
    expect(all.body.totalResults).toBe(1);
    expect(all.body.Resources[0].id).toBe(ids.Alice);
    expectScimError(await c.req('POST', '/Users/.search', { filter: 'userName eq' }), 400, 'invalidFilter');
  });

  it('a bad filter → 400 invalidFilter (syntax, unknown attribute, unbalanced)', async () => {
    for (const f of ['userName eq', 'userName xx "a"', '(userName eq "a"', 'nosuchattr eq "a"', 'emails[type eq "work"', 'userName eq "a" and']) {
      expectScimError(await c.req('GET', `/Users?filter=${encodeURIComponent(f)}`), 400, 'invalidFilter');
    }
  });

  it('sortBy / sortOrder (strings case-insensitively, missing values last)', async () => {
    const r = await c.req('GET', `/Users?filter=${encodeURIComponent('name.givenName pr and userType pr')}&sortBy=name.givenName`);
    expect(r.body.Resources.map((x: any) => x.name.givenName)).toEqual(['Alice', 'Barbara', 'John']);
    const d = await c.req('GET', `/Users?filter=${encodeURIComponent('name.givenName pr and userType pr')}&sortBy=name.givenName&sortOrder=descending`);
    expect(d.body.Resources.map((x: any) => x.name.givenName)).toEqual(['John', 'Barbara', 'Alice']);
    const t = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "zed" or userName eq "Alice" or userName eq "jsmith"')}&sortBy=title`);
    expect(t.body.Resources.map((x: any) => x.userName)).toEqual(['jsmith', 'zed', 'Alice']);
    expectScimError(await c.req('GET', '/Users?sortBy=userName&sortOrder=sideways'), 400, 'invalidValue');
  });

  it('startIndex/count paging is 1-based with a stable order whatever the page size; count=0 gives only totalResults', async () => {
    const all = await c.req('GET', '/Users?startIndex=1&count=100');
    expect(all.body).toMatchObject({ totalResults: 24, startIndex: 1, itemsPerPage: 24 });
    const order = all.body.Resources.map((x: any) => x.id);
    for (const size of [1, 5, 7]) {
      const seen: string[] = [];
      for (let start = 1; start <= 24; start += size) {
        const page = await c.req('GET', `/Users?startIndex=${start}&count=${size}`);
        expect(page.body.startIndex).toBe(start);
        expect(typeof page.body.totalResults).toBe('number');
        expect(page.body.itemsPerPage).toBe(page.body.Resources.length);
        seen.push(...page.body.Resources.map((x: any) => x.id));
      }
      expect(seen).toEqual(order);
    }
    const zero = await c.req('GET', '/Users?count=0');
    expect(zero.body).toMatchObject({ totalResults: 24, itemsPerPage: 0, Resources: [] });
    const zeroFiltered = await c.req('GET', `/Users?count=0&filter=${encodeURIComponent('title pr')}`);
    expect(zeroFiltered.body).toMatchObject({ totalResults: 3, Resources: [] });
    // startIndex < 1 is read as 1; beyond the end gives an empty page
    expect((await c.req('GET', '/Users?startIndex=0&count=2')).body.startIndex).toBe(1);
    expect((await c.req('GET', '/Users?startIndex=100')).body).toMatchObject({ totalResults: 24, Resources: [] });
    expectScimError(await c.req('GET', '/Users?count=many'), 400, 'invalidValue');
  });

  it('count is capped at the advertised filter.maxResults', async () => {
    const spc = await c.req('GET', '/ServiceProviderConfig');
    const max = spc.body.filter.maxResults;
    const r = await c.req('GET', `/Users?count=${max + 500}`);
    expect(r.body.itemsPerPage).toBeLessThanOrEqual(max);
  });
});
