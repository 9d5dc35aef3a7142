/**
 * Retention (with a clock the test moves), deleting a list (grace period, ?now=true, a synced list)
 * and deleting a field, through the real stack.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionWaiter } from '@muster/read-models';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { RetentionJob } from '../src/retention.ts';
import { createUser, eventually, expectStatus, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const DAY = 86_400_000;
/** the erasure job over the running stack's stores, judging by the clock `at` */
function jobAt(at: () => Date) {
  const a = s.running.adapters;
  return new RetentionJob({ store: a.store, readStore: a.readStore, vault: a.vault, projection: new ProjectionWaiter(a.readStore, { timeoutMs: 5_000 }), now: at, newId: randomUUID, log: () => {} });
}

async function visitors(name = 'Visitors') {
  const list = (await s.admin('POST', '/lists', { name })).body.id as string;
  expectStatus(await s.admin('POST', `/lists/${list}/fields`, { key: 'fullName', label: 'Full name', type: 'text' }), 201);
  expectStatus(await s.admin('POST', `/lists/${list}/fields`, { key: 'nickname', label: 'Nickname', type: 'text' }), 201);
  return list;
}
async function add(list: string, fullName: string, nickname?: string) {
  const res = await s.admin('POST', `/lists/${list}/people`, { fields: { fullName, ...(nickname ? { nickname } : {}) } });
  expectStatus(res, 201);
  return res.body.id as string;
}
const ids = async (list: string, after?: number) => (await s.admin('GET', `/lists/${list}/people?status=all${after !== undefined ? `&after=${after}` : ''}`)).body.items.map((p: { id: string }) => p.id);

describe('retention', () => {
  it('is off by default and set by owners; people inactive for longer than the policy are erased by the job, with the policy as the reason', async () => {
    const list = await visitors();
    const stays = await add(list, 'Active Annie');
    const leaver = await add(list, 'Leaving Lenny');
    const recent = await add(list, 'Recent Rita');
    expectStatus(await s.admin('PATCH', `/lists/${list}/people/${leaver}`, { status: 'inactive' }), 200);
    const t0 = Date.now();

    // off by default: nobody is erased however far the clock goes
    expect((await jobAt(() => new Date(t0 + 400 * DAY)).run()).retention).toBe(0);

    const admin = await s.admin('POST', '/admin-tokens', { role: 'admin' });
    expectStatus(await s.admin('PUT', `/lists/${list}/retention`, { inactiveDays: 30 }, admin.body.token), 403);
    expectStatus(await s.admin('PUT', `/lists/${list}/retention`, { inactiveDays: 0 }), 400);
    const set = await s.admin('PUT', `/lists/${list}/retention`, { inactiveDays: 30 });
    expectStatus(set, 200);
    expect(set.body.retentionDays).toBe(30);

    // 10 days on: too early; 31 days on: Lenny (inactive since t0) goes
    expect((await jobAt(() => new Date(t0 + 10 * DAY)).run()).retention).toBe(0);
    const run = await jobAt(() => new Date(t0 + 31 * DAY)).run();
    expect(run).toMatchObject({ retention: 1, errors: [] });
    await eventually(async () => expect(await ids(list)).toEqual(expect.arrayContaining([stays, recent])));
    expect(await ids(list)).not.toContain(leaver);
    // Rita leaves now: 29 days on she stays, 31 days on she goes; Annie (active) stays throughout
    expectStatus(await s.admin('PATCH', `/lists/${list}/people/${recent}`, { status: 'inactive' }), 200);
    const t1 = Date.now();
    expect((await jobAt(() => new Date(t1 + 29 * DAY)).run()).retention).toBe(0);
    expect((await jobAt(() => new Date(t1 + 31 * DAY)).run()).retention).toBe(1);
    await eventually(async () => expect(await ids(list)).toEqual([stays]));
    const body = (await s.admin('GET', `/audit/events?personId=${leaver}&type=PersonErased`)).body;
    // one NDJSON line (the test client parses a body that is one JSON value)
    const events = typeof body === 'string' ? body.trim().split('\n').map((l) => JSON.parse(l)) : [body];
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ data: { trigger: 'retention', reason: 'retention policy: inactive for more than 30 days' }, actor: { kind: 'system', id: 'retention' } });
    // run again: nothing more to do
    expect((await jobAt(() => new Date(t1 + 31 * DAY)).run()).retention).toBe(0);
    // on demand, for the install-wide owner (the real clock: nothing due)
    const now = await s.admin('POST', '/admin/retention/run');
    expectStatus(now, 200);
    expect(now.body).toMatchObject({ retention: 0 });
    // back to keeping people
    expect((await s.admin('PUT', `/lists/${list}/retention`, { inactiveDays: null })).body.retentionDays).toBeNull();
  });
});

describe('deleting a list', () => {
  it('archives it at once (read-only) and erases its people after the grace period', async () => {
    const list = await visitors('Summer school 2026');
    const a = await add(list, 'Pupil One');
    const del = await s.admin('DELETE', `/lists/${list}`);
    expectStatus(del, 200);
    expect(del.body).toMatchObject({ status: 'archived', erasing: false });
    expect(Date.parse(del.body.eraseAfter) - Date.now()).toBeGreaterThan(29 * DAY);
    expect((await s.admin('PATCH', `/lists/${list}`, { name: 'Renamed' })).status).toBe(409);
    expect((await s.admin('POST', `/lists/${list}/people`, { fields: { fullName: 'Late' } })).status).toBe(409);
    expect((await s.admin('GET', `/lists/${list}?after=${del.body.position}`)).body.status).toBe('archived');
    expect((await jobAt(() => new Date(Date.now() + 29 * DAY)).run(list)).peopleOfDeletedLists).toBe(0);
    const run = await jobAt(() => new Date(Date.now() + 31 * DAY)).run(list);
    expect(run).toMatchObject({ peopleOfDeletedLists: 1, listsErased: 1 });
    await eventually(async () => expect((await s.admin('GET', `/lists/${list}`)).body.status).toBe('erased'));
    expectStatus(await s.admin('GET', `/lists/${list}/people/${a}`), 404);
    expect(await ids(list)).toEqual([]);
  });

  it('refuses a synced list unless told to disconnect it; ?now=true erases at once (202)', async () => {
    const l = await scimList(s, { name: 'Leaving IdP', uniqueIdentifier: 'email' });
    const p = await createUser(s, l, 'goner');
    const refused = await s.admin('DELETE', `/lists/${l.id}`);
    expectStatus(refused, 409);
    expect(refused.body.error.message).toMatch(/disconnect/);
    const del = await s.admin('DELETE', `/lists/${l.id}?disconnect=true&now=true`);
    expectStatus(del, 202);
    expect(del.body).toMatchObject({ status: 'archived', erasing: true });
    await eventually(async () => expect((await s.admin('GET', `/lists/${l.id}`)).body.status).toBe('erased'));
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/${p}`), 404);
    // the IdP's token went with the connection
    expect((await s.scim(l.token, 'GET', `${l.base}/Users`)).status).toBe(401);
    // only owners delete lists
    const admin = await s.admin('POST', '/admin-tokens', { role: 'admin' });
    const other = await visitors('Kept');
    expectStatus(await s.admin('DELETE', `/lists/${other}`, undefined, admin.body.token), 403);
  });
});

describe('deleting a field', () => {
  it('takes its values out of the read models and off the person; it cannot be mapped while removed; a field a mapping fills is refused', async () => {
    const list = await visitors('Club');
    const p = await add(list, 'Nick Named', 'Zebedee');
    expect((await s.admin('GET', `/lists/${list}/people?eq.nickname=Zebedee`)).body.items).toHaveLength(1);
    const del = await s.admin('DELETE', `/lists/${list}/fields/nickname`);
    expectStatus(del, 200);
    const after = del.body.position;
    const person = await s.admin('GET', `/lists/${list}/people/${p}?after=${after}`);
    expect(person.body.fields).toEqual({ fullName: 'Nick Named' });
    const roster = (await s.admin('GET', `/lists/${list}/people?after=${after}`)).body.items;
    expect(roster[0].fields).toEqual({ fullName: 'Nick Named' });
    expectStatus(await s.admin('GET', `/lists/${list}/people?eq.nickname=Zebedee&after=${after}`), 400);
    // a later edit of the person does not bring it back
    const edited = await s.admin('PATCH', `/lists/${list}/people/${p}`, { fields: { fullName: 'Nick Renamed' } });
    expectStatus(edited, 200);
    expect((await s.admin('GET', `/lists/${list}/people?after=${edited.body.position}`)).body.items[0].fields).toEqual({ fullName: 'Nick Renamed' });
    expectStatus(await s.admin('PATCH', `/lists/${list}/people/${p}`, { fields: { nickname: 'Again' } }), 400);
    expectStatus(await s.admin('DELETE', `/lists/${list}/fields/nickname`), 404);

    // a SCIM list's email field is filled by a mapping: refused, naming it
    const l = await scimList(s, { name: 'Mapped' });
    const refused = await s.admin('DELETE', `/lists/${l.id}/fields/email`);
    expectStatus(refused, 409);
    expect(refused.body.error.message).toMatch(/mapping/);
  });
});
