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
});
