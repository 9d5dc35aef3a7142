import { isGroupEvent } from '@muster/contracts';
import type { AttributeChange, DomainEvent } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';

export interface GroupState {
  exists: boolean;
  deleted: boolean;
  groupId: string;
  listId: string;
  displayName: string;
  externalId?: string;
  members: string[];
}

export type GroupCommand =
  | { type: 'CreateGroup'; groupId: string; listId: string; displayName: string; externalId?: string; members: string[] }
  /** desired state after a PUT or PATCH; the decider works out what changed */
  | { type: 'UpdateGroup'; displayName: string; externalId?: string; members: string[] }
  | { type: 'DeleteGroup' };

export const initialGroupState = (): GroupState => ({ exists: false, deleted: false, groupId: '', listId: '', displayName: '', members: [] });

export const groupDecider: Decider<GroupCommand, GroupState> = {
  initialState: initialGroupState,
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'CreateGroup':
        if (s.exists) throw conflict('group already exists');
        return [{ type: 'GroupCreated', data: { groupId: cmd.groupId, listId: cmd.listId, displayName: cmd.displayName, externalId: cmd.externalId, members: [...new Set(cmd.members)] } }];
      case 'UpdateGroup': {
        if (!s.exists || s.deleted) throw notFound('group not found');
        const want = new Set(cmd.members);
        const have = new Set(s.members);
        const added = [...want].filter((m) => !have.has(m));
        const removed = s.members.filter((m) => !want.has(m));
        const changes: AttributeChange[] = [];
        if (cmd.displayName !== s.displayName) changes.push({ path: 'displayName', old: s.displayName, new: cmd.displayName });
        if ((cmd.externalId ?? null) !== (s.externalId ?? null)) changes.push({ path: 'externalId', old: s.externalId ?? null, new: cmd.externalId ?? null });
        if (changes.length) {
          return [{ type: 'GroupChanged', data: { groupId: s.groupId, listId: s.listId, displayName: cmd.displayName, externalId: cmd.externalId, changes, added, removed } }];
        }
        if (added.length || removed.length) return [{ type: 'GroupMembersChanged', data: { groupId: s.groupId, listId: s.listId, added, removed } }];
        return [];
      }
      case 'DeleteGroup':
        if (!s.exists || s.deleted) throw notFound('group not found');
        return [{ type: 'GroupDeleted', data: { groupId: s.groupId, listId: s.listId, members: s.members } }];
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): GroupState {
    if (!isGroupEvent(e)) return s; // an event of another stream kind changes nothing here
    switch (e.type) {
      case 'GroupCreated':
        return { exists: true, deleted: false, groupId: e.data.groupId, listId: e.data.listId, displayName: e.data.displayName, externalId: e.data.externalId, members: e.data.members };
      case 'GroupChanged': {
        const removed = new Set(e.data.removed);
        return { ...s, displayName: e.data.displayName, externalId: e.data.externalId, members: [...s.members.filter((m) => !removed.has(m)), ...e.data.added] };
      }
      case 'GroupMembersChanged': {
        const removed = new Set(e.data.removed);
        return { ...s, members: [...s.members.filter((m) => !removed.has(m)), ...e.data.added] };
      }
      case 'GroupDeleted':
        return { ...s, deleted: true, members: [] };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
