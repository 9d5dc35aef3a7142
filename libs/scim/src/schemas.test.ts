import { describe, expect, it } from 'vitest';
import { buildListResponse, buildResourceTypes, buildSchemas, buildServiceProviderConfig } from './discovery.ts';
import { evaluateFilter } from './evaluate.ts';
import { parseFilter } from './filter.ts';
import { normalizeUserInput } from './resource.ts';
import {
  COMMON_ATTRIBUTES,
  createUserResourceSchema,
  ENTERPRISE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA_ID,
  GROUP_SCHEMA,
  USER_SCHEMA,
} from './schemas.ts';
import type { AttributeDefinition, SchemaDefinition } from './schema-types.ts';

const byName = (defs: readonly AttributeDefinition[], name: string): AttributeDefinition => {
  const d = defs.find((a) => a.name === name);
  if (!d) throw new Error(`no ${name}`);
  return d;
};

const customExtension: SchemaDefinition = {
  id: 'urn:example:muster:1.0:User',
  name: 'MusterUser',
  description: 'Roster fields',
  attributes: [
    { name: 'cardUid', type: 'string', multiValued: false, description: 'Card serial', required: false, caseExact: true, mutability: 'readWrite', returned: 'default', uniqueness: 'server' },
  ],
};

describe('schemas as data', () => {
  it('defines every RFC 7643 §4.1 User attribute', () => {
    expect(USER_SCHEMA.attributes.map((a) => a.name)).toEqual([
      'userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password',
      'emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates',
    ]);
    expect(byName(USER_SCHEMA.attributes, 'name').subAttributes?.map((a) => a.name)).toEqual(['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix']);
    expect(byName(USER_SCHEMA.attributes, 'userName')).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' });
    expect(byName(USER_SCHEMA.attributes, 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(byName(USER_SCHEMA.attributes, 'groups')).toMatchObject({ mutability: 'readOnly', multiValued: true });
    expect(byName(USER_SCHEMA.attributes, 'phoneNumbers').subAttributes?.find((s) => s.name === 'type')?.canonicalValues).toContain('mobile');
    expect(byName(USER_SCHEMA.attributes, 'x509Certificates').subAttributes?.find((s) => s.name === 'value')?.type).toBe('binary');
    expect(byName(USER_SCHEMA.attributes, 'addresses').subAttributes?.map((a) => a.name)).toEqual(['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary']);
  });

  it('defines the Enterprise User extension and Group', () => {
    expect(ENTERPRISE_USER_SCHEMA.attributes.map((a) => a.name)).toEqual(['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']);
    expect(byName(ENTERPRISE_USER_SCHEMA.attributes, 'manager').subAttributes?.map((s) => `${s.name}:${s.mutability}`)).toEqual(['value:readWrite', '$ref:readWrite', 'displayName:readOnly']);
    expect(GROUP_SCHEMA.attributes.map((a) => a.name)).toEqual(['displayName', 'members']);
    expect(byName(GROUP_SCHEMA.attributes, 'members').subAttributes?.map((s) => s.name)).toEqual(['value', '$ref', 'display', 'type']);
    expect(byName(COMMON_ATTRIBUTES, 'id')).toMatchObject({ mutability: 'readOnly', returned: 'always', caseExact: true });
  });

  it('gives every attribute all characteristics and is frozen', () => {
    const check = (a: AttributeDefinition): void => {
      for (const k of ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'] as const) expect(a[k], `${a.name}.${k}`).toBeDefined();
      if (a.type === 'complex') expect(a.subAttributes?.length, a.name).toBeGreaterThan(0);
      a.subAttributes?.forEach(check);
    };
    [...USER_SCHEMA.attributes, ...ENTERPRISE_USER_SCHEMA.attributes, ...GROUP_SCHEMA.attributes, ...COMMON_ATTRIBUTES].forEach(check);
    expect(Object.isFrozen(USER_SCHEMA.attributes[0])).toBe(true);
    expect(() => {
      (USER_SCHEMA.attributes as AttributeDefinition[]).push(USER_SCHEMA.attributes[0]!);
    }).toThrow();
  });

  it('createUserResourceSchema adds a custom extension used by validation, without freezing the caller\'s object', () => {
    const input = structuredClone(customExtension);
    const schema = createUserResourceSchema([{ schema: input }]);
    expect(Object.isFrozen(input)).toBe(false);
    const u = normalizeUserInput({ userName: 'a', [customExtension.id]: { carduid: 'C1' } }, schema);
    expect(u[customExtension.id]).toEqual({ cardUid: 'C1' });
    expect(evaluateFilter(parseFilter(`${customExtension.id}:cardUid eq "C1"`), u, schema)).toBe(true);
    expect(evaluateFilter(parseFilter(`${customExtension.id}:cardUid eq "c1"`), u, schema)).toBe(false);
    expect(() => normalizeUserInput({ userName: 'a', [customExtension.id]: { cardUid: 1 } }, schema)).toThrow(/cardUid/);
    expect(() => createUserResourceSchema([{ schema: { ...customExtension, id: 'not-a-urn' } }])).toThrow(/URN/);
    expect(() => createUserResourceSchema([{ schema: { ...customExtension, id: ENTERPRISE_USER_SCHEMA_ID } }])).toThrow(/Duplicate/);
  });
});

describe('discovery documents', () => {
  it('ServiceProviderConfig reflects options; changePassword is always false', () => {
    const spc = buildServiceProviderConfig({
      baseUrl: 'https://muster.example/scim/v2',
      documentationUri: 'https://muster.example/docs/scim',
      bulk: { maxOperations: 100, maxPayloadSize: 1048576 },
      filter: { maxResults: 500 },
      etag: true,
      sort: false,
      patch: true,
    });
    expect(spc).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      documentationUri: 'https://muster.example/docs/scim',
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 100, maxPayloadSize: 1048576 },
      filter: { supported: true, maxResults: 500 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [
        { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Authentication scheme using the OAuth Bearer Token Standard', specUri: 'https://www.rfc-editor.org/info/rfc6750', primary: true },
      ],
      meta: { resourceType: 'ServiceProviderConfig', location: 'https://muster.example/scim/v2/ServiceProviderConfig' },
    });
    const defaults = buildServiceProviderConfig();
    expect(defaults.bulk).toEqual({ supported: false, maxOperations: 0, maxPayloadSize: 0 });
    expect(defaults.filter).toEqual({ supported: true, maxResults: 200 });
    expect(defaults.etag.supported).toBe(false);
    expect(defaults.meta).toEqual({ resourceType: 'ServiceProviderConfig' });
    expect(() => buildServiceProviderConfig({ filter: { maxResults: -1 } })).toThrow(/maxResults/);
  });

  it('ResourceTypes list User (with extensions) and Group', () => {
    const types = buildResourceTypes({ baseUrl: 'https://h/scim/v2', userExtensions: [{ schema: customExtension, required: false }] });
    expect(types).toEqual([
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
        id: 'User',
        name: 'User',
        endpoint: '/Users',
        description: 'User Account',
        schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
        schemaExtensions: [
          { schema: ENTERPRISE_USER_SCHEMA_ID, required: false },
          { schema: customExtension.id, required: false },
        ],
        meta: { resourceType: 'ResourceType', location: 'https://h/scim/v2/ResourceTypes/User' },
      },
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
        id: 'Group',
        name: 'Group',
        endpoint: '/Groups',
        description: 'Group',
        schema: 'urn:ietf:params:scim:schemas:core:2.0:Group',
        schemaExtensions: [],
        meta: { resourceType: 'ResourceType', location: 'https://h/scim/v2/ResourceTypes/Group' },
      },
    ]);
  });

  it('Schemas lists each schema once, as plain JSON, in a ListResponse', () => {
    const docs = buildSchemas({ baseUrl: 'https://h/scim/v2', userExtensions: [{ schema: customExtension }] });
    expect(docs.map((d) => d.id)).toEqual([USER_SCHEMA.id, ENTERPRISE_USER_SCHEMA_ID, customExtension.id, GROUP_SCHEMA.id]);
    expect(docs[0]).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'], name: 'User', meta: { resourceType: 'Schema', location: `https://h/scim/v2/Schemas/${USER_SCHEMA.id}` } });
    expect(JSON.parse(JSON.stringify(docs))).toEqual(docs);
    expect(Object.isFrozen(docs[0]!.attributes)).toBe(false);
    const list = buildListResponse(docs, docs.length);
    expect(list).toMatchObject({ totalResults: 4, itemsPerPage: 4, startIndex: 1 });
  });
});
