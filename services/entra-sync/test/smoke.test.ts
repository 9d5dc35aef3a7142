import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUsers, connectedList, entraStack, roster, run, summary, type EntraStack } from './support.ts';

let e: EntraStack;
beforeAll(async () => { e = await entraStack({ pageSize: 50 }); });
afterAll(async () => { await e?.stop(); });

describe('smoke', () => {
  it('pulls a group', async () => {
    const ids = addUsers(e.graph, 5);
    const g = e.graph.addGroup('Students', ids);
    const listId = await connectedList(e, 'Smoke', { groupIds: [g] });
    const r = await run(e, listId);
    expect(r, JSON.stringify(r)).toMatchObject({ status: 'succeeded', mode: 'full', fullReason: 'first', summary: summary({ created: 5 }) });
    const people = await roster(e, listId);
    expect(people.size).toBe(5);
    expect(people.get(ids[0])!.fields).toMatchObject({ firstName: 'Given1', lastName: 'u1', email: 'u1@school.example' });
    e.graph.updateUser(ids[1], { displayName: 'Renamed' });
    const r2 = await run(e, listId);
    expect(r2).toMatchObject({ status: 'succeeded', mode: 'incremental', summary: summary({ updated: 1 }) });
  });

  it('a user whose person was erased comes back as a new person when Entra next sends them', async () => {
    const ids = addUsers(e.graph, 2, 'er');
    const g = e.graph.addGroup('Erasure', ids);
    const listId = await connectedList(e, 'Erasure', { groupIds: [g] });
    expect((await run(e, listId)).summary).toMatchObject({ created: 2 });
    const before = (await roster(e, listId)).get(ids[0])!;
    const erased = await e.s.admin('POST', `/lists/${listId}/people/${before.id}/erase`, { reason: 'asked' });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    // a run that hears nothing of the user leaves things as they are
    expect((await run(e, listId)).summary).toMatchObject({ created: 0, errors: 0 });
    e.graph.updateUser(ids[0], { displayName: 'Back again' });
    const r = await run(e, listId);
    expect(r.summary).toMatchObject({ created: 1, errors: 0 });
    const after = (await roster(e, listId)).get(ids[0])!;
    expect(after.id).not.toBe(before.id);
    expect(after.fields).toMatchObject({ email: 'er1@school.example' });
    expect((await e.s.admin('GET', `/lists/${listId}/people/${before.id}`)).status).toBe(404);
  });
});
