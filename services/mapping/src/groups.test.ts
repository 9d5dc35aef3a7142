import { describe, expect, it } from 'vitest';
import { GroupMembership } from './groups.ts';

describe('group membership', () => {
  it('follows creates, member changes, renames and deletes, and names who is affected', () => {
    const m = new GroupMembership();
    expect(m.apply({ type: 'GroupCreated', data: { groupId: 'g1', listId: 'l1', displayName: 'Year 7', members: ['a', 'b'] } })).toEqual({ listId: 'l1', people: ['a', 'b'] });
    m.apply({ type: 'GroupCreated', data: { groupId: 'g2', listId: 'l2', displayName: 'Other list', members: ['a'] } });
    expect(m.groupNamesOf('a', 'l1')).toEqual(['Year 7']);
    expect(m.apply({ type: 'GroupMembersChanged', data: { groupId: 'g1', listId: 'l1', added: ['c'], removed: ['a'] } })).toEqual({ listId: 'l1', people: ['c', 'a'] });
    expect(m.groupNamesOf('a', 'l1')).toEqual([]);
    expect(m.apply({ type: 'GroupChanged', data: { groupId: 'g1', listId: 'l1', displayName: 'Year 8', externalId: undefined, changes: [], added: [], removed: [] } })!.people.sort()).toEqual(['b', 'c']);
    expect(m.groupNamesOf('b', 'l1')).toEqual(['Year 8']);
    expect(m.apply({ type: 'GroupDeleted', data: { groupId: 'g1', listId: 'l1', members: ['b', 'c'] } })!.people.sort()).toEqual(['b', 'c']);
    expect(m.groupNamesOf('b', 'l1')).toEqual([]);
    expect(m.apply({ type: 'PersonCreated', data: {} })).toBeNull();
  });
});
