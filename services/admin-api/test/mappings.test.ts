import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openEmbeddedEventStore, withHashChain } from '@muster/event-store';
import { OPERATOR, startStack, type Stack } from '../../../tests/helpers.ts';
import { ENTERPRISE, createUser, eventually, expectStatus, patchOps, person, provisioningLog, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const BADGE = 'urn:acme:params:scim:schemas:extension:badges:2.0:User';

async function mappingsOf(listId: string) {
  const res = await s.admin('GET', `/lists/${listId}/mappings`);
  expectStatus(res, 200);
  return res.body;
}

describe('the attribute catalogue', () => {
  it('lists every mappable IdP attribute, grouped Name / Contact / Organisation / Account / Address / Custom', async () => {
    const res = await s.admin('GET', '/mappings/catalogue');
    expectStatus(res, 200);
    const { count, attributes, groups } = res.body;
    expect(count).toBe(attributes.length);
    expect(count).toBeGreaterThanOrEqual(27);
    expect(groups.map((g: { name: string }) => g.name)).toEqual(['Name', 'Contact', 'Organisation', 'Account', 'Address', 'Custom']);
    expect(groups.reduce((n: number, g: { attributes: unknown[] }) => n + g.attributes.length, 0)).toBe(count);
    const ids = attributes.map((a: { id: string }) => a.id);
    expect(ids).toEqual(expect.arrayContaining([
      'userName', 'name.givenName', 'name.familyName', 'name.middleName', 'name.honorificPrefix', 'name.honorificSuffix', 'displayName', 'nickName',
      'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'active',
      'emails.work', 'emails.home', 'emails.other', 'emails.primary', 'phoneNumbers.work', 'phoneNumbers.mobile', 'phoneNumbers.other',
      'addresses.work.streetAddress', 'addresses.work.locality', 'addresses.work.region', 'addresses.work.postalCode', 'addresses.work.country',
      'employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager.value', 'manager.displayName',
    ]));
    const group = (name: string) => groups.find((g: { name: string }) => g.name === name).attributes.map((a: { id: string }) => a.id);
    expect(group('Name')).toContain('name.givenName');
    expect(group('Contact')).toContain('emails.work');
    expect(group('Organisation')).toContain('department');
    expect(group('Account')).toContain('userName');
    expect(group('Address')).toContain('addresses.work.postalCode');
    expect(attributes.find((a: { id: string }) => a.id === 'department').scimPath).toBe(`${ENTERPRISE}:department`);
  });
});

describe('saving mappings', () => {
  it('refuses unknown attributes, unknown fields and two sources into one field (400 with the reason)', async () => {
    const l = await scimList(s, { name: 'Validation' });
    const before = await mappingsOf(l.id);
    const cases: Array<[unknown, RegExp]> = [
      [{ mappings: [{ source: 'shoeSize', field: 'firstName' }] }, /unknown attribute "shoeSize"/],
      [{ mappings: [{ source: 'name.givenName', field: 'nickname' }] }, /unknown field "nickname"/],
      [{ mappings: [{ source: 'name.givenName', field: 'firstName' }, { source: 'nickName', field: 'firstName' }] }, /field "firstName" already receives "name.givenName"; two sources cannot map into one field/],
      [{ mappings: [{ source: 'title', field: 'jobTitle', transform: 'reverse' }] }, /transform/],
      [{ mappings: [], groupRules: [{ group: 'Year 7', field: 'cohort' }] }, /unknown field "cohort"/],
      [{ mappings: [{ source: 'title', field: 'jobTitle' }], groupRules: [{ group: 'Managers', field: 'jobTitle' }] }, /already receives attribute "title"/],
    ];
    for (const [body, reason] of cases) {
      const res = await s.admin('PUT', `/lists/${l.id}/mappings`, body);
      expectStatus(res, 400);
      expect(res.body.error.message).toMatch(reason);
    }
    // a disabled mapping does not count as a second source
    const ok = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: [...before.mappings, { source: 'nickName', field: 'firstName', enabled: false }] });
    expectStatus(ok, 200);
    expect(ok.body.changed).toBe(true);
    const same = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: ok.body.mappings });
    expect(same.body).toMatchObject({ changed: false, remapped: 0 });
  });

  it('a change re-applies the mappings to everyone already on the list (remap), with each transform, never touching local-only fields', async () => {
    const l = await scimList(s, { name: 'Remap' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'locker', label: 'Locker', type: 'text' }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'nick', label: 'Nickname', type: 'text' }), 201);
    const ada = await createUser(s, l, 'ada', { nickName: '  Countess  ', title: 'Analyst' });
    const grace = await createUser(s, l, 'grace', { nickName: 'Amazing Grace', title: 'Rear Admiral' });
    expectStatus(await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { locker: 'L-12' } }), 200);

    const { mappings } = await mappingsOf(l.id);
    const next = mappings.map((m: { field: string }) => (
      m.field === 'email' ? { ...m, transform: 'uppercase' } : m.field === 'department' ? { ...m, transform: 'lowercase' } : m));
    next.push({ source: 'nickName', field: 'nick', enabled: true, transform: 'trim' });
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: next });
    expectStatus(saved, 200);
    expect(saved.body).toMatchObject({ changed: true, remapped: 2, position: expect.any(Number) });
    expect((await mappingsOf(l.id)).mappings).toEqual(next);

    const a = await person(s, l.id, ada);
    expect(a.fields).toMatchObject({ email: 'ADA@EXAMPLE.ORG', department: 'science', nick: 'Countess', jobTitle: 'Analyst', locker: 'L-12', firstName: 'Ada' });
    const g = await person(s, l.id, grace);
    expect(g.fields).toMatchObject({ email: 'GRACE@EXAMPLE.ORG', nick: 'Amazing Grace' });
    expect(g.fields.locker).toBeUndefined();
    const remap = a.timeline[a.timeline.length - 1];
    expect(remap).toMatchObject({ type: 'AttributesChanged', cause: 'remap', source: { kind: 'remap' }, actor: { kind: 'system', id: 'mapping' } });
    expect(remap.fieldChanges).toEqual(expect.arrayContaining([
      { field: 'email', old: 'ada@example.org', new: 'ADA@EXAMPLE.ORG' }, { field: 'department', old: 'Science', new: 'science' }, { field: 'nick', old: null, new: 'Countess' },
    ]));
    expect(remap.fieldChanges.map((c: { field: string }) => c.field)).not.toContain('locker');
    // the remap run is caused by the mapping change (same correlation, causation = the MappingsChanged event)
    const events = await s.running.adapters.store.readStream(`list-${l.id}`);
    const changed = events.find((e) => e.type === 'MappingsChanged')!;
    const personEvents = await s.running.adapters.store.readStream(`person-${ada}`);
    expect(personEvents[personEvents.length - 1].metadata).toMatchObject({ causationId: changed.eventId, correlationId: (changed.metadata as { correlationId: string }).correlationId });

    // uppercase transform, end to end: the IdP changes an attribute, the field follows with the transform
    const upper = next.map((m: { field: string }) => (m.field === 'jobTitle' ? { ...m, transform: 'uppercase' } : m));
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper }), 200);
    expect((await person(s, l.id, grace)).fields.jobTitle).toBe('REAR ADMIRAL');
  });

  it('a remap never rewrites the fields of people the IdP deleted (unlinked): they keep the values they left with', async () => {
    const l = await scimList(s, { name: 'Leavers' });
    const stays = await createUser(s, l, 'stays', { title: 'Teacher' });
    const left = await createUser(s, l, 'left', { title: 'Teacher' });
    expectStatus(await s.scim(l.token, 'DELETE', `${l.base}/Users/${left}`), 204);
    const { mappings } = await mappingsOf(l.id);
    const upper = mappings.map((m: { field: string }) => (m.field === 'jobTitle' ? { ...m, transform: 'uppercase' } : m));
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper }), 200);
    expect((await person(s, l.id, stays)).fields.jobTitle).toBe('TEACHER');
    expect((await person(s, l.id, left)).fields.jobTitle).toBe('Teacher');
    const events = await s.running.adapters.store.readStream(`person-${left}`);
    expect(events.map((e) => e.type)).toEqual(['PersonProvisioned', 'PersonUnlinked']);
  });

  it('disabling a mapping makes its field local-only: kept, editable, no longer written by the IdP', async () => {
    const l = await scimList(s, { name: 'Disable' });
    const ada = await createUser(s, l, 'ada', { title: 'Analyst' });
    const { mappings } = await mappingsOf(l.id);
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: mappings.map((m: { field: string }) => (m.field === 'jobTitle' ? { ...m, enabled: false } : m)) });
    expect(saved.body).toMatchObject({ changed: true, remapped: 0 });
    expect((await person(s, l.id, ada)).fields.jobTitle).toBe('Analyst');
    expectStatus(await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { jobTitle: 'Countess' } }), 200);
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Users/${ada}`, patchOps({ op: 'replace', path: 'title', value: 'Engineer' })), 200);
    expect((await person(s, l.id, ada)).fields.jobTitle).toBe('Countess');
    const fields = await s.admin('GET', `/lists/${l.id}/fields`);
    expect(fields.body.items.find((f: { key: string }) => f.key === 'jobTitle').syncedBy).toBeNull();
  });

  it('custom extension attributes the IdP sends are kept and can be mapped later', async () => {
    const l = await scimList(s, { name: 'Custom' });
    const ada = await createUser(s, l, 'ada', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE, BADGE], [BADGE]: { colour: 'Teal', level: { name: 'Gold' } } });
    const got = await s.scim(l.token, 'GET', `${l.base}/Users/${ada}`);
    expect(got.body[BADGE]).toEqual({ colour: 'Teal', level: { name: 'Gold' } });
    const current = await mappingsOf(l.id);
    expect(current.customAttributes).toEqual([`${BADGE}:colour`, `${BADGE}:level.name`]);

    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'badge', label: 'Badge colour', type: 'text' }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'level', label: 'Badge level', type: 'text' }), 201);
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: [
      ...current.mappings, { source: `${BADGE}:colour`, field: 'badge', transform: 'lowercase' }, { source: `${BADGE}:level.name`, field: 'level' },
    ] });
    expectStatus(saved, 200);
    expect(saved.body.remapped).toBe(1);
    expect((await person(s, l.id, ada)).fields).toMatchObject({ badge: 'teal', level: 'Gold' });
  });
});

describe('a remap left unfinished (a crash between the mapping change and the remap run)', () => {
  const mappingsChanged = (listId: string, mappings: unknown, groupRules: unknown) => {
    const id = crypto.randomUUID();
    return {
      eventId: id, type: 'MappingsChanged', data: { listId, mappings, groupRules },
      metadata: { eventId: id, version: 1, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: { kind: 'admin', id: 'test' }, source: { kind: 'admin-api' } },
    };
  };

  it('a save records RemapCompleted once its run is done; saving the same mappings again writes nothing', async () => {
    const l = await scimList(s, { name: 'Remap bookkeeping' });
    const ada = await createUser(s, l, 'ada');
    const { mappings } = await mappingsOf(l.id);
    expect((await mappingsOf(l.id)).remap).toEqual({ pending: false, mappingsVersion: 0 });
    const upper = mappings.map((m: { field: string }) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' } : m));
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper });
    expect(saved.body).toMatchObject({ changed: true, remapped: 1 });
    const events = await s.running.adapters.store.readStream(`list-${l.id}`);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ type: 'RemapCompleted', data: { listId: l.id, mappingsVersion: 1, remapped: 1 } });
    // caused by the mapping change, after the person's remap
    const changed = events.find((e) => e.type === 'MappingsChanged')!;
    expect(last.metadata).toMatchObject({ causationId: changed.eventId, actor: { kind: 'system', id: 'mapping' }, source: { kind: 'remap' } });
    const personEvents = await s.running.adapters.store.readStream(`person-${ada}`);
    expect(personEvents[personEvents.length - 1].position).toBeLessThan(last.position);
    expect(saved.body.position).toBe(last.position);
    expect((await mappingsOf(l.id)).remap).toEqual({ pending: false, mappingsVersion: 1 });
    // the list summary (read model) shows the last finished remap
    const summary = await s.admin('GET', `/lists/${l.id}?after=${saved.body.position}`);
    expect(summary.body.lastRemap).toEqual({ mappingsVersion: 1, remapped: 1, completedAt: last.metadata.occurredAt });
    const again = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper });
    expect(again.body).toMatchObject({ changed: false, remapped: 0, position: null });
    expect((await s.running.adapters.store.readStream(`list-${l.id}`)).length).toBe(events.length);
  });

  it('the running service finishes it on its own: people re-derived, RemapCompleted recorded, nothing owed', async () => {
    const l = await scimList(s, { name: 'Interrupted remap' });
    const ada = await createUser(s, l, 'ada');
    const grace = await createUser(s, l, 'grace');
    const { mappings, groupRules } = await mappingsOf(l.id);
    const upper = mappings.map((m: { field: string }) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' } : m));
    // the state a save leaves when it stops right after storing the new mappings (here: another replica that died)
    await s.running.adapters.store.appendToStream(`list-${l.id}`, [mappingsChanged(l.id, upper, groupRules)], { expectedRevision: 'any' });
    await eventually(async () => {
      expect((await person(s, l.id, ada)).fields.firstName).toBe('ADA');
      expect((await person(s, l.id, grace)).fields.firstName).toBe('GRACE');
      expect((await mappingsOf(l.id)).remap).toEqual({ pending: false, mappingsVersion: 1 });
    });
    const events = await s.running.adapters.store.readStream(`list-${l.id}`);
    expect(events.filter((e) => e.type === 'RemapCompleted').map((e) => e.data)).toEqual([{ listId: l.id, mappingsVersion: 1, remapped: 2 }]);
    const remap = (await person(s, l.id, ada)).timeline.at(-1);
    expect(remap).toMatchObject({ type: 'AttributesChanged', cause: 'remap', source: { kind: 'remap' } });
    // saving the same mappings afterwards finds nothing owed
    const again = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper, groupRules });
    expect(again.body).toMatchObject({ changed: false, remapped: 0 });
    const health = await (await fetch(`${s.url}/healthz`, OPERATOR)).json() as any;
    expect(JSON.stringify(health)).toMatch(/"owedRemapsFinished":[1-9]/);
  });

  it('a save that would wait too long answers 202: saved, the run goes on and is recorded once', async () => {
    const t = await startStack({ MUSTER_REMAP_WAIT_MS: '0' });
    try {
      const l = await scimList(t, { name: 'Large list' });
      const ids: string[] = [];
      for (const n of ['ada', 'grace', 'edsger', 'barbara', 'radia', 'frances']) ids.push(await createUser(t, l, n));
      const { mappings } = (await t.admin('GET', `/lists/${l.id}/mappings`)).body;
      const upper = mappings.map((m: { field: string }) => (m.field === 'firstName' ? { ...m, transform: 'uppercase' } : m));
      const saved = await t.admin('PUT', `/lists/${l.id}/mappings`, { mappings: upper });
      expectStatus(saved, 202);
      expect(saved.body).toMatchObject({ changed: true, remap: { pending: true, mappingsVersion: 1 }, mappings: upper });
      // the answer's position is the saved mappings': reading after it shows them at once
      expect((await t.admin('GET', `/lists/${l.id}/mappings?after=${saved.body.position}`)).body.mappings).toEqual(upper);
      await eventually(async () => {
        expect((await t.admin('GET', `/lists/${l.id}/mappings`)).body.remap).toEqual({ pending: false, mappingsVersion: 1 });
      });
      for (const id of ids) expect((await person(t, l.id, id)).fields.firstName).toMatch(/^[A-Z]+$/);
      const events = await t.running.adapters.store.readStream(`list-${l.id}`);
      expect(events.filter((e) => e.type === 'RemapCompleted').map((e) => e.data)).toEqual([{ listId: l.id, mappingsVersion: 1, remapped: 6 }]);
    } finally {
      await t.stop();
    }
  });

  it('a restart finishes a remap the stopped process owed', async () => {
    const t = await startStack();
    let stopped = false;
    try {
      const l = await scimList(t, { name: 'Owed at restart' });
      const ada = await createUser(t, l, 'ada');
      const { mappings, groupRules } = (await t.admin('GET', `/lists/${l.id}/mappings`)).body;
      const upper = mappings.map((m: { field: string }) => (m.field === 'lastName' ? { ...m, transform: 'uppercase' } : m));
      await t.stop({ keepData: true });
      stopped = true;
      // written while no process runs: the mappings changed, nobody remapped
      const offline = withHashChain(await openEmbeddedEventStore({ dir: join(t.dataDir, 'events') }));
      await offline.appendToStream(`list-${l.id}`, [mappingsChanged(l.id, upper, groupRules)], { expectedRevision: 'any' });
      await offline.close();
      const u = await startStack({}, t.dataDir);
      try {
        await eventually(async () => {
          expect((await person(u, l.id, ada)).fields.lastName).toBe('TESTER');
          expect((await u.admin('GET', `/lists/${l.id}/mappings`)).body.remap).toEqual({ pending: false, mappingsVersion: 1 });
        }, 30_000);
        const verified = await u.admin('GET', '/audit/verify');
        expect(verified.body).toMatchObject({ ok: true });
      } finally {
        await u.stop();
      }
    } finally {
      if (!stopped) await t.stop();
    }
  });
});

describe('mapping end to end', () => {
  it('an IdP PATCH changes an attribute → the mapped field changes with the transform → the log shows old and new', async () => {
    const l = await scimList(s, { name: 'End to end' });
    const { mappings } = await mappingsOf(l.id);
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, {
      mappings: [...mappings.map((m: { field: string }) => (m.field === 'department' ? { ...m, transform: 'uppercase' } : m.field === 'displayName' ? { ...m, transform: 'trim' } : m))],
    }), 200);
    const ada = await createUser(s, l, 'ada');
    expect((await person(s, l.id, ada)).fields.department).toBe('SCIENCE');

    const res = await s.scim(l.token, 'PATCH', `${l.base}/Users/${ada}`, patchOps(
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Analytical Engines' },
      { op: 'replace', path: 'displayName', value: '  Ada L.  ' },
    ), { 'user-agent': 'Okta SCIM Client 1.0.0' });
    expectStatus(res, 200);
    const p = await person(s, l.id, ada);
    expect(p.fields).toMatchObject({ department: 'ANALYTICAL ENGINES', displayName: 'Ada L.' });

    const [entry] = await provisioningLog(s, l.id, `personId=${ada}&operation=UPDATE`);
    expect(entry).toMatchObject({
      operation: 'UPDATE', status: 'SUCCESS', resourceType: 'User', resourceId: ada, method: 'PATCH', path: `/scim/v2/lists/${l.id}/Users/${ada}`, idp: 'Okta',
    });
    expect(entry.changes).toEqual(expect.arrayContaining([
      { field: 'department', old: 'SCIENCE', new: 'ANALYTICAL ENGINES' }, { field: 'displayName', old: 'ada Tester', new: 'Ada L.' },
    ]));
    expect(entry.changes).toHaveLength(2);
  });
});
