import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';

let s: Stack;
let doc: any;
beforeAll(async () => {
  s = await startStack();
  const res = await fetch(`${s.url}/docs/json`);
  expect(res.status).toBe(200);
  doc = await res.json();
});
afterAll(async () => { await s?.stop(); });

/** the paths the admin UI and outside tools rely on (issue 3) */
const CONTRACT: Array<[string, string]> = [
  ['post', '/lists'], ['get', '/lists'], ['get', '/lists/{id}'], ['patch', '/lists/{id}'],
  ['get', '/lists/{id}/fields'], ['post', '/lists/{id}/fields'],
  ['get', '/lists/{id}/people'], ['post', '/lists/{id}/people'], ['get', '/lists/{id}/people/{personId}'], ['patch', '/lists/{id}/people/{personId}'],
  ['post', '/lists/{id}/sync/scim'], ['delete', '/lists/{id}/sync/scim'],
  ['get', '/lists/{id}/sync/scim/tokens'], ['post', '/lists/{id}/sync/scim/tokens'],
  ['delete', '/lists/{id}/sync/scim/tokens/{tokenId}'], ['post', '/lists/{id}/sync/scim/tokens/{tokenId}/rotate'],
  ['get', '/lists/{id}/mappings'], ['put', '/lists/{id}/mappings'], ['get', '/lists/{id}/provisioning-log'],
  ['get', '/mappings/catalogue'], ['get', '/lists/{id}/groups'], ['post', '/organisations'], ['post', '/organisations/{orgId}/admin-tokens'],
  // sessions and changesets (issue 22)
  ['post', '/lists/{id}/sessions'], ['get', '/lists/{id}/sessions'], ['get', '/sessions/{sid}'], ['get', '/sessions/{sid}/people'],
  ['patch', '/sessions/{sid}/people/{personId}'], ['post', '/sessions/{sid}/push'], ['get', '/lists/{id}/changesets'], ['get', '/changesets/{cid}'],
  ['post', '/changesets/{cid}/decisions'], ['post', '/changesets/{cid}/apply'], ['post', '/changesets/{cid}/rollback'], ['post', '/changesets/{cid}/discard'],
  // CSV imports (issue 23)
  ['post', '/lists/{id}/imports'], ['get', '/lists/{id}/imports'], ['get', '/lists/{id}/imports/{importId}'], ['get', '/lists/{id}/imports/{importId}/errors'],
  ['put', '/lists/{id}/imports/{importId}/mapping'], ['post', '/lists/{id}/imports/{importId}/apply'],
];

describe('OpenAPI', () => {
  it('serves the docs UI at /docs without an admin token', async () => {
    const res = await fetch(`${s.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
  });

  it('describes every admin route from its schemas, with bearer auth', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const [method, path] of CONTRACT) {
      const op = doc.paths[`/api/v1${path}`]?.[method];
      expect(op, `${method.toUpperCase()} ${path}`).toBeDefined();
      expect(op.summary, `${method.toUpperCase()} ${path} has a summary`).toEqual(expect.any(String));
      for (const name of path.match(/\{(\w+)\}/g) ?? []) {
        expect(op.parameters.find((p: { in: string; name: string }) => p.in === 'path' && `{${p.name}}` === name), `${path} ${name}`).toBeDefined();
      }
    }
  });

  it('every admin operation documents its success answer and the error shape (no "Default Response"); a server entry', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: expect.stringMatching(/^http:\/\//) })]);
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .filter(([path]) => path.startsWith('/api/v1'))
      .flatMap(([path, methods]) => Object.entries(methods).filter(([m]) => m !== 'parameters').map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));
    expect(ops.length).toBeGreaterThanOrEqual(60);
    const lacking: string[] = [];
    for (const { name, op } of ops) {
      const codes = Object.keys(op.responses ?? {});
      const success = codes.filter((c) => /^2/.test(c));
      if (!success.length) lacking.push(`${name}: no 2xx`);
      for (const c of success) if (/Default Response/i.test(op.responses[c].description ?? '') && c !== '204' && !op.responses[c].content) lacking.push(`${name}: ${c} is a default response`);
      const err = op.responses?.['4XX'] ?? op.responses?.['4xx'];
      if (!err?.content?.['application/json']?.schema?.properties?.error) lacking.push(`${name}: no error schema`);
      expect(op.security ?? doc.security, name).toEqual([{ bearer: [] }]);
    }
    expect(lacking).toEqual([]);
  });

  it('refuses to start a route without a success response schema (so the description cannot fall behind)', async () => {
    const { requireResponseSchemas } = await import('../src/responses.ts');
    expect(() => requireResponseSchemas({ method: 'GET', url: '/api/v1/new', handler: () => {}, schema: { tags: ['x'] } } as never)).toThrow(/GET \/api\/v1\/new has no success response schema/);
    const route = { method: 'GET', url: '/api/v1/ok', handler: () => {}, schema: { response: { 200: {} } } } as never as { schema: { response: Record<string, unknown> } };
    requireResponseSchemas(route as never);
    expect(Object.keys(route.schema.response).sort()).toEqual(['200', '4xx', '5xx']);
  });

  it('documents the SCIM endpoints an IdP calls, with their own bearer scheme and SCIM\'s error schema', () => {
    const users = doc.paths['/scim/v2/lists/{listId}/Users'];
    expect(users.get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['listId', 'filter', 'startIndex', 'count', 'attributes']));
    expect(users.post.security).toEqual([{ scimBearer: [] }]);
    for (const path of ['/Users/{id}', '/Groups', '/Groups/{id}', '/Bulk', '/ServiceProviderConfig', '/Schemas', '/ResourceTypes']) expect(doc.paths[`/scim/v2/lists/{listId}${path}`], path).toBeDefined();
    expect(Object.keys(doc.paths['/scim/v2/lists/{listId}/Users/{id}'])).toEqual(['get', 'put', 'patch', 'delete']);
    expect(doc.paths['/scim/v2/lists/{listId}/Users/{id}'].patch.responses['400'].content['application/scim+json'].schema).toEqual({ $ref: '#/components/schemas/ScimError' });
    expect(doc.components.schemas.ScimError.required).toEqual(['schemas', 'status', 'detail']);
    expect(doc.components.securitySchemes.scimBearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('carries request and response schemas generated from the route definitions', () => {
    const connect = doc.paths['/api/v1/lists/{id}/sync/scim'].post.requestBody.content['application/json'].schema;
    expect(connect.properties.uniqueIdentifier.enum).toEqual(['employeeNumber', 'userName', 'email']);
    expect(connect.required).toEqual(['uniqueIdentifier']);

    const field = doc.paths['/api/v1/lists/{id}/fields'].post.requestBody.content['application/json'].schema;
    expect(field.properties.type.enum).toEqual(['text', 'email', 'phone', 'date', 'number', 'boolean', 'enum']);
    expect(field.properties.required.type).toBe('boolean');

    const mappings = doc.paths['/api/v1/lists/{id}/mappings'].put.requestBody.content['application/json'].schema;
    expect(mappings.properties.mappings.items.properties.transform.enum).toEqual(['direct', 'lowercase', 'uppercase', 'trim']);
    expect(mappings.properties.groupRules.items.required).toEqual(['group', 'field']);

    const log = doc.paths['/api/v1/lists/{id}/provisioning-log'].get.parameters.map((p: { name: string }) => p.name);
    expect(log).toEqual(expect.arrayContaining(['operation', 'status', 'personId', 'from', 'to', 'limit', 'cursor']));

    const issued = doc.paths['/api/v1/lists/{id}/sync/scim/tokens'].post.responses['201'].content['application/json'].schema;
    expect(Object.keys(issued.properties)).toEqual(expect.arrayContaining(['id', 'token', 'prefix', 'scimBaseUrl']));
    const listed = doc.paths['/api/v1/lists/{id}/sync/scim/tokens'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(listed.properties.items.items.properties)).toEqual(['id', 'prefix', 'label', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt', 'rotatedFrom', 'status']);
  });

  it('the documented request schemas are the ones enforced', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Docs' });
    const bad = await s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'badgeNumber' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid');
  });
});
