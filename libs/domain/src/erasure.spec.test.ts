/** Given/When/Then specs for erasure, retention and deletion rules of the person and list deciders (no I/O). */
import { describe, it } from 'vitest';
import type { DomainEvent } from '@muster/contracts';
import { spec } from './spec.ts';
import { personDecider } from './person.ts';
import { listDecider } from './list.ts';

const created: DomainEvent = { type: 'PersonCreated', data: { personId: 'p1', listId: 'l1', fields: { fullName: 'Ada' }, fieldChanges: [{ field: 'fullName', old: null, new: 'Ada' }] } };
const erased: DomainEvent = { type: 'PersonErased', data: { personId: 'p1', listId: 'l1', reason: 'asked', trigger: 'request' } };

describe('person erasure', () => {
  const given = spec(personDecider);
  it('erasing a person records who is gone and why, nothing personal', () => {
    given([created]).when({ type: 'Erase', reason: 'asked', trigger: 'request' }).then([erased]);
  });
  it('a person never created cannot be erased', () => {
    given([]).when({ type: 'Erase', reason: 'asked', trigger: 'request' }).thenThrows('not_found');
  });
  it('erasing twice changes nothing', () => {
    given([created, erased]).when({ type: 'Erase', reason: 'again', trigger: 'retention' }).then([]);
  });
  it('nothing is written to an erased person again: edits, status, provisioning are refused; a sync or remap passing by is a no-op', () => {
    given([created, erased]).when({ type: 'EditPerson', changes: { fullName: 'Eve' }, lockedFields: {} }).thenThrows('not_found');
    given([created, erased]).when({ type: 'SetStatus', status: 'inactive', syncProvider: null }).thenThrows('not_found');
    given([created, erased]).when({ type: 'Provision', personId: 'p1', listId: 'l1', scim: { userName: 'ada' }, fields: {} }).thenThrows('not_found');
    given([created, erased]).when({ type: 'SyncEntraUser', personId: 'p1', listId: 'l1', user: { id: 'u1' }, fields: {}, active: true }).then([]);
    given([created, erased]).when({ type: 'Remap', fields: { fullName: 'X' }, cause: 'remap' }).then([]);
  });
});

const list: DomainEvent = { type: 'ListCreated', data: { listId: 'l1', orgId: 'o1', name: 'Staff' } };
const nickname: DomainEvent = { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'nickname', label: 'Nickname', type: 'text', required: false, multiValued: false } } };
const scim: DomainEvent = { type: 'ScimConnected', data: { listId: 'l1', uniqueIdentifier: 'userName', fieldsAdded: [], mappings: [{ source: 'nickName', field: 'nickname', enabled: true, transform: 'direct' }] } };
const archived: DomainEvent = { type: 'ListArchived', data: { listId: 'l1', eraseAfter: '2027-01-04T00:00:00.000Z' } };

describe('list retention and deletion', () => {
  const given = spec(listDecider);
  it('a retention policy is set, changed and turned off; setting the same one changes nothing', () => {
    given([list]).when({ type: 'SetRetention', inactiveDays: 30 }).then([{ type: 'RetentionSet', data: { listId: 'l1', inactiveDays: 30 } }]);
    given([list, { type: 'RetentionSet', data: { listId: 'l1', inactiveDays: 30 } }]).when({ type: 'SetRetention', inactiveDays: 30 }).then([]);
    given([list, { type: 'RetentionSet', data: { listId: 'l1', inactiveDays: 30 } }]).when({ type: 'SetRetention', inactiveDays: null }).then([{ type: 'RetentionSet', data: { listId: 'l1', inactiveDays: null } }]);
  });
  it('a field is removed unless a mapping fills it; an unknown field is not found', () => {
    given([list, nickname]).when({ type: 'RemoveField', key: 'nickname' }).then([{ type: 'FieldRemoved', data: { listId: 'l1', key: 'nickname' } }]);
    given([list, nickname, scim]).when({ type: 'RemoveField', key: 'nickname' }).thenThrows('conflict');
    given([list, nickname, { type: 'FieldRemoved', data: { listId: 'l1', key: 'nickname' } }]).when({ type: 'RemoveField', key: 'nickname' }).thenThrows('not_found');
  });
  it('a synced list is not deleted; a deleted list refuses changes and is erased once', () => {
    given([list, nickname, scim]).when({ type: 'ArchiveList', eraseAfter: '2027-01-04T00:00:00.000Z' }).thenThrows('conflict');
    given([list]).when({ type: 'ArchiveList', eraseAfter: '2027-01-04T00:00:00.000Z' }).then([archived]);
    given([list, archived]).when({ type: 'ArchiveList', eraseAfter: '2027-02-01T00:00:00.000Z' }).then([]);
    given([list, archived]).when({ type: 'AddField', field: { key: 'x', label: 'X', type: 'text', required: false, multiValued: false } }).thenThrows('conflict');
    given([list]).when({ type: 'MarkListErased', people: 0 }).thenThrows('conflict');
    given([list, archived]).when({ type: 'MarkListErased', people: 3 }).then([{ type: 'ListErased', data: { listId: 'l1', people: 3 } }]);
    given([list, archived, { type: 'ListErased', data: { listId: 'l1', people: 3 } }]).when({ type: 'MarkListErased', people: 3 }).then([]);
  });
});
