/**
 * The Entra connection through the admin API: connect and its defaults, PATCH, test, the guard
 * that holds mass deactivations as a changeset, bad input, secrets kept out of every output, the
 * schedule, and a disconnect.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams } from '@muster/contracts';
import { addUsers, connectedList, entraStack, expectStatus, organisation, roster, run, waitForRun, type EntraStack } from './support.ts';

let e: EntraStack;
beforeAll(async () => { e = await entraStack({ pageSize: 100 }); });
afterAll(async () => { await e?.stop(); });

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('connecting Entra', () => {
  it('creates the 9 default fields with Graph mappings (Email falls back to the UPN, Phone to the first business phone), locked while synced', async () => {
    const [withMail, noMail] = [
      e.graph.addUser({ givenName: 'Ada', surname: 'Byron', displayName: 'Ada Byron', mail: 'ada@school.example', userPrincipalName: 'ada@school.onmicrosoft.com', employeeId: 'E1', mobilePhone: '+44 7700 900001', jobTitle: 'Teacher', department: 'Maths' }),
      e.graph.addUser({ givenName: 'Bo', surname: 'Ng', displayName: 'Bo Ng', userPrincipalName: 'bo@school.onmicrosoft.com', businessPhones: ['+44 20 7946 0001', '+44 20 7946 0002'] }),
    ];
    const g = e.graph.addGroup('Defaults', [withMail, noMail]);
    const listId = await connectedList(e, 'Defaults', { groupIds: [g] });
    const mappings = await e.s.admin('GET', `/lists/${listId}/mappings`);
    expect(mappings.body.mappings).toEqual(expect.arrayContaining([
      { source: 'givenName', field: 'firstName', enabled: true, transform: 'direct' },
      { source: 'mail', field: 'email', enabled: true, transform: 'direct', fallback: 'userPrincipalName' },
      { source: 'mobilePhone', field: 'phone', enabled: true, transform: 'direct', fallback: 'businessPhones' },
      { source: 'employeeId', field: 'employeeNumber', enabled: true, transform: 'direct' },
    ]));
    expect(mappings.body.mappings).toHaveLength(9);
    await run(e, listId);
    const people = await roster(e, listId);
    expect(people.get(withMail)!.fields).toEqual({
      firstName: 'Ada', lastName: 'Byron', email: 'ada@school.example', primaryEmail: 'ada@school.example', displayName: 'Ada Byron',
      employeeNumber: 'E1', phone: '+44 7700 900001', jobTitle: 'Teacher', department: 'Maths',
    });
    expect(people.get(noMail)!.fields).toMatchObject({ email: 'bo@school.onmicrosoft.com', phone: '+44 20 7946 0001' });
    const person = await e.s.admin('GET', `/lists/${listId}/people/${people.get(withMail)!.id}`);
    expect(person.body.uniqueId).toEqual({ kind: 'email', value: 'ada@school.example' });
    const edit = await e.s.admin('PATCH', `/lists/${listId}/people/${people.get(withMail)!.id}`, { fields: { department: 'Art' } });
    expectStatus(edit, 409);
    expect(edit.body.error.message).toMatch(/owned by the (entra|ENTRA|Entra ID) sync/);
    // a value Graph clears clears the field
    e.graph.updateUser(withMail, { jobTitle: null });
    await run(e, listId);
    expect((await roster(e, listId)).get(withMail)!.fields.jobTitle).toBeUndefined();
    // disconnect: people kept, fields editable, secret forgotten
    expectStatus(await e.s.admin('DELETE', `/lists/${listId}/sync/entra`), 200);
    expectStatus(await e.s.admin('PATCH', `/lists/${listId}/people/${people.get(withMail)!.id}`, { fields: { department: 'Art' } }), 200);
    expect((await roster(e, listId)).size).toBe(2);
    expect(await filesUnder(join(e.s.dataDir, 'secrets')).catch(() => [])).not.toContain(join(e.s.dataDir, 'secrets', `entra-${listId}.sealed`));
  });

  it('the catalogue lists the Entra properties (source entra, Graph paths) and a list\'s directory extensions', async () => {
    const cat = await e.s.admin('GET', '/mappings/catalogue');
    const entra = cat.body.attributes.filter((a: { source: string }) => a.source === 'entra').map((a: { id: string }) => a.id);
    expect(entra).toEqual(expect.arrayContaining(['givenName', 'surname', 'displayName', 'mail', 'userPrincipalName', 'employeeId', 'jobTitle', 'department', 'companyName',
      'officeLocation', 'mobilePhone', 'businessPhones', 'employeeType', 'city', 'country', 'onPremisesExtensionAttributes.extensionAttribute1', 'onPremisesExtensionAttributes.extensionAttribute15']));
    expect(cat.body.attributes.find((a: { id: string; source: string }) => a.id === 'name.givenName').source).toBe('scim');
  });

  it('refuses bad input with clear errors: unknown list, SCIM connected, malformed ids, a missing secret, a bad extension name', async () => {
    const g = e.graph.addGroup('Bad input', []);
    const body = { tenantId: e.graph.tenantId, clientId: e.graph.clientId, clientSecret: 'x', groupIds: [g], schedule: null };
    expectStatus(await e.s.admin('POST', '/lists/nope/sync/entra', body), 404);
    const list = await e.s.admin('POST', '/lists', { name: 'Bad input' });
    const at = `/lists/${list.body.id}/sync/entra`;
    const tenant = await e.s.admin('POST', at, { ...body, tenantId: 'contoso.onmicrosoft.com' });
    expectStatus(tenant, 400);
    expect(tenant.body.error.message).toMatch(/tenantId must be a GUID/);
    const group = await e.s.admin('POST', at, { ...body, groupIds: ['students'] });
    expectStatus(group, 400);
    expect(group.body.error.message).toMatch(/group id must be a GUID/);
    const { clientSecret: _c, ...noSecret } = body;
    const secret = await e.s.admin('POST', at, noSecret);
    expectStatus(secret, 400);
    expect(secret.body.error.message).toMatch(/clientSecret/);
    expectStatus(await e.s.admin('POST', at, { ...body, extensionAttributes: ['cardUid'] }), 400);
    expectStatus(await e.s.admin('POST', at, { ...body, schedule: { intervalMinutes: 20_000 } }), 400);
    expectStatus(await e.s.admin('POST', `/lists/${list.body.id}/sync/scim`, { uniqueIdentifier: 'email' }), 201);
    const both = await e.s.admin('POST', at, body);
    expectStatus(both, 409);
    expect(both.body.error.message).toMatch(/synced by scim/);
    expectStatus(await e.s.admin('POST', `${at}/runs`), 409);
    expectStatus(await e.s.admin('PATCH', at, { schedule: null }), 409);
  });

  it('a Graph answer that is not JSON fails the run with graph_bad_answer, and the next run converges', async () => {
    const ids = addUsers(e.graph, 2, 'nojson');
    const g = e.graph.addGroup('Not JSON', ids);
    const listId = await connectedList(e, 'Not JSON', { groupIds: [g] });
    e.graph.garbageNext(1);
    const r = await run(e, listId);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'graph_bad_answer' } });
    expect((await roster(e, listId)).size).toBe(0);
    expect(await run(e, listId)).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'first', summary: { created: 2 } });
  });
});

describe('testing a connection', () => {
  it('answers ok with each group found, group_not_found naming the missing one, authentication_failed with Entra\'s words', async () => {
    const g = e.graph.addGroup('Pupils', []);
    const missing = '00000000-0000-4000-8000-000000000001';
    const listId = await connectedList(e, 'Test ok', { groupIds: [g] });
    const ok = await e.s.admin('POST', `/lists/${listId}/sync/entra/test`);
    expectStatus(ok, 200);
    expect(ok.body).toEqual({ ok: true, groups: [{ id: g, displayName: 'Pupils', found: true }] });
    expectStatus(await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { groupIds: [g, missing] }), 200);
    const notFound = await e.s.admin('POST', `/lists/${listId}/sync/entra/test`);
    expectStatus(notFound, 422);
    expect(notFound.body.error).toMatchObject({ code: 'group_not_found', message: expect.stringContaining(missing) });
    expect(notFound.body.error.details.groups).toEqual([{ id: g, displayName: 'Pupils', found: true }, { id: missing, displayName: null, found: false }]);
  });

  it('says graph_unreachable (502) when Graph cannot be reached', async () => {
    const other = await entraStack({ env: { MUSTER_GRAPH_URL: 'http://127.0.0.1:9', MUSTER_GRAPH_ATTEMPTS: '1' } });
    try {
      const listId = await connectedList(other, 'Unreachable', { groupIds: [other.graph.addGroup('G', [])] });
      const res = await other.s.admin('POST', `/lists/${listId}/sync/entra/test`);
      expectStatus(res, 502);
      expect(res.body.error.code).toBe('graph_unreachable');
    } finally {
      await other.stop();
    }
  });
});

describe('the accidental-deactivation guard', () => {
  it('holds deactivations beyond the threshold (creates and updates still applied) as a changeset; approving it deactivates', async () => {
    const ids = addUsers(e.graph, 10, 'guard');
    const g = e.graph.addGroup('Guarded', ids.slice(0, 9));
    const listId = await connectedList(e, 'Guarded', { groupIds: [g] });
    expect((await run(e, listId)).summary.created).toBe(9);
    for (const id of ids.slice(0, 3)) e.graph.removeMember(g, id); // 3 of 9 = 33 % > 20 %
    e.graph.addMember(g, ids[9]);
    e.graph.updateUser(ids[4], { department: 'Science' });
    const r = await run(e, listId);
    expect(r).toMatchObject({ status: 'held', held: 3, summary: { created: 1, updated: 1, deactivated: 0 } });
    let people = await roster(e, listId);
    expect(ids.slice(0, 3).map((id) => people.get(id)!.status)).toEqual(['active', 'active', 'active']);
    expect(people.get(ids[9])!.status).toBe('active');
    const cs = await e.s.admin('GET', `/changesets/${r.changesetId}`);
    expectStatus(cs, 200);
    expect(cs.body.origin).toEqual({ kind: 'entra-run', id: r.runId });
    expect(cs.body.changes.map((c: { kind: string; status: { locked: boolean } }) => [c.kind, c.status.locked])).toEqual([['deactivate', false], ['deactivate', false], ['deactivate', false]]);
    expectStatus(await e.s.admin('POST', `/changesets/${r.changesetId}/decisions`, { all: 'approve' }), 200);
    const applied = await e.s.admin('POST', `/changesets/${r.changesetId}/apply`);
    expect([200, 202]).toContain(applied.status);
    for (let i = 0; i < 100 && (await e.s.admin('GET', `/changesets/${r.changesetId}`)).body.status !== 'applied'; i++) await new Promise((res) => setTimeout(res, 50));
    people = await roster(e, listId);
    expect(ids.slice(0, 3).map((id) => people.get(id)!.status)).toEqual(['inactive', 'inactive', 'inactive']);
    const log = await e.s.admin('GET', `/lists/${listId}/provisioning-log?changesetId=${r.changesetId}`);
    expect(log.body.items.map((i: { operation: string; source: string; runId: string }) => [i.operation, i.source, i.runId])).toEqual(Array(3).fill(['DEACTIVATE', 'entra', r.runId]));
    // off with null: the next mass removal goes through
    expectStatus(await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { deactivationThreshold: null }), 200);
    for (const id of ids.slice(3, 7)) e.graph.removeMember(g, id);
    expect(await run(e, listId)).toMatchObject({ status: 'succeeded', summary: { deactivated: 4 } });
  });
});

describe('schedules and secrets', () => {
  it('a schedule starts the first run at once and the next interval minutes after it; PATCH to null stops it', async () => {
    const ids = addUsers(e.graph, 2, 'sched');
    const g = e.graph.addGroup('Scheduled', ids);
    const listId = await connectedList(e, 'Scheduled', { groupIds: [g], schedule: { intervalMinutes: 5 } });
    const runs = await e.s.admin('GET', `/lists/${listId}/sync/entra/runs`);
    expect(runs.body.items[0]).toMatchObject({ trigger: 'schedule' });
    const done = await waitForRun(e, listId, runs.body.items[0].runId);
    expect(done.summary.created).toBe(2);
    const status = await e.s.admin('GET', `/lists/${listId}/sync/entra`);
    expect(status.body).toMatchObject({ schedule: { intervalMinutes: 5 }, lastRun: { runId: done.runId } });
    expect(Date.parse(status.body.nextRunAt) - Date.parse(runs.body.items[0].startedAt)).toBe(5 * 60_000);
    const off = await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { schedule: null });
    expect(off.body).toMatchObject({ schedule: null, nextRunAt: null });
  });

  it('keeps the client secret out of the event log, the read models, the answers and the data directory (sealed only)', async () => {
    const secret = `s3cret-${Math.random().toString(36).slice(2)}`;
    e.graph.clientSecret = secret;
    try {
      const ids = addUsers(e.graph, 1, 'secret');
      const listId = await connectedList(e, 'Secret', { groupIds: [e.graph.addGroup('Secret', ids)], secret });
      const patched = await e.s.admin('PATCH', `/lists/${listId}/sync/entra`, { clientSecret: secret });
      expect(patched.text).not.toContain(secret);
      expect((await run(e, listId)).status).toBe('succeeded');
      for (const path of ['/lists/' + listId, `/lists/${listId}/sync/entra`, `/lists/${listId}/sync/entra/runs`]) expect((await e.s.admin('GET', path)).text).not.toContain(secret);
      const all = await e.s.running.adapters.store.readStream(streams.list(listId));
      expect(all.map((x) => x.type)).toEqual(expect.arrayContaining(['EntraConnected', 'EntraSecretSet']));
      expect(JSON.stringify(all)).not.toContain(secret);
      for (const file of await filesUnder(e.s.dataDir)) expect((await readFile(file)).includes(secret), file).toBe(false);
      expect(await readFile(join(e.s.dataDir, 'secrets', `entra-${listId}.sealed`), 'utf8')).toMatch(/^v1\./);
    } finally {
      e.graph.clientSecret = 'fake-secret';
    }
  });

  it('is open from the pro plan', async () => {
    const pro = await organisation(e.s, 'Pro school', 'pro');
    const list = await e.s.admin('POST', '/lists', { name: 'Pupils' }, pro.token);
    const res = await e.s.admin('POST', `/lists/${list.body.id}/sync/entra`, { tenantId: e.graph.tenantId, clientId: e.graph.clientId, clientSecret: 'x', groupIds: [e.graph.addGroup('Pro', [])], schedule: null }, pro.token);
    expectStatus(res, 201);
  });
});
