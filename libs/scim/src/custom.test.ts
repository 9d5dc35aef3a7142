import { describe, expect, it } from 'vitest';
import { CustomExtensionCollector, inferCustomExtensions } from './custom.ts';
import { ENTERPRISE_USER_SCHEMA_ID, USER_RESOURCE_SCHEMA } from './schemas.ts';
import { buildSchemas, buildResourceTypes } from './discovery.ts';

const ACME = 'urn:example:acme:2.0:User';

describe('custom extensions inferred from the data IdPs send', () => {
  it('describes unknown urn: extensions only, with types, multiValued and complex sub-attributes', () => {
    const ext = inferCustomExtensions([
      { userName: 'a', [ENTERPRISE_USER_SCHEMA_ID]: { employeeNumber: '1' }, [ACME]: { badge: 'B1', floor: 3, remote: true, tags: ['x'], site: { code: 'LDN', level: 2 }, since: '2020-01-01T00:00:00Z' } },
      { userName: 'b', [ACME]: { floor: 2.5, Badge: 'B2', extra: null } },
    ], USER_RESOURCE_SCHEMA);
    expect(ext.map((e) => e.schema.id)).toEqual([ACME]);
    const attrs = Object.fromEntries(ext[0].schema.attributes.map((a) => [a.name, a]));
    expect(Object.keys(attrs).sort()).toEqual(['badge', 'floor', 'remote', 'since', 'site', 'tags']);
    expect(attrs.badge).toMatchObject({ type: 'string', multiValued: false, mutability: 'readWrite', returned: 'default', caseExact: false });
    expect(attrs.floor.type).toBe('decimal'); // integer widened by 2.5
    expect(attrs.remote.type).toBe('boolean');
    expect(attrs.since.type).toBe('dateTime');
    expect(attrs.tags).toMatchObject({ type: 'string', multiValued: true });
    expect(attrs.site.subAttributes!.map((s) => [s.name, s.type])).toEqual([['code', 'string'], ['level', 'integer']]);
  });

  it('feeds /Schemas and /ResourceTypes', () => {
    const c = new CustomExtensionCollector(USER_RESOURCE_SCHEMA);
    c.add({ [ACME]: { badge: 'B1' } });
    const schemas = buildSchemas({ userExtensions: c.extensions() });
    expect(schemas.find((s) => s.id === ACME)?.attributes[0].name).toBe('badge');
    expect(JSON.stringify(schemas)).not.toContain('null');
    expect(buildResourceTypes({ userExtensions: c.extensions() })[0].schemaExtensions).toContainEqual({ schema: ACME, required: false });
  });

  it('mixed types widen to string; nothing seen gives no extension', () => {
    const ext = inferCustomExtensions([{ [ACME]: { v: 1 } }, { [ACME]: { v: 'x' } }], USER_RESOURCE_SCHEMA);
    expect(ext[0].schema.attributes[0].type).toBe('string');
    expect(inferCustomExtensions([{ userName: 'x' }], USER_RESOURCE_SCHEMA)).toEqual([]);
  });
});
