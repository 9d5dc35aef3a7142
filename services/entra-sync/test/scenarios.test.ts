/**
 * The 17 scenarios of shared/reference/entra-graph-delta-sync.md section 4, each through the real
 * admin API against the fake Graph: a full run, a change in the tenant, an incremental run, then
 * the roster (GET /lists/{id}/people), the run's summary and the provisioning log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '@muster/contracts';
import { addUsers, connectedList, entraStack, roster, run, summary, waitForRun, type EntraStack } from './support.ts';

let e: EntraStack;
beforeAll(async () => { e = await entraStack({ pageSize: 50, memberSlice: 40 }); });
afterAll(async () => { await e?.stop(); });

const events = (streamId: string) => e.s.running.adapters.store.readStream(streamId);
const finishedRuns = async (listId: string) => (await events(streams.entraSync(listId))).filter((x) => x.type === 'EntraRunFinished').map((x) => x.data as Record<string, any>);
const personEvents = async (personId: string) => (await events(streams.person(personId))).map((x) => x.type);

describe('Entra scenarios (reference section 4)', () => {
  it('1. initial full sync: 116 users in 2 scoped groups over 3 pages → 116 created; each stream\'s deltaLink kept', async () => {
    const staff = addUsers(e.graph, 60, 's1staff');
    const students = addUsers(e.graph, 56, 's1pupil');
    const gStaff = e.graph.addGroup('S1 Staff', staff);
    const gPupils = e.graph.addGroup('S1 Students', students);
    const listId = await connectedList(e, 'Scenario 1', { groupIds: [gStaff, gPupils] });
    const before = e.graph.requests.filter((r) => r.includes('/users/delta')).length;
    const r = await run(e, listId);
    expect(r).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'first', trigger: 'manual', error: null });
    expect(r.summary).toMatchObject({ created: 116, updated: 0, deactivated: 0, reactivated: 0, errors: 0 });
    expect(e.graph.requests.filter((x) => x.includes('/users/delta')).length - before).toBeGreaterThanOrEqual(3);
    const people = await roster(e, listId);
    expect(people.size).toBe(116);
    expect([...people.values()].every((p) => p.status === 'active')).toBe(true);
    const [finished] = await finishedRuns(listId);
    expect(finished.deltaLinks.users).toMatch(/\$deltatoken=/);
    expect(finished.deltaLinks.groups).toHaveLength(1);
    expect(finished.deltaLinks.groups[0]).toMatchObject({ groupIds: [gStaff, gPupils].sort(), link: expect.stringMatching(/\$deltatoken=/) });
    const status = await e.s.admin('GET', `/lists/${listId}/sync/entra`);
    expect(status.body.lastRun).toMatchObject({ runId: r.runId, status: 'succeeded', summary: { created: 116 } });
    expect(JSON.stringify(status.body)).not.toContain(e.graph.clientSecret);
    const log = await e.s.admin('GET', `/lists/${listId}/provisioning-log?source=entra&runId=${r.runId}&limit=500`);
    expect(log.body.items).toHaveLength(116);
    expect(log.body.items[0]).toMatchObject({ operation: 'CREATE', status: 'SUCCESS', source: 'entra', runId: r.runId, idp: 'entra' });
  });

  it('2. a user added to a scoped group is created; one added to an unscoped group is ignored', async () => {
    const ids = addUsers(e.graph, 3, 's2a');
    const g = e.graph.addGroup('S2 Scoped', ids);
    const other = e.graph.addGroup('S2 Other', []);
    const listId = await connectedList(e, 'Scenario 2', { groupIds: [g] });
    await run(e, listId);
    const [joiner, outsider] = addUsers(e.graph, 2, 's2b');
    e.graph.addMember(g, joiner);
    e.graph.addMember(other, outsider);
    const r = await run(e, listId);
    expect(r).toMatchObject({ status: 'succeeded', mode: 'incremental', summary: { created: 1, updated: 0, deactivated: 0, errors: 0 } });
    expect(r.summary.skipped).toBeGreaterThanOrEqual(1);
    const people = await roster(e, listId);
    expect(people.size).toBe(4);
    expect(people.get(joiner)?.fields.email).toBe('s2b1@school.example');
    expect(people.has(outsider)).toBe(false);
  });

  it('3. an attribute change updates that person only; the others are not touched', async () => {
    const ids = addUsers(e.graph, 4, 's3');
    const g = e.graph.addGroup('S3', ids);
    const listId = await connectedList(e, 'Scenario 3', { groupIds: [g] });
    await run(e, listId);
    e.graph.updateUser(ids[0], { displayName: 'Ada Lovelace', mail: 'ada@school.example' });
    const r = await run(e, listId);
    expect(r.summary).toMatchObject(summary({ updated: 1, skipped: r.summary.skipped }));
    const people = await roster(e, listId);
    expect(people.get(ids[0])!.fields).toMatchObject({ displayName: 'Ada Lovelace', email: 'ada@school.example', primaryEmail: 'ada@school.example' });
    expect(await personEvents(people.get(ids[1])!.id)).toEqual(['PersonProvisioned']);
    expect(await personEvents(people.get(ids[0])!.id)).toEqual(['PersonProvisioned', 'AttributesChanged']);
    const log = await e.s.admin('GET', `/lists/${listId}/provisioning-log?source=entra&runId=${r.runId}`);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0].changes).toEqual(expect.arrayContaining([{ field: 'displayName', old: 's31', new: 'Ada Lovelace' }]));
  });

  it('4. extension attributes (a directory extension, extensionAttribute3) update fields and clear them on null, in minimal and default mode alike', async () => {
    const ext = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_cardUid';
    const outcome = async (mode: 'minimal' | 'default') => {
      const ids = addUsers(e.graph, 2, `s4${mode}`, () => ({ [ext]: 'CARD-1', onPremisesExtensionAttributes: { extensionAttribute3: 'Boarder' } }));
      const g = e.graph.addGroup(`S4 ${mode}`, ids);
      const listId = await connectedList(e, `Scenario 4 ${mode}`, { groupIds: [g], extensionAttributes: [ext] });
      expect((await e.s.admin('POST', `/lists/${listId}/fields`, { key: 'cardUid', label: 'Card UID', type: 'text' })).status).toBe(201);
      expect((await e.s.admin('POST', `/lists/${listId}/fields`, { key: 'boarding', label: 'Boarding', type: 'text' })).status).toBe(201);
      const current = await e.s.admin('GET', `/lists/${listId}/mappings`);
      expect(current.body.customAttributes).toEqual([ext]);
      const put = await e.s.admin('PUT', `/lists/${listId}/mappings`, { mappings: [...current.body.mappings,
        { source: ext, field: 'cardUid', enabled: true, transform: 'direct' },
        { source: 'onPremisesExtensionAttributes.extensionAttribute3', field: 'boarding', enabled: true, transform: 'uppercase' }] });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      await run(e, listId);
      expect((await roster(e, listId)).get(ids[0])!.fields).toMatchObject({ cardUid: 'CARD-1', boarding: 'BOARDER' });
      e.graph.ignorePrefer = mode === 'default';
      e.graph.updateUser(ids[0], { [ext]: 'CARD-2', onPremisesExtensionAttributes: { extensionAttribute3: 'Day' } });
      e.graph.updateUser(ids[1], { [ext]: null, onPremisesExtensionAttributes: { extensionAttribute3: null } });
      const r = await run(e, listId);
      e.graph.ignorePrefer = false;
      expect(r.summary).toMatchObject({ updated: 2, errors: 0 });
      const people = await roster(e, listId);
      return [people.get(ids[0])!.fields, people.get(ids[1])!.fields].map(({ cardUid, boarding }) => ({ cardUid: cardUid ?? null, boarding: boarding ?? null }));
    };
    const minimal = await outcome('minimal');
    expect(minimal).toEqual([{ cardUid: 'CARD-2', boarding: 'DAY' }, { cardUid: null, boarding: null }]);
    expect(await outcome('default')).toEqual(minimal);
    // an extension named later is read for everyone on the next run (still incremental: the groups
    // are the same), then kept up to date
    const later = 'extension_b7d8e648520f41d3b9c0fdeb91768a0a_house';
    const ids = addUsers(e.graph, 2, 's4later', (i) => ({ [later]: `House ${i}` }));
    const g = e.graph.addGroup('S4 later', ids);
    const listId0 = await connectedList(e, 'Scenario 4 later', { groupIds: [g], deactivationThreshold: null });
    await run(e, listId0);
    expect((await e.s.admin('PATCH', `/lists/${listId0}/sync/entra`, { extensionAttributes: [later] })).status).toBe(200);
    expect((await e.s.admin('POST', `/lists/${listId0}/fields`, { key: 'house', label: 'House', type: 'text' })).status).toBe(201);
    const m0 = await e.s.admin('GET', `/lists/${listId0}/mappings`);
    expect((await e.s.admin('PUT', `/lists/${listId0}/mappings`, { mappings: [...m0.body.mappings, { source: later, field: 'house', enabled: true, transform: 'direct' }] })).status).toBe(200);
    e.graph.hardDeleteUser(ids[1]);
    const r0 = await run(e, listId0);
    expect(r0).toMatchObject({ mode: 'incremental', summary: { updated: 1, deactivated: 1 } });
    const p0 = await roster(e, listId0);
    expect([p0.get(ids[0])!.fields.house, p0.get(ids[1])!.status]).toEqual(['House 0', 'inactive']);
    e.graph.updateUser(ids[0], { [later]: 'House 9' });
    expect((await run(e, listId0)).summary).toMatchObject({ updated: 1 });
    expect((await roster(e, listId0)).get(ids[0])!.fields.house).toBe('House 9');
    // an extension the connection does not name cannot be mapped
    const listId = await connectedList(e, 'Scenario 4 unnamed', { groupIds: [e.graph.addGroup('S4 none', [])] });
    const m = await e.s.admin('GET', `/lists/${listId}/mappings`);
    const bad = await e.s.admin('PUT', `/lists/${listId}/mappings`, { mappings: [...m.body.mappings, { source: 'extension_00000000000000000000000000000000_x', field: 'department', enabled: true, transform: 'direct' }] });
    expect(bad.status).toBe(400);
  });

  it('5. removed from its only scoped group → deactivated; removed from one of two → stays active', async () => {
    const ids = addUsers(e.graph, 12, 's5');
    const a = e.graph.addGroup('S5 A', ids);
    const b = e.graph.addGroup('S5 B', [ids[1]]);
    const listId = await connectedList(e, 'Scenario 5', { groupIds: [a, b] });
    await run(e, listId);
    e.graph.removeMember(a, ids[0]);
    e.graph.removeMember(a, ids[1]);
    const r = await run(e, listId);
    // the second person's fields did not change (unchanged); the group they left is recorded on them
    expect(r.summary).toMatchObject({ deactivated: 1, unchanged: 1, updated: 0, errors: 0 });
    const people = await roster(e, listId);
    expect(people.get(ids[0])!.status).toBe('inactive');
    expect(people.get(ids[1])!.status).toBe('active');
    expect(people.get(ids[1])!.scimResource!.memberOf).toEqual([{ id: b, displayName: 'S5 B' }]);
    const log = await e.s.admin('GET', `/lists/${listId}/provisioning-log?runId=${r.runId}`);
    const byPerson = Object.fromEntries(log.body.items.map((i: { resourceId: string; operation: string; scimChanges: unknown[] }) => [i.resourceId, i]));
    expect(byPerson[people.get(ids[0])!.id].operation).toBe('DEACTIVATE');
    expect(byPerson[people.get(ids[1])!.id]).toMatchObject({ operation: 'UPDATE', changes: [], scimChanges: [expect.objectContaining({ path: 'memberOf' })] });
  });

  it('6. accountEnabled false deactivates; true again reactivates', async () => {
    const ids = addUsers(e.graph, 10, 's6');
    const g = e.graph.addGroup('S6', ids);
    const listId = await connectedList(e, 'Scenario 6', { groupIds: [g] });
    await run(e, listId);
    e.graph.updateUser(ids[0], { accountEnabled: false });
    expect((await run(e, listId)).summary).toMatchObject({ deactivated: 1 });
    expect((await roster(e, listId)).get(ids[0])!.status).toBe('inactive');
    e.graph.updateUser(ids[0], { accountEnabled: true });
    expect((await run(e, listId)).summary).toMatchObject({ reactivated: 1 });
    expect((await roster(e, listId)).get(ids[0])!.status).toBe('active');
  });

  it('7. soft delete deactivates, restore reactivates; a hard delete deactivates for good', async () => {
    const ids = addUsers(e.graph, 10, 's7');
    const g = e.graph.addGroup('S7', ids);
    const listId = await connectedList(e, 'Scenario 7', { groupIds: [g] });
    await run(e, listId);
    e.graph.softDeleteUser(ids[0]);
    e.graph.hardDeleteUser(ids[1]);
    expect((await run(e, listId)).summary).toMatchObject({ deactivated: 2 });
    let people = await roster(e, listId);
    expect([people.get(ids[0])!.status, people.get(ids[1])!.status]).toEqual(['inactive', 'inactive']);
    e.graph.restoreUser(ids[0]);
    e.graph.restoreUser(ids[1]); // Entra cannot do this; the person still stays gone
    e.graph.updateUser(ids[1], { displayName: 'Back?' });
    expect((await run(e, listId)).summary).toMatchObject({ reactivated: 1, created: 0 });
    people = await roster(e, listId);
    expect([people.get(ids[0])!.status, people.get(ids[1])!.status]).toEqual(['active', 'inactive']);
    expect(people.size).toBe(10);
    expect(await personEvents(people.get(ids[1])!.id)).toEqual(['PersonProvisioned', 'PersonUnlinked']);
  });

  it('8. a scoped group deleted, or taken out of the configuration → its exclusive members deactivated', async () => {
    const keep = addUsers(e.graph, 6, 's8keep');
    const gone = addUsers(e.graph, 2, 's8gone');
    const dropped = addUsers(e.graph, 2, 's8drop');
    const gKeep = e.graph.addGroup('S8 keep', [...keep, gone[0]]);
    const gGone = e.graph.addGroup('S8 gone', gone);
    const gDrop = e.graph.addGroup('S8 drop', dropped);
    const listId = await connectedList(e, 'Scenario 8', { groupIds: [gKeep, gGone, gDrop], deactivationThreshold: null });
    expect((await run(e, listId)).summary.created).toBe(10);
    e.graph.deleteGroup(gGone);
    expect((await run(e, listId)).summary).toMatchObject({ deactivated: 1, errors: 0 });
    let people = await roster(e, listId);
    expect([people.get(gone[0])!.status, people.get(gone[1])!.status]).toEqual(['active', 'inactive']);
    const patch = await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { groupIds: [gKeep, gGone] });
    expect(patch.status).toBe(200);
    const r = await run(e, listId);
    expect(r).toMatchObject({ mode: 'full', fullReason: 'groups_changed' });
    expect(r.summary).toMatchObject({ deactivated: 2, created: 0 });
    people = await roster(e, listId);
    expect(dropped.map((id) => people.get(id)!.status)).toEqual(['inactive', 'inactive']);
  });

  it('9. a delta token past its 7 days (400 syncStateNotFound) → a full resync; people missing from it are deactivated', async () => {
    const ids = addUsers(e.graph, 10, 's9');
    const g = e.graph.addGroup('S9', ids);
    const listId = await connectedList(e, 'Scenario 9', { groupIds: [g] });
    await run(e, listId);
    e.graph.expireDeltaState('syncStateNotFound');
    e.graph.hardDeleteUser(ids[0]); // a deletion the full round does not report
    e.graph.removeMember(g, ids[1]);
    const r = await run(e, listId);
    e.graph.heal();
    expect(r).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'sync_state_expired' });
    expect(r.summary).toMatchObject({ deactivated: 2, unchanged: 8, created: 0 });
    const people = await roster(e, listId);
    expect([people.get(ids[0])!.status, people.get(ids[1])!.status, people.get(ids[2])!.status]).toEqual(['inactive', 'inactive', 'active']);
    expect((await run(e, listId)).mode).toBe('incremental');
  });

  it('10. 410 Gone with a Location → a full sync started from the Location', async () => {
    const ids = addUsers(e.graph, 3, 's10');
    const g = e.graph.addGroup('S10', ids);
    const listId = await connectedList(e, 'Scenario 10', { groupIds: [g] });
    await run(e, listId);
    e.graph.expireDeltaState('410');
    const from = e.graph.urls.length;
    const r = await run(e, listId);
    e.graph.heal();
    expect(r).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'reset', summary: { unchanged: 3, created: 0 } });
    const after = e.graph.urls.slice(from);
    const gone = after.findIndex((u) => /groups\/delta\?\$deltatoken/.test(u));
    // the request after the refused one is the Location Graph gave: the initial groups query of that chunk
    expect(decodeURIComponent(after[gone + 1])).toMatch(new RegExp(`groups/delta\\?\\$filter=id eq '${g}'$`));
  });

  it('11. paging: an empty middle page, and a large group\'s members split over pages', async () => {
    const ids = addUsers(e.graph, 130, 's11');
    const g = e.graph.addGroup('S11 big', ids); // 130 members in slices of 40 → 4 entries of the same group
    const listId = await connectedList(e, 'Scenario 11', { groupIds: [g] });
    e.graph.emptyPageMidRound();
    const r = await run(e, listId);
    expect(r.summary.created).toBe(130);
    expect(r.pages).toBeGreaterThanOrEqual(4);
    expect((await roster(e, listId)).size).toBe(130);
  });

  it('12. throttling: Retry-After honoured and the same page resumed; backoff without it; 503/504 retried; a persistent failure fails the run and keeps the delta link', async () => {
    const ids = addUsers(e.graph, 3, 's12');
    const g = e.graph.addGroup('S12', ids);
    const listId = await connectedList(e, 'Scenario 12', { groupIds: [g] });
    e.graph.throttle(1, '2', 429, 1); // the second Graph request of the run
    const t0 = Date.now();
    const r = await run(e, listId);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_000);
    expect(r).toMatchObject({ status: 'succeeded', summary: { created: 3 } });
    expect(r.throttledWaits).toBe(1);
    e.graph.updateUser(ids[0], { jobTitle: 'Teacher' });
    e.graph.throttle(1, null, 429);
    e.graph.throttle(1, '0', 503);
    e.graph.throttle(1, '0', 504, 1);
    const r2 = await run(e, listId);
    expect(r2).toMatchObject({ status: 'succeeded', throttledWaits: 3, summary: { updated: 1, created: 0 } });
    const linksBefore = (await finishedRuns(listId)).at(-1)!.deltaLinks;
    e.graph.updateUser(ids[1], { jobTitle: 'Porter' });
    e.graph.throttle(10, '0', 503);
    const failed = await run(e, listId);
    e.graph.heal();
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'graph_error' } });
    expect((await finishedRuns(listId)).at(-1)!.deltaLinks).toBeNull();
    const again = await run(e, listId);
    expect(again).toMatchObject({ status: 'succeeded', summary: { updated: 1 } });
    expect((await roster(e, listId)).get(ids[1])!.fields.jobTitle).toBe('Porter');
    expect(linksBefore.users).not.toBe((await finishedRuns(listId)).at(-1)!.deltaLinks.users);
  });

  it('13. nested groups: members of a group inside a scoped group are not in scope (direct membership only, as delta reports it)', async () => {
    const direct = addUsers(e.graph, 2, 's13d');
    const nested = addUsers(e.graph, 2, 's13n');
    const inner = e.graph.addGroup('S13 inner', nested);
    const outer = e.graph.addGroup('S13 outer', direct);
    e.graph.addMember(outer, inner, 'group');
    const listId = await connectedList(e, 'Scenario 13', { groupIds: [outer] });
    const r = await run(e, listId);
    expect(r.summary.created).toBe(2);
    const people = await roster(e, listId);
    expect([...people.keys()].sort()).toEqual([...direct].sort());
  });

  it('14. the same user twice in a round, and a round replayed → one create, no extra updates', async () => {
    const ids = addUsers(e.graph, 3, 's14');
    const g = e.graph.addGroup('S14', ids);
    const listId = await connectedList(e, 'Scenario 14', { groupIds: [g] });
    e.graph.duplicateUsers = true;
    const r = await run(e, listId);
    expect(r.summary.created).toBe(3);
    e.graph.updateUser(ids[0], { department: 'Maths' });
    expect((await run(e, listId)).summary).toMatchObject({ updated: 1 });
    e.graph.replayNextRound();
    const replay = await run(e, listId);
    e.graph.duplicateUsers = false;
    expect(replay.summary).toMatchObject({ created: 0, updated: 0, deactivated: 0 });
    const people = await roster(e, listId);
    expect(await personEvents(people.get(ids[0])!.id)).toEqual(['PersonProvisioned', 'AttributesChanged']);
    expect(await personEvents(people.get(ids[1])!.id)).toEqual(['PersonProvisioned']);
  });

  it('15. a bad secret: the run fails with authentication_failed and the roster is untouched; test says so with Entra\'s words', async () => {
    const ids = addUsers(e.graph, 2, 's15');
    const g = e.graph.addGroup('S15', ids);
    const listId = await connectedList(e, 'Scenario 15', { groupIds: [g], secret: 'wrong-secret' });
    const r = await run(e, listId);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'authentication_failed' }, summary: summary({}) });
    expect(r.error!.message).toMatch(/AADSTS7000215/);
    expect((await roster(e, listId)).size).toBe(0);
    const test = await e.s.admin('POST', `/lists/${listId}/sync/entra/test`);
    expect(test.status).toBe(422);
    expect(test.body.error).toMatchObject({ code: 'authentication_failed', message: expect.stringMatching(/invalid.client|AADSTS7000215/i) });
    // the right secret takes effect on the next run
    expect((await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { clientSecret: e.graph.clientSecret })).status).toBe(200);
    expect((await run(e, listId))).toMatchObject({ status: 'succeeded', summary: { created: 2 } });
  });

  it('16. more than 50 scoped groups: the filter is split in chunks of 50, each with its own deltaLink', async () => {
    const ids = addUsers(e.graph, 51, 's16');
    const groups = ids.map((id, i) => e.graph.addGroup(`S16 g${i}`, [id]));
    const listId = await connectedList(e, 'Scenario 16', { groupIds: groups });
    const r = await run(e, listId);
    expect(r.summary.created).toBe(51);
    const [finished] = await finishedRuns(listId);
    expect(finished.deltaLinks.groups.map((c: { groupIds: string[] }) => c.groupIds.length)).toEqual([50, 1]);
    e.graph.removeMember(groups[50], ids[50]);
    expect((await run(e, listId)).summary).toMatchObject({ deactivated: 1 });
  });

  it('17. a manual run while a scheduled one goes on → 409 carrying the running run\'s id', async () => {
    const ids = addUsers(e.graph, 3, 's17');
    const g = e.graph.addGroup('S17', ids);
    e.graph.pageDelayMs = 300;
    try {
      const listId = await connectedList(e, 'Scenario 17', { groupIds: [g], schedule: { intervalMinutes: 40 } });
      const status = await e.s.admin('GET', `/lists/${listId}/sync/entra`);
      const runs = await e.s.admin('GET', `/lists/${listId}/sync/entra/runs`);
      expect(runs.body.items).toHaveLength(1);
      const scheduled = runs.body.items[0];
      expect(scheduled).toMatchObject({ trigger: 'schedule', status: 'running' });
      const manual = await e.s.admin('POST', `/lists/${listId}/sync/entra/runs`);
      expect(manual.status).toBe(409);
      expect(manual.body.error.details.runId).toBe(scheduled.runId);
      const done = await waitForRun(e, listId, scheduled.runId);
      expect(done.summary.created).toBe(3);
      expect(Date.parse(status.body.nextRunAt) - Date.parse(scheduled.startedAt)).toBe(40 * 60_000);
    } finally {
      e.graph.pageDelayMs = 0;
    }
  });
});
