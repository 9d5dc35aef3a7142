import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_REQUEST, BULK_RESPONSE, GROUP, PATCH_OP, USER, expectScimError, scimStack, type ScimClient, withEnv } from './support.ts';

// small advertised limits so the test can exceed them
const MAX_OPS = 5;
const MAX_BYTES = 4_096;

describe('POST /Bulk over HTTP (RFC 7644 §3.7)', () => {
  let c: ScimClient;
  beforeAll(async () => {
    c = await withEnv({ MUSTER_SCIM_BULK_MAX_OPERATIONS: String(MAX_OPS), MUSTER_SCIM_BULK_MAX_PAYLOAD_BYTES: String(MAX_BYTES) }, () => scimStack());
  });
  afterAll(async () => { await c?.stack.stop(); });

  const bulk = (ops: unknown[], extra: Record<string, unknown> = {}) => c.req('POST', '/Bulk', { schemas: [BULK_REQUEST], ...extra, Operations: ops });

  it('ServiceProviderConfig advertises bulk.supported with the enforced limits', async () => {
    const r = await c.req('GET', '/ServiceProviderConfig');
    expect(r.body.bulk).toEqual({ supported: true, maxOperations: MAX_OPS, maxPayloadSize: MAX_BYTES });
  });

  it('creates users and a group whose members reference them by bulkId (also forward references)', async () => {
    const r = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'grp', data: { schemas: [GROUP], displayName: 'Bulk Team', members: [{ type: 'User', value: 'bulkId:u1' }, { type: 'User', value: 'bulkId:u2' }] } },
      { method: 'POST', path: '/Users', bulkId: 'u1', data: { schemas: [USER], userName: 'bulk1@example.org' } },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: { schemas: [USER], userName: 'bulk2@example.org' } },
      { method: 'PATCH', path: '/Users/bulkId:u1', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Patched in bulk' }] } },
    ]);
    expect(r.status).toBe(200);
    expect(r.body.schemas).toEqual([BULK_RESPONSE]);
    const byId = Object.fromEntries(r.body.Operations.filter((o: any) => o.bulkId).map((o: any) => [o.bulkId, o]));
    expect(byId.u1).toMatchObject({ method: 'POST', status: '201', location: expect.stringContaining(`${c.base}/Users/`), version: 'W/"0"' });
    expect(byId.grp.status).toBe('201');
    const patchOp = r.body.Operations.find((o: any) => o.method === 'PATCH');
    expect(patchOp.status).toBe('200');
    const u1 = byId.u1.location.split('/').pop();
    const u2 = byId.u2.location.split('/').pop();
    const group = await c.req('GET', byId.grp.location);
    expect(group.body.members.map((m: any) => m.value).sort()).toEqual([u1, u2].sort());
    expect((await c.req('GET', `/Users/${u1}`)).body).toMatchObject({ title: 'Patched in bulk', groups: [expect.objectContaining({ display: 'Bulk Team' })] });
  });

  it('failOnErrors stops after that many errors; failed operations carry a SCIM error response; unresolved bulkIds → 409', async () => {
    await c.user('exists@example.org');
    const r = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER], userName: 'exists@example.org' } },
      { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER] } },
      { method: 'POST', path: '/Users', bulkId: 'c', data: { schemas: [USER], userName: 'never@example.org' } },
    ], { failOnErrors: 2 });
    expect(r.status).toBe(200);
    expect(r.body.Operations).toHaveLength(2);
    expect(r.body.Operations[0]).toMatchObject({ bulkId: 'a', status: '409', response: { status: '409', scimType: 'uniqueness' } });
    expect(r.body.Operations[1]).toMatchObject({ bulkId: 'b', status: '400', response: { scimType: 'invalidValue' } });
    const never = await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "never@example.org"')}`);
    expect(never.body.totalResults).toBe(0);
    const ref = await bulk([{ method: 'PATCH', path: '/Users/bulkId:nope', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } }]);
    expect(ref.body.Operations[0]).toMatchObject({ status: '409' });
    const circular = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'x', data: { schemas: [GROUP], displayName: 'X', members: [{ value: 'bulkId:y' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'y', data: { schemas: [GROUP], displayName: 'Y', members: [{ value: 'bulkId:x' }] } },
    ]);
    expect(circular.body.Operations.map((o: any) => o.status)).toContain('409');
    const bad = await bulk([{ method: 'GET', path: '/Users' }, { method: 'POST', path: '/Nope', bulkId: 'n', data: {} }, { method: 'POST', path: '/Users', data: { schemas: [USER], userName: 'nobulkid@example.org' } }]);
    expect(bad.body.Operations.map((o: any) => o.status)).toEqual(['400', '400', '400']);
  });

  it('more operations than maxOperations, or a body larger than maxPayloadSize → 413 SCIM error', async () => {
    const ops = Array.from({ length: MAX_OPS + 1 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `o${i}`, data: { schemas: [USER], userName: `o${i}@x.org` } }));
    const tooMany = await bulk(ops);
    expectScimError(tooMany, 413);
    expect(tooMany.body.detail).toContain(String(MAX_OPS));
    const big = await bulk([{ method: 'POST', path: '/Users', bulkId: 'big', data: { schemas: [USER], userName: 'big@x.org', title: 'x'.repeat(MAX_BYTES) } }]);
    expectScimError(big, 413);
    expect((await c.req('GET', `/Users?filter=${encodeURIComponent('userName eq "o0@x.org"')}`)).body.totalResults).toBe(0);
  });

  it('malformed bulk requests → 400', async () => {
    expectScimError(await c.req('POST', '/Bulk', { schemas: [BULK_REQUEST] }), 400, 'invalidSyntax');
    expectScimError(await c.req('POST', '/Bulk', [1, 2]), 400, 'invalidSyntax');
    expectScimError(await bulk([], { failOnErrors: 'x' }), 400, 'invalidValue');
  });
});
