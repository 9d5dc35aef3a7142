/**
 * Events: a request that changes something appends exactly one domain event (to a person-* or
 * group-* stream) carrying the SCIM-level change and the list-field changes; a no-op appends no
 * domain event and is logged SKIPPED. Reservation streams (uniq-*) may also get ValueReserved /
 * ValueReleased: uniqueness bookkeeping, not domain events (see libs/domain/src/reservations.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '@muster/event-store';
import { GROUP, PATCH_OP, USER, domainEvents, scimStack, type ScimClient } from './support.ts';

describe('events appended by SCIM requests', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  /** run `fn` and return the events it appended, split by kind */
  const during = async (fn: () => Promise<unknown>) => {
    const mark = await c.head();
    await fn();
    const all = await c.since(mark);
    return {
      domain: domainEvents(all),
      other: all.filter((e) => !/^(person|group)-/.test(e.streamId)),
      all,
    };
  };
  const onlyBookkeeping = (events: RecordedEvent[]) => events.every((e) => /^(uniq|scimlog)-/.test(e.streamId));

  it('POST → exactly one PersonProvisioned with the SCIM resource, the mapped fields and the field changes', async () => {
    let id = '';
    const ev = await during(async () => { id = (await c.user('ev1@example.org', { name: { givenName: 'Eve', familyName: 'One' }, emails: [{ value: 'ev1@example.org', type: 'work', primary: true }] })).body.id; });
    expect(ev.domain).toHaveLength(1);
    const e = ev.domain[0];
    expect(e).toMatchObject({ streamId: `person-${id}`, type: 'PersonProvisioned' });
    expect(e.data).toMatchObject({ personId: id, listId: c.listId, status: 'active', scim: { userName: 'ev1@example.org', name: { givenName: 'Eve', familyName: 'One' } }, fields: { firstName: 'Eve', lastName: 'One', email: 'ev1@example.org' } });
    expect(e.data.fieldChanges).toEqual(expect.arrayContaining([{ field: 'firstName', old: null, new: 'Eve' }]));
    expect(e.metadata).toMatchObject({ actor: { kind: 'scim-token' }, source: { kind: 'scim', method: 'POST', operation: 'CREATE' } });
    expect(onlyBookkeeping(ev.other)).toBe(true);
  });

  it('POST of a new person writes its userName reservation and the person in one atomic append (adjacent positions, one record)', async () => {
    let id = '';
    const ev = await during(async () => { id = (await c.user('ev-atomic@example.org')).body.id; });
    const reserved = ev.all.filter((e) => e.type === 'ValueReserved');
    const person = ev.all.find((e) => e.streamId === `person-${id}`)!;
    expect(reserved).toHaveLength(1);
    expect(reserved[0].data).toMatchObject({ kind: 'userName', ownerId: id });
    expect(reserved[0].data).not.toHaveProperty('value'); // the person's own events hold the identifier
    expect(person.position).toBe(reserved[0].position + 1);
    expect(person.created).toBe(reserved[0].created); // one durable write carries both
    // a userName reserved before (created, then renamed away: released) takes the claim-by-claim path
    await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: 'ev-atomic-renamed@example.org' }] });
    const again = await c.user('ev-atomic@example.org');
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(id);
    const taken = await c.user('ev-atomic-renamed@example.org');
    expect(taken.status).toBe(409);
  });

  it('POST of a new group writes its name reservation and the group in one atomic append; a released name takes the claim path', async () => {
    let id = '';
    const ev = await during(async () => { id = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Atomic Group', members: [] })).body.id; });
    const reserved = ev.all.filter((e) => e.type === 'ValueReserved');
    const group = ev.all.find((e) => e.streamId === `group-${id}`)!;
    expect(reserved).toHaveLength(1);
    expect(reserved[0].data).toMatchObject({ kind: 'groupName', value: 'Atomic Group', ownerId: id });
    expect(group.type).toBe('GroupCreated');
    expect(group.position).toBe(reserved[0].position + 1);
    expect(group.created).toBe(reserved[0].created); // one durable write carries both
    expect((await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'atomic group', members: [] })).status).toBe(409);
    // renamed away (the name released), the name can be taken again: the claim-by-claim path
    expect((await c.req('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Atomic Group 2' }] })).status).toBeLessThan(300);
    const again = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Atomic Group', members: [] });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(id);
  });

  it('PATCH/PUT that change something → exactly one AttributesChanged with scimChanges and fieldChanges', async () => {
    const id = (await c.user('ev2@example.org', { name: { givenName: 'Old' } })).body.id;
    const ev = await during(() => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'New' }, { op: 'add', path: 'title', value: 'Boss' }] }));
    expect(ev.domain.map((e) => e.type)).toEqual(['AttributesChanged']);
    expect(ev.domain[0].data.scimChanges).toEqual(expect.arrayContaining([{ path: 'name.givenName', old: 'Old', new: 'New' }, { path: 'title', old: null, new: 'Boss' }]));
    expect(ev.domain[0].data.fieldChanges).toEqual(expect.arrayContaining([{ field: 'firstName', old: 'Old', new: 'New' }]));
    expect(ev.other).toEqual([]);
    const put = await during(() => c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'ev2@example.org', name: { givenName: 'New' } }));
    expect(put.domain.map((e) => e.type)).toEqual(['AttributesChanged']);
    expect(put.domain[0].data.scimChanges).toEqual([{ path: 'title', old: 'Boss', new: null }]);
  });

  it('deactivate / reactivate / delete / relink are one event each', async () => {
    const id = (await c.user('ev3@example.org')).body.id;
    const off = await during(() => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }));
    expect(off.domain.map((e) => e.type)).toEqual(['Deactivated']);
    expect(off.domain[0].data.scimChanges).toEqual([{ path: 'active', old: null, new: false }]);
    const on = await during(() => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] }));
    expect(on.domain.map((e) => e.type)).toEqual(['Reactivated']);
    const del = await during(() => c.req('DELETE', `/Users/${id}`));
    expect(del.domain.map((e) => e.type)).toEqual(['PersonUnlinked']);
    expect(del.domain[0].data).toMatchObject({ personId: id, wasActive: true });
    const back = await during(() => c.user('ev3@example.org'));
    expect(back.domain.map((e) => e.type)).toEqual(['PersonRelinked']);
  });

  it('a request that changes nothing appends no domain event and is logged SKIPPED', async () => {
    const id = (await c.user('ev4@example.org', { title: 'Same' })).body.id;
    const patch = await during(() => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Same' }] }));
    expect(patch.domain).toEqual([]);
    expect(patch.other.map((e) => [e.type, e.data.status, e.data.resourceId])).toEqual([['ScimRequestLogged', 'SKIPPED', id]]);
    const put = await during(() => c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'ev4@example.org', title: 'Same' }));
    expect(put.domain).toEqual([]);
    expect(put.other.map((e) => e.data.status)).toEqual(['SKIPPED']);
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Noop group' })).body.id;
    const gp = await during(() => c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Noop group' }] }));
    expect(gp.domain).toEqual([]);
    expect(gp.other.map((e) => e.data.status)).toEqual(['SKIPPED']);
    const log = await c.log();
    expect(log.filter((e) => e.status === 'SKIPPED').map((e) => e.resourceId)).toEqual([id, id, g]);
  });

  it('groups: create, rename, membership and delete are one event each; failures append no domain event', async () => {
    const u = (await c.user('ev5@example.org')).body.id;
    let gid = '';
    const created = await during(async () => { gid = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Ev group', members: [{ value: u }] })).body.id; });
    expect(created.domain.map((e) => [e.streamId, e.type])).toEqual([[`group-${gid}`, 'GroupCreated']]);
    const members = await during(() => c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members', value: [{ value: u }] }] }));
    expect(members.domain.map((e) => e.type)).toEqual(['GroupMembersChanged']);
    expect(members.domain[0].data).toMatchObject({ added: [], removed: [u] });
    const renamed = await during(() => c.req('PATCH', `/Groups/${gid}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Ev group 2' }] }));
    expect(renamed.domain.map((e) => e.type)).toEqual(['GroupChanged']);
    expect(renamed.domain[0].data.changes).toEqual([{ path: 'displayName', old: 'Ev group', new: 'Ev group 2' }]);
    const failed = await during(() => c.user('ev5@example.org'));
    expect(failed.domain).toEqual([]);
    expect(failed.other.map((e) => e.data.status)).toEqual(['FAILED']);
    const del = await during(() => c.req('DELETE', `/Groups/${gid}`));
    expect(del.domain.map((e) => e.type)).toEqual(['GroupDeleted']);
  });

  it('a Bulk request appends one domain event per operation that changed something', async () => {
    const ev = await during(() => c.req('POST', '/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [
      { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER], userName: 'bulk-ev@example.org' } },
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'Bulk ev', members: [{ value: 'bulkId:a' }] } },
    ] }));
    expect(ev.domain.map((e) => e.type)).toEqual(['PersonProvisioned', 'GroupCreated']);
  });
});
