import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Projections, collectionNames } from '@muster/read-models';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { ENTERPRISE, SCIM_ERROR, createUser, expectStatus, patchOps, provisioningLog, scimList, scimUser, type ScimList } from './support.ts';

let s: Stack;
let l: ScimList;
const OKTA = { 'user-agent': 'Okta SCIM Client 1.0.0' };
const ENTRA = { 'user-agent': 'Azure AD SCIM Provisioning' };
const ids: Record<string, string> = {};
let duplicateError: Record<string, unknown> = {};
let startedAt = '';

/** One IdP session against one list, exercising every kind of entry; the tests below read the log it leaves. */
beforeAll(async () => {
  s = await startStack();
  l = await scimList(s, { name: 'Logged' });
  startedAt = new Date().toISOString();
  ids.ada = await createUser(s, l, 'ada', {}, OKTA); // CREATE
  ids.bob = await createUser(s, l, 'bob', {}, ENTRA); // CREATE
  const put = await s.scim(l.token, 'PUT', `${l.base}/Users/${ids.ada}`, scimUser('ada', { title: 'Analyst' }), OKTA); // UPDATE
  expectStatus(put, 200);
  const noop = await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.ada}`, patchOps({ op: 'replace', path: 'title', value: 'Analyst' }), OKTA); // SKIPPED
  expectStatus(noop, 200);
  const dup = await s.scim(l.token, 'POST', `${l.base}/Users`, scimUser('ada'), OKTA); // FAILED 409
  expectStatus(dup, 409);
  duplicateError = dup.body;
  const off = await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.bob}`, patchOps({ op: 'replace', path: 'active', value: false }), ENTRA); // DEACTIVATE
  expectStatus(off, 200);
  const on = await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.bob}`, patchOps({ op: 'replace', value: { active: true } }), ENTRA); // REACTIVATE
  expectStatus(on, 200);
  const missing = await s.scim(l.token, 'PATCH', `${l.base}/Users/no-such-user`, patchOps({ op: 'replace', path: 'title', value: 'x' }), { 'user-agent': 'curl/8.5.0' }); // FAILED 404
  expectStatus(missing, 404);
  expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users/${ids.ada}`, undefined, OKTA), 200); // successful read: not logged
  expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users?filter=${encodeURIComponent('userName eq "ada@example.org"')}`, undefined, OKTA), 200); // not logged
  expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users/no-such-user`, undefined, OKTA), 404); // failed read: logged
  expectStatus(await s.scim('sct_wrong', 'POST', `${l.base}/Users`, scimUser('eve')), 401); // not authenticated: not logged
  ids.carl = await createUser(s, l, 'carl', {}, OKTA); // CREATE
  expectStatus(await s.scim(l.token, 'DELETE', `${l.base}/Users/${ids.carl}`, undefined, OKTA), 204); // DELETE
});
afterAll(async () => { await s?.stop(); });

describe('the provisioning log', () => {
  it('logs every authenticated SCIM write, newest first, with operation, person, method, path, status, IdP and request id', async () => {
    const items = await provisioningLog(s, l.id);
    const summary = items.map((e) => `${e.operation} ${e.status} ${e.method} ${e.resourceId === ids.ada ? 'ada' : e.resourceId === ids.bob ? 'bob' : e.resourceId === ids.carl ? 'carl' : e.resourceId ?? '-'}`);
    expect(summary).toEqual([
      'DELETE SUCCESS DELETE carl',
      'CREATE SUCCESS POST carl',
      'READ FAILED GET -',
      'UPDATE FAILED PATCH no-such-user',
      'REACTIVATE SUCCESS PATCH bob',
      'DEACTIVATE SUCCESS PATCH bob',
      'CREATE FAILED POST -',
      'UPDATE SKIPPED PATCH ada',
      'UPDATE SUCCESS PUT ada',
      'CREATE SUCCESS POST bob',
      'CREATE SUCCESS POST ada',
    ]);
    const positions = items.map((e) => e.position);
    expect([...positions].sort((a, b) => b - a)).toEqual(positions);
    expect(new Set(items.map((e) => e.requestId)).size).toBe(items.length);
    for (const e of items) expect(e).toMatchObject({ id: expect.any(String), at: expect.any(String), listId: l.id, path: expect.stringMatching(new RegExp(`^/scim/v2/lists/${l.id}/Users`)), requestId: expect.any(String) });

    const create = items[items.length - 1];
    expect(create).toMatchObject({ resourceType: 'User', resourceId: ids.ada, resourceName: 'ada Tester', idp: 'Okta', userAgent: 'Okta SCIM Client 1.0.0', path: `/scim/v2/lists/${l.id}/Users`, error: null });
    expect(create.changes).toEqual(expect.arrayContaining([{ field: 'firstName', old: null, new: 'Ada' }, { field: 'employeeNumber', old: null, new: 'E-ada' }]));
    const update = items[items.length - 3];
    expect(update).toMatchObject({ path: `/scim/v2/lists/${l.id}/Users/${ids.ada}`, changes: [{ field: 'jobTitle', old: null, new: 'Analyst' }] });
    expect(items.find((e) => e.operation === 'DEACTIVATE')).toMatchObject({ idp: 'Microsoft Entra ID', resourceName: 'bob Tester' });
    expect(items.find((e) => e.requestId && e.operation === 'UPDATE' && e.status === 'FAILED')).toMatchObject({ idp: 'curl/8.5.0' }); // unknown client: the user agent
  });

  it('FAILED entries carry the SCIM error; SKIPPED ones changed nothing', async () => {
    const failed = await provisioningLog(s, l.id, 'status=FAILED');
    expect(failed.map((e) => e.error)).toEqual([
      { status: '404', detail: expect.stringContaining('no-such-user') },
      { status: '404', detail: expect.stringContaining('no-such-user') },
      { status: '409', scimType: 'uniqueness', detail: expect.any(String) },
    ]);
    // the error the IdP saw is the one logged
    expect(duplicateError).toMatchObject({ schemas: [SCIM_ERROR], status: '409', scimType: 'uniqueness', detail: failed[2].error.detail });
    const skipped = await provisioningLog(s, l.id, 'status=SKIPPED');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ operation: 'UPDATE', resourceId: ids.ada, changes: [] });
  });

  it('filters by operation, status, person and time range', async () => {
    const creates = await provisioningLog(s, l.id, 'operation=create');
    expect(creates.map((e) => e.status)).toEqual(['SUCCESS', 'FAILED', 'SUCCESS', 'SUCCESS']);
    const lifecycle = await provisioningLog(s, l.id, 'operation=DEACTIVATE,REACTIVATE');
    expect(lifecycle.map((e) => e.operation)).toEqual(['REACTIVATE', 'DEACTIVATE']);
    const okCreates = await provisioningLog(s, l.id, 'operation=CREATE&status=SUCCESS');
    expect(okCreates.map((e) => e.resourceId)).toEqual([ids.carl, ids.bob, ids.ada]);
    const bob = await provisioningLog(s, l.id, `personId=${ids.bob}`);
    expect(bob.map((e) => e.operation)).toEqual(['REACTIVATE', 'DEACTIVATE', 'CREATE']);
    expect((await provisioningLog(s, l.id, `person=${ids.bob}`)).length).toBe(3);

    const all = await provisioningLog(s, l.id);
    const mid = all[5].at; // DEACTIVATE
    const from = await provisioningLog(s, l.id, `from=${encodeURIComponent(mid)}`);
    expect(from.every((e) => e.at >= mid)).toBe(true);
    expect(from.map((e) => e.id)).toEqual(all.filter((e) => e.at >= mid).map((e) => e.id));
    const to = await provisioningLog(s, l.id, `to=${encodeURIComponent(mid)}`);
    expect(to.map((e) => e.id)).toEqual(all.filter((e) => e.at <= mid).map((e) => e.id));
    expect(await provisioningLog(s, l.id, `to=${encodeURIComponent(new Date(Date.parse(startedAt) - 60_000).toISOString())}`)).toEqual([]);
    expect((await provisioningLog(s, l.id, `from=${encodeURIComponent(startedAt)}&to=${encodeURIComponent(new Date().toISOString())}`)).length).toBe(all.length);
    expectStatus(await s.admin('GET', `/lists/${l.id}/provisioning-log?status=MAYBE`), 400);
    expectStatus(await s.admin('GET', `/lists/${l.id}/provisioning-log?from=yesterday`), 400);
  });

  it('pages with a cursor, newest first, without gaps or repeats', async () => {
    const all = await provisioningLog(s, l.id, 'limit=500');
    const seen: string[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const res = await s.admin('GET', `/lists/${l.id}/provisioning-log?limit=3${cursor !== null ? `&cursor=${cursor}` : ''}`);
      expectStatus(res, 200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((e: { id: string }) => e.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor !== null && pages < 20);
    expect(seen).toEqual(all.map((e) => e.id));
    expect(pages).toBe(Math.ceil(all.length / 3));
    // filters and the cursor combine
    const first = await s.admin('GET', `/lists/${l.id}/provisioning-log?operation=CREATE&limit=2`);
    const second = await s.admin('GET', `/lists/${l.id}/provisioning-log?operation=CREATE&limit=2&cursor=${first.body.nextCursor}`);
    expect([...first.body.items, ...second.body.items].map((e: { id: string }) => e.id)).toEqual(all.filter((e) => e.operation === 'CREATE').map((e) => e.id));
    expect(second.body.nextCursor).toBeNull();
  });

  it('entries come from events: replaying the event log rebuilds the same log', async () => {
    const { store, readStore } = s.running.adapters;
    await provisioningLog(s, l.id); // the admin API answers once the read models have reached the head
    // the projections the projector runs, applied to every event of the log into replay_* collections
    const replay = new Projections(readStore, collectionNames('replay_'));
    for (const e of await store.readAll()) await replay.apply(e);
    const strip = (docs: Array<Record<string, unknown>>) => docs.map(({ lastPosition: _l, ...d }) => d);
    const original = await readStore.collection('provisioning_log').find({ listId: l.id }, { sort: { position: -1 } });
    const rebuilt = await readStore.collection('replay_provisioning_log').find({ listId: l.id }, { sort: { position: -1 } });
    expect(original.length).toBeGreaterThanOrEqual(11);
    expect(strip(rebuilt)).toEqual(strip(original));
  });

  it('is per list: another list, or another organisation, sees none of it', async () => {
    const other = await scimList(s, { name: 'Quiet list' });
    expect(await provisioningLog(s, other.id)).toEqual([]);
    // a token of this list on the other list's URL is refused and logged nowhere
    expectStatus(await s.scim(l.token, 'POST', `${other.base}/Users`, scimUser('zed')), 401);
    expect(await provisioningLog(s, other.id)).toEqual([]);
    expect((await provisioningLog(s, l.id, 'operation=CREATE')).some((e) => e.resourceName === 'zed Tester')).toBe(false);
  });
});

describe('what is not logged', () => {
  it('successful reads and unauthenticated requests leave no entry', async () => {
    const before = (await provisioningLog(s, l.id, 'limit=500')).length;
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users`), 200);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users/${ids.ada}`), 200);
    expectStatus(await s.scim(l.token, 'POST', `${l.base}/Users/.search`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "a"' }), 200);
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/ServiceProviderConfig`), 200);
    expectStatus(await s.scim('', 'DELETE', `${l.base}/Users/${ids.ada}`), 401);
    // a write after them is the only new entry, so the log is up to date when we count
    const upd = await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.ada}`, patchOps({ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Poetry' }));
    expectStatus(upd, 200);
    const after = await provisioningLog(s, l.id, 'limit=500');
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ operation: 'UPDATE', status: 'SUCCESS', changes: [{ field: 'department', old: 'Science', new: 'Poetry' }] });
  });
});
