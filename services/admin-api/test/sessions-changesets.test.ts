import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedEventStore } from '@muster/event-store/embedded';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { createUser, expectStatus, organisation, patchOps, person, provisioningLog, scimList, type ScimList } from './support.ts';

let s: Stack;

beforeAll(async () => { s = await startStack({ MUSTER_CHANGESET_WAIT_MS: '2000' }); });
afterAll(async () => { await s?.stop(); });

const admin = (m: string, p: string, b?: unknown, t?: string) => s.admin(m, p, b, t);

/** a list with no sync, a local field or two, and people added by hand */
async function manualList(names: string[]) {
  const list = await admin('POST', '/lists', { name: `Pupils ${Math.random()}` });
  expectStatus(list, 201);
  const id = list.body.id as string;
  expectStatus(await admin('POST', `/lists/${id}/fields`, { key: 'firstName', label: 'First name', type: 'text', required: true }), 201);
  expectStatus(await admin('POST', `/lists/${id}/fields`, { key: 'form', label: 'Form', type: 'text' }), 201);
  expectStatus(await admin('POST', `/lists/${id}/fields`, { key: 'cardNumber', label: 'Card number', type: 'text' }), 201);
  expectStatus(await admin('POST', `/lists/${id}/fields`, { key: 'photoDate', label: 'Photo date', type: 'date' }), 201);
  const people: Record<string, string> = {};
  for (const n of names) {
    const res = await admin('POST', `/lists/${id}/people`, { fields: { firstName: n, form: n.length % 2 ? '7A' : '7B' } });
    expectStatus(res, 201);
    people[n] = res.body.id;
  }
  return { id, people };
}

async function session(listId: string, filter: Record<string, string> = {}, name = 'Photo day') {
  const res = await admin('POST', `/lists/${listId}/sessions`, { name, filter });
  expectStatus(res, 201);
  return res.body as { id: string; people: number; snapshotPosition: number; position: number };
}

async function edit(sid: string, personId: string, body: Record<string, unknown>) {
  const res = await admin('PATCH', `/sessions/${sid}/people/${personId}`, body);
  expectStatus(res, 200);
  return res.body;
}

/** the answer of the last push (its position: read your writes with ?after=) */
let lastPush: { changesetId: string; position: number };
async function push(sid: string) {
  const res = await admin('POST', `/sessions/${sid}/push`);
  expectStatus(res, 201);
  lastPush = res.body;
  return res.body.changesetId as string;
}

async function changeset(cid: string, query = '') {
  const res = await admin('GET', `/changesets/${cid}${query}`);
  expectStatus(res, 200);
  return res.body;
}

const changeOf = (cs: any, personId: string) => cs.changes.find((c: any) => c.personId === personId);
const fieldOf = (change: any, field: string) => change.fields.find((f: any) => f.field === field);

describe('sessions', () => {
  it('snapshots the people a filter chooses at a known position, lists and pages them with the people query', async () => {
    const l = await manualList(['ann', 'bea', 'cy', 'dd', 'eve']);
    const sess = await session(l.id, { 'eq.form': '7A' }, 'Year 7A');
    expect(sess.people).toBe(3); // ann, bea, eve (names of odd length are in 7A)
    expect(sess.snapshotPosition).toBeGreaterThanOrEqual(0);
    const list = await admin('GET', `/lists/${l.id}/sessions?after=${sess.position}`);
    expectStatus(list, 200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: sess.id, name: 'Year 7A', people: 3, edited: 0, filter: { 'eq.form': '7A' } })]);
    const one = await admin('GET', `/sessions/${sess.id}`);
    expect(one.body).toMatchObject({ id: sess.id, listId: l.id, people: 3, edited: 0, snapshotPosition: sess.snapshotPosition, changesets: [] });
    const page1 = await admin('GET', `/sessions/${sess.id}/people?limit=2&sort=firstName&after=${sess.position}`);
    expectStatus(page1, 200);
    expect(page1.body.total).toBe(3);
    expect(page1.body.items.map((p: any) => p.fields.firstName)).toEqual(['ann', 'bea']);
    const page2 = await admin('GET', `/sessions/${sess.id}/people?limit=2&sort=firstName&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items.map((p: any) => p.fields.firstName)).toEqual(['eve']);
    expect(page2.body.nextCursor).toBeNull();
    const q = await admin('GET', `/sessions/${sess.id}/people?q=EV`);
    expect(q.body.items.map((p: any) => p.id)).toEqual([l.people.eve]);
  });

  it('refuses a filter it does not know, and an unknown field, with a clear error', async () => {
    const l = await manualList(['ann']);
    const bad = await admin('POST', `/lists/${l.id}/sessions`, { name: 'x', filter: { colour: 'red' } });
    expectStatus(bad, 400);
    expect(bad.body.error.message).toMatch(/unknown filter "colour"/);
    const unknownField = await admin('POST', `/lists/${l.id}/sessions`, { name: 'x', filter: { 'eq.colour': 'red' } });
    expectStatus(unknownField, 400);
    expect(unknownField.body.error.message).toMatch(/unknown field "colour"/);
    expectStatus(await admin('POST', '/lists/nope/sessions', { name: 'x', filter: {} }), 404);
  });

  it('edits the copy only: typed like the list (400 naming the field), the roster untouched', async () => {
    const l = await manualList(['ann']);
    const sess = await session(l.id);
    const bad = await admin('PATCH', `/sessions/${sess.id}/people/${l.people.ann}`, { fields: { photoDate: '2026-02-31' } });
    expectStatus(bad, 400);
    expect(bad.body.error.message).toMatch(/field "photoDate" must be a date/);
    const ok = await edit(sess.id, l.people.ann, { fields: { cardNumber: 'C-1', photoDate: '2026-12-05' } });
    expect(ok).toMatchObject({ fields: { firstName: 'ann', cardNumber: 'C-1', photoDate: '2026-12-05' }, edited: true });
    expect((await person(s, l.id, l.people.ann)).fields.cardNumber).toBeUndefined();
    const copy = await admin('GET', `/sessions/${sess.id}/people?edited=true&after=${ok.position}`);
    expect(copy.body.items).toEqual([expect.objectContaining({ id: l.people.ann, edited: true, fields: expect.objectContaining({ cardNumber: 'C-1' }), base: expect.objectContaining({ fields: { firstName: 'ann', form: '7A' } }) })]);
    expectStatus(await admin('PATCH', `/sessions/${sess.id}/people/not-in-it`, { fields: { cardNumber: 'x' } }), 404);
    const nothing = await admin('POST', `/sessions/${(await session(l.id)).id}/push`);
    expectStatus(nothing, 409);
    expect(nothing.body.error.message).toMatch(/nothing to push/);
  });
});

describe('changesets from a session', () => {
  it('reviews field by field; applies approved changes as events the timeline and provisioning log show; rolls back', async () => {
    const l = await manualList(['ann', 'bob']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { fields: { cardNumber: 'C-1', form: '8A' } });
    await edit(sess.id, l.people.bob, { fields: { cardNumber: 'C-2' } });
    const cid = await push(sess.id);
    const cs = await changeset(cid);
    expect(cs).toMatchObject({ id: cid, listId: l.id, origin: { kind: 'session', id: sess.id }, status: 'open', basePosition: sess.snapshotPosition, counts: { changes: 2, conflicts: 0, approved: 0, rejected: 0, pending: 2 } });
    const ann = changeOf(cs, l.people.ann);
    expect(ann.kind).toBe('update');
    expect(fieldOf(ann, 'form')).toEqual({ field: 'form', base: '7A', master: '7A', proposed: '8A', conflict: false, locked: false, lockedBy: null, choice: null });
    expect(fieldOf(ann, 'cardNumber')).toMatchObject({ base: null, master: null, proposed: 'C-1' });
    // the session lists the changeset it pushed
    expect((await admin('GET', `/sessions/${sess.id}?after=${lastPush.position}`)).body.changesets).toEqual([cid]);

    // nothing applies while a change is undecided
    const early = await admin('POST', `/changesets/${cid}/apply`);
    expectStatus(early, 409);
    expect(early.body.error.details.pending.sort()).toEqual(cs.changes.map((c: any) => c.id).sort());

    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: ann.id, decision: 'approve', fields: { form: 'skip' } }] }), 200);
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' }), 200);
    const applied = await admin('POST', `/changesets/${cid}/apply`);
    expectStatus(applied, 200);
    expect(applied.body).toMatchObject({ status: 'applied', counts: { approved: 2, applied: 2, pending: 0 } });

    const annNow = await admin('GET', `/lists/${l.id}/people/${l.people.ann}?after=${applied.body.position}`);
    expect(annNow.body.fields).toEqual({ firstName: 'ann', form: '7A', cardNumber: 'C-1' }); // form skipped
    const entry = annNow.body.timeline.at(-1);
    expect(entry).toMatchObject({ type: 'AttributesChanged', cause: 'changeset', changesetId: cid, fieldChanges: [{ field: 'cardNumber', old: null, new: 'C-1' }] });
    const log = await provisioningLog(s, l.id, `source=changeset&after=${applied.body.position}`);
    expect(log.map((e) => [e.operation, e.resourceId, e.changesetId, e.cause]).sort()).toEqual([['UPDATE', l.people.ann, cid, 'changeset'], ['UPDATE', l.people.bob, cid, 'changeset']].sort());
    expect(await provisioningLog(s, l.id, `changesetId=${cid}`)).toHaveLength(2);
    expect(await provisioningLog(s, l.id, 'source=scim')).toEqual([]);

    // apply again: it is applied
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 409);

    // a later edit to a field the changeset wrote blocks the rollback unless forced
    const later = await admin('PATCH', `/lists/${l.id}/people/${l.people.bob}`, { fields: { cardNumber: 'C-99' } });
    expectStatus(later, 200);
    const refused = await admin('POST', `/changesets/${cid}/rollback`, {});
    expectStatus(refused, 409);
    expect(refused.body.error.details.changedSince).toEqual([`${l.people.bob}.cardNumber`]);
    expect((await person(s, l.id, l.people.ann)).fields.cardNumber).toBe('C-1'); // nothing changed
    const rolled = await admin('POST', `/changesets/${cid}/rollback`, { force: [`${l.people.bob}.cardNumber`] });
    expectStatus(rolled, 200);
    expect(rolled.body.status).toBe('rolled_back');
    expect((await person(s, l.id, l.people.ann)).fields).toEqual({ firstName: 'ann', form: '7A' });
    const bob = await person(s, l.id, l.people.bob);
    expect(bob.fields.cardNumber).toBeUndefined();
    expect(bob.timeline.at(-1)).toMatchObject({ cause: 'changeset-rollback', fieldChanges: [{ field: 'cardNumber', old: 'C-99', new: null }] });
    // history is never rewritten: apply, edit, rollback are all there
    expect(bob.timeline.map((t: any) => t.cause)).toEqual([null, 'changeset', 'admin', 'changeset-rollback']);
  });

  it('refuses a rollback that would clobber a later edit, naming the field, and changes nothing', async () => {
    const l = await manualList(['ann', 'bob']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { fields: { cardNumber: 'A' } });
    await edit(sess.id, l.people.bob, { fields: { cardNumber: 'B', photoDate: '2026-12-01' } });
    const cid = await push(sess.id);
    await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 200);
    await admin('PATCH', `/lists/${l.id}/people/${l.people.bob}`, { fields: { photoDate: '2026-12-24' } });
    const refused = await admin('POST', `/changesets/${cid}/rollback`);
    expectStatus(refused, 409);
    expect(refused.body.error.details.changedSince).toEqual([`${l.people.bob}.photoDate`]);
    expect(refused.body.error.message).toMatch(/changed since/);
    expect((await person(s, l.id, l.people.ann)).fields.cardNumber).toBe('A');
    expect((await person(s, l.id, l.people.bob)).fields).toMatchObject({ cardNumber: 'B', photoDate: '2026-12-24' });
    expect((await changeset(cid)).status).toBe('applied');
  });

  it('flags a conflict when the roster moved on a field the session changed; a choice per field resolves it', async () => {
    const l = await manualList(['ann']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { fields: { form: '8A', cardNumber: 'C-1' } });
    // someone changes the roster between the snapshot and the push
    await admin('PATCH', `/lists/${l.id}/people/${l.people.ann}`, { fields: { form: '8B' } });
    const cid = await push(sess.id);
    const cs = await changeset(cid);
    expect(cs.counts).toMatchObject({ changes: 1, conflicts: 1 });
    const ch = cs.changes[0];
    expect(fieldOf(ch, 'form')).toEqual({ field: 'form', base: '7A', master: '8B', proposed: '8A', conflict: true, locked: false, lockedBy: null, choice: null });
    expect(fieldOf(ch, 'cardNumber').conflict).toBe(false);
    // the bulk form never resolves a conflict silently
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' }), 200);
    expect((await changeset(cid)).changes[0].decision).toBe('pending');
    // approving one change needs a choice for its conflicting field
    const noChoice = await admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: ch.id, decision: 'approve' }] });
    expectStatus(noChoice, 409);
    expect(noChoice.body.error.details.conflicts).toEqual([{ changeId: ch.id, personId: l.people.ann, field: 'form' }]);
    const blocked = await admin('POST', `/changesets/${cid}/apply`);
    expectStatus(blocked, 409);
    expect(blocked.body.error.details.conflicts).toEqual([{ changeId: ch.id, personId: l.people.ann, field: 'form' }]);
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: ch.id, decision: 'approve', fields: { form: 'master' } }] }), 200);
    const done = await admin('POST', `/changesets/${cid}/apply`);
    expectStatus(done, 200);
    expect((await person(s, l.id, l.people.ann)).fields).toEqual({ firstName: 'ann', form: '8B', cardNumber: 'C-1' });
  });

  it('reviews again at apply: a field the roster moved on since the review becomes a new conflict and nothing is overwritten', async () => {
    const l = await manualList(['ann', 'bob']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { fields: { form: '8A' } });
    await edit(sess.id, l.people.bob, { fields: { form: '8A' } });
    const cid = await push(sess.id);
    await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
    // after the review, before the apply
    await admin('PATCH', `/lists/${l.id}/people/${l.people.ann}`, { fields: { form: '9Z' } });
    const stale = await admin('POST', `/changesets/${cid}/apply`);
    expectStatus(stale, 409);
    const annChange = changeOf(await changeset(cid), l.people.ann);
    expect(stale.body.error.details.conflicts).toEqual([{ changeId: annChange.id, personId: l.people.ann, field: 'form' }]);
    expect(fieldOf(annChange, 'form')).toMatchObject({ base: '7A', master: '9Z', proposed: '8A', conflict: true, choice: null });
    // nothing was written to anyone
    expect((await person(s, l.id, l.people.bob)).fields.form).toBe('7A');
    expect((await person(s, l.id, l.people.ann)).fields.form).toBe('9Z');
    await admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: annChange.id, decision: 'approve', fields: { form: 'proposed' } }] });
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 200);
    expect((await person(s, l.id, l.people.ann)).fields.form).toBe('8A');
    expect((await person(s, l.id, l.people.bob)).fields.form).toBe('8A');
  });

  it('keeps every decision of two admins deciding at once (optimistic concurrency, retried)', async () => {
    const l = await manualList(['a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
    const sess = await session(l.id);
    for (const id of Object.values(l.people)) await edit(sess.id, id, { fields: { cardNumber: `C-${id.slice(0, 4)}` } });
    const cid = await push(sess.id);
    const ids = (await changeset(cid)).changes.map((c: any) => c.id);
    const answers = await Promise.all(ids.map((id: string, i: number) => admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: id, decision: i % 2 ? 'reject' : 'approve' }] })));
    for (const a of answers) expectStatus(a, 200);
    const after = await changeset(cid);
    expect(after.counts).toMatchObject({ approved: 3, rejected: 3, pending: 0 });
    expect(after.changes.map((c: any) => c.decision)).toEqual(ids.map((_: string, i: number) => (i % 2 ? 'rejected' : 'approved')));
  });

  it('discards an open changeset; a discarded one cannot be decided or applied', async () => {
    const l = await manualList(['ann']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { fields: { cardNumber: 'X' } });
    const cid = await push(sess.id);
    const d = await admin('POST', `/changesets/${cid}/discard`);
    expectStatus(d, 200);
    expect(d.body.status).toBe('discarded');
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' }), 409);
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 409);
    const listed = await admin('GET', `/lists/${l.id}/changesets?status=discarded&after=${d.body.position}`);
    expect(listed.body.items.map((c: any) => c.id)).toEqual([cid]);
    expect((await admin('GET', `/lists/${l.id}/changesets?status=open`)).body.items).toEqual([]);
  });

  it('deactivates and reactivates through a changeset, and a rollback puts the status back', async () => {
    const l = await manualList(['ann', 'bob']);
    const sess = await session(l.id);
    await edit(sess.id, l.people.ann, { status: 'inactive' });
    const cid = await push(sess.id);
    const ch = (await changeset(cid)).changes[0];
    expect(ch).toMatchObject({ kind: 'deactivate', status: { base: 'active', master: 'active', proposed: 'inactive', locked: false }, fields: [] });
    await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 200);
    expect((await person(s, l.id, l.people.ann)).status).toBe('inactive');
    expectStatus(await admin('POST', `/changesets/${cid}/rollback`), 200);
    const ann = await person(s, l.id, l.people.ann);
    expect(ann.status).toBe('active');
    expect(ann.timeline.map((t: any) => [t.type, t.cause])).toEqual([['PersonCreated', null], ['Deactivated', 'changeset'], ['Reactivated', 'changeset-rollback']]);
  });

  it('answers 202 while a large apply goes on, with progress, and it finishes', async () => {
    const quick = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' });
    try {
      const list = await quick.admin('POST', '/lists', { name: 'Big' });
      const id = list.body.id;
      await quick.admin('POST', `/lists/${id}/fields`, { key: 'cardNumber', label: 'Card', type: 'text' });
      const people: string[] = [];
      for (let i = 0; i < 300; i++) people.push((await quick.admin('POST', `/lists/${id}/people`, { fields: { cardNumber: `old-${i}` } })).body.id);
      const sess = (await quick.admin('POST', `/lists/${id}/sessions`, { name: 'all', filter: {} })).body;
      for (const [i, p] of people.entries()) expectStatus(await quick.admin('PATCH', `/sessions/${sess.id}/people/${p}`, { fields: { cardNumber: `new-${i}` } }), 200);
      const cid = (await quick.admin('POST', `/sessions/${sess.id}/push`)).body.changesetId;
      await quick.admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
      const started = await quick.admin('POST', `/changesets/${cid}/apply`);
      expectStatus(started, 202);
      expect(started.body).toMatchObject({ status: 'applying', progress: { total: 300 } });
      await expect.poll(async () => (await quick.admin('GET', `/changesets/${cid}?limit=1`)).body.status, { timeout: 20_000 }).toBe('applied');
      const cs = (await quick.admin('GET', `/changesets/${cid}?limit=1`)).body;
      expect(cs.counts).toMatchObject({ changes: 300, applied: 300 });
      expect(cs.changes).toHaveLength(1);
      expect(cs.nextCursor).toEqual(expect.any(String));
      const last = (await quick.admin('GET', `/lists/${id}/people/${people[299]}`)).body;
      expect(last.fields.cardNumber).toBe('new-299');
    } finally {
      await quick.stop();
    }
  });
});

describe('a changeset run stopped by a restart', () => {
  it('is resumed when the service starts again, and every change is written once', async () => {
    let stack = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' });
    const dataDir = stack.dataDir;
    try {
      const id = (await stack.admin('POST', '/lists', { name: 'Restarted' })).body.id;
      await stack.admin('POST', `/lists/${id}/fields`, { key: 'cardNumber', label: 'Card', type: 'text' });
      const people: string[] = [];
      for (let i = 0; i < 400; i++) people.push((await stack.admin('POST', `/lists/${id}/people`, { fields: { cardNumber: `old-${i}` } })).body.id);
      const sess = (await stack.admin('POST', `/lists/${id}/sessions`, { name: 'all', filter: {} })).body;
      for (const [i, p] of people.entries()) await stack.admin('PATCH', `/sessions/${sess.id}/people/${p}`, { fields: { cardNumber: `new-${i}` } });
      const cid = (await stack.admin('POST', `/sessions/${sess.id}/push`)).body.changesetId;
      await stack.admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
      expectStatus(await stack.admin('POST', `/changesets/${cid}/apply`), 202);
      // stopped mid-run: the batch in flight is recorded, the rest is left
      await stack.stop({ keepData: true });
      const offline = await openEmbeddedEventStore({ dir: join(dataDir, 'events') });
      const types = (await offline.readStream(`changeset-${cid}`)).map((e) => e.type);
      await offline.close();
      expect(types.at(-1)).not.toBe('ChangesetApplyFinished');
      expect(types).toContain('ChangesetApplyStarted');

      stack = await startStack({ MUSTER_CHANGESET_WAIT_MS: '0' }, dataDir);
      await expect.poll(async () => (await stack.admin('GET', `/changesets/${cid}?limit=1`)).body.status, { timeout: 20_000 }).toBe('applied');
      const cs = (await stack.admin('GET', `/changesets/${cid}?limit=1`)).body;
      expect(cs.counts).toMatchObject({ changes: 400, applied: 400 });
      for (const i of [0, 250, 399]) {
        const p = (await stack.admin('GET', `/lists/${id}/people/${people[i]}`)).body;
        expect(p.fields.cardNumber).toBe(`new-${i}`);
        expect(p.timeline.filter((t: any) => t.cause === 'changeset')).toHaveLength(1);
      }
    } finally {
      await stack.stop();
    }
  });
});

describe('changesets on a synced list', () => {
  let l: ScimList;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    l = await scimList(s, { name: 'Synced' });
    expectStatus(await admin('POST', `/lists/${l.id}/fields`, { key: 'cardNumber', label: 'Card number', type: 'text' }), 201);
    for (const n of ['ada', 'bo', 'cy']) ids[n] = await createUser(s, l, n);
  });

  it('lets synced people be edited in the session; fields the IdP owns come back locked (skip), local ones apply; a SCIM PATCH after the snapshot shows as a conflict', async () => {
    const sess = await session(l.id, { 'eq.department': 'Science' });
    expect(sess.people).toBe(3);
    await edit(sess.id, ids.ada, { fields: { department: 'Art', cardNumber: 'C-ada' } });
    // the IdP moves ada's department after the snapshot
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.ada}`, patchOps({ op: 'replace', path: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, value: 'Maths' })), 200);
    const cid = await push(sess.id);
    const ch = changeOf(await changeset(cid), ids.ada);
    expect(fieldOf(ch, 'department')).toEqual({ field: 'department', base: 'Science', master: 'Maths', proposed: 'Art', conflict: true, locked: true, lockedBy: 'scim', choice: 'skip' });
    expect(fieldOf(ch, 'cardNumber')).toMatchObject({ locked: false, choice: null, proposed: 'C-ada' });
    // a locked field cannot be chosen
    const locked = await admin('POST', `/changesets/${cid}/decisions`, { changes: [{ changeId: ch.id, decision: 'approve', fields: { department: 'proposed' } }] });
    expectStatus(locked, 409);
    expect(locked.body.error.message).toMatch(/owned by the SCIM sync/);
    // the locked conflict has its choice (skip): the bulk form approves the change
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' }), 200);
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 200);
    const ada = await person(s, l.id, ids.ada);
    expect(ada.fields).toMatchObject({ department: 'Maths', cardNumber: 'C-ada' });
    // the provisioning log tells the IdP's writes from the changeset's
    const idp = await provisioningLog(s, l.id, `source=scim&personId=${ids.ada}`);
    expect(idp.map((e) => e.operation)).toEqual(['UPDATE', 'CREATE']);
    const fromChangeset = await provisioningLog(s, l.id, `source=changeset&personId=${ids.ada}`);
    expect(fromChangeset.map((e) => [e.changesetId, e.changes])).toEqual([[cid, [{ field: 'cardNumber', old: null, new: 'C-ada' }]]]);
  });

  it('applies to a person the IdP deactivated after the snapshot: local fields apply, the status stays the IdP\'s', async () => {
    const sess = await session(l.id, { status: 'active' });
    await edit(sess.id, ids.bo, { fields: { cardNumber: 'C-bo' } });
    await edit(sess.id, ids.cy, { status: 'inactive' });
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ids.bo}`, patchOps({ op: 'replace', path: 'active', value: false })), 200);
    const cid = await push(sess.id);
    const cs = await changeset(cid);
    expect(changeOf(cs, ids.bo)).toMatchObject({ kind: 'update', status: null });
    // the IdP owns a synced person's status: the deactivation is shown locked and is not applied
    expect(changeOf(cs, ids.cy)).toMatchObject({ kind: 'deactivate', status: { proposed: 'inactive', locked: true, lockedBy: 'scim' } });
    await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' });
    expectStatus(await admin('POST', `/changesets/${cid}/apply`), 200);
    const bo = await person(s, l.id, ids.bo);
    expect(bo).toMatchObject({ status: 'inactive', fields: expect.objectContaining({ cardNumber: 'C-bo' }) });
    expect((await person(s, l.id, ids.cy)).status).toBe('active');
  });
});

describe('changeset access', () => {
  it("keeps one organisation's sessions and changesets from another's tokens, and viewers read only", async () => {
    const a = await organisation(s, 'Org A', 'pro');
    const b = await organisation(s, 'Org B', 'pro');
    const list = await admin('POST', '/lists', { name: 'A list' }, a.token);
    await admin('POST', `/lists/${list.body.id}/fields`, { key: 'cardNumber', label: 'Card', type: 'text' }, a.token);
    const p = await admin('POST', `/lists/${list.body.id}/people`, { fields: { cardNumber: '1' } }, a.token);
    const sess = await admin('POST', `/lists/${list.body.id}/sessions`, { name: 's', filter: {} }, a.token);
    expectStatus(sess, 201);
    expectStatus(await admin('PATCH', `/sessions/${sess.body.id}/people/${p.body.id}`, { fields: { cardNumber: '2' } }, a.token), 200);
    const pushed = await admin('POST', `/sessions/${sess.body.id}/push`, undefined, a.token);
    expectStatus(pushed, 201);
    const cid = pushed.body.changesetId;
    for (const [m, path, body] of [['GET', `/sessions/${sess.body.id}`], ['GET', `/sessions/${sess.body.id}/people`], ['PATCH', `/sessions/${sess.body.id}/people/${p.body.id}`, { fields: { cardNumber: '3' } }], ['POST', `/sessions/${sess.body.id}/push`], ['GET', `/changesets/${cid}`], ['POST', `/changesets/${cid}/decisions`, { all: 'approve' }], ['POST', `/changesets/${cid}/apply`], ['POST', `/changesets/${cid}/rollback`, {}], ['POST', `/changesets/${cid}/discard`], ['GET', `/lists/${list.body.id}/changesets`]] as Array<[string, string, unknown?]>) {
      expectStatus(await admin(m, path, body, b.token), 404);
    }
    const viewer = await admin('POST', `/organisations/${a.id}/admin-tokens`, { role: 'viewer' });
    expectStatus(await admin('GET', `/changesets/${cid}`, undefined, viewer.body.token), 200);
    expectStatus(await admin('POST', `/changesets/${cid}/decisions`, { all: 'approve' }, viewer.body.token), 403);
  });
});
