import { describe, expect, it } from 'vitest';
import type { SchemaField } from '@muster/contracts';
import { ENTERPRISE, catalogue, customSourcesOf, extractAttribute, isKnownSource } from './catalogue.ts';
import { applyGroupRules, applyTransform, mapResource } from './map.ts';

const user = {
  userName: 'Ada@Example.org', name: { givenName: ' Ada ', familyName: 'Lovelace' },
  emails: [{ value: 'home@example.org', type: 'home' }, { value: 'ada@example.org', type: 'work', primary: true }],
  addresses: [{ type: 'work', locality: 'London', postalCode: 'N1' }],
  [ENTERPRISE]: { department: 'Engines', manager: { value: 'm1', displayName: 'Babbage' } },
  'urn:acme:params:scim:schemas:extension:badges:2.0:User': { colour: 'Teal' },
};

describe('catalogue', () => {
  it('has unique ids in the six groups', () => {
    expect(new Set(catalogue.map((c) => c.id)).size).toBe(catalogue.length);
    expect(catalogue.length).toBe(34);
    for (const c of catalogue) expect(['Name', 'Contact', 'Organisation', 'Account', 'Address', 'Custom']).toContain(c.group);
  });
  it('extracts typed, primary, enterprise and custom attributes', () => {
    expect(extractAttribute(user, 'emails.work')).toBe('ada@example.org');
    expect(extractAttribute(user, 'emails.primary')).toBe('ada@example.org');
    expect(extractAttribute(user, 'addresses.work.locality')).toBe('London');
    expect(extractAttribute(user, 'manager.displayName')).toBe('Babbage');
    expect(extractAttribute(user, 'urn:acme:params:scim:schemas:extension:badges:2.0:User:colour')).toBe('Teal');
    expect(customSourcesOf(user)).toEqual(['urn:acme:params:scim:schemas:extension:badges:2.0:User:colour']);
    expect(isKnownSource('urn:acme:params:scim:schemas:extension:badges:2.0:User:colour')).toBe(true);
    expect(isKnownSource(`${ENTERPRISE}:department`)).toBe(false); // use the catalogue id "department"
    expect(isKnownSource('shoeSize')).toBe(false);
  });
});

describe('mapping', () => {
  it('applies each transform to strings only', () => {
    expect(['direct', 'lowercase', 'uppercase', 'trim'].map((t) => applyTransform(' Ab ', t as never))).toEqual([' Ab ', ' ab ', ' AB ', 'Ab']);
    expect(applyTransform(true, 'uppercase')).toBe(true);
  });
  it('maps enabled mappings only; a missing attribute maps to null', () => {
    expect(mapResource(user, [
      { source: 'name.givenName', field: 'first', enabled: true, transform: 'trim' },
      { source: 'userName', field: 'login', enabled: true, transform: 'lowercase' },
      { source: 'title', field: 'job', enabled: true, transform: 'direct' },
      { source: 'department', field: 'dept', enabled: false, transform: 'direct' },
    ])).toEqual({ first: 'Ada', login: 'ada@example.org', job: null });
  });
});

describe('group rules', () => {
  const fields: SchemaField[] = [
    { key: 'cohort', label: 'Cohort', type: 'text', required: false, multiValued: false },
    { key: 'houses', label: 'Houses', type: 'text', required: false, multiValued: true },
  ];
  const rules = [{ group: 'Year 7', field: 'cohort' }, { group: 'Year 8', field: 'cohort' }, { group: 'Red', field: 'houses', value: 'R' }, { group: 'Blue', field: 'houses', value: 'B' }];
  it('first matching rule wins a single-valued field; multi-valued collects in rule order; no match is null', () => {
    expect(applyGroupRules(['year 8', 'Year 7'], rules, fields)).toEqual({ cohort: 'Year 7', houses: null });
    expect(applyGroupRules(['Blue', 'Red'], rules, fields)).toEqual({ cohort: null, houses: ['R', 'B'] });
    expect(applyGroupRules(['YEAR 8'], rules, fields)).toEqual({ cohort: 'YEAR 8', houses: null }); // value defaults to the group's own name
  });
});
