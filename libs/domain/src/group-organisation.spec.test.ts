/** Given/When/Then specs for the group and organisation deciders (no I/O). */
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '@muster/contracts';
import { spec } from './spec.ts';
import { groupDecider } from './group.ts';
import { organisationDecider, adminTokenEvolve, adminTokenUsable, type AdminTokenState } from './organisation.ts';

const created: DomainEvent = { type: 'GroupCreated', data: { groupId: 'g1', listId: 'l1', displayName: 'Year 7', externalId: 'ext-7', members: ['a', 'b'] } };

describe('group decider', () => {
  const given = spec(groupDecider);

  it('creates a group with its members once each', () => {
    given([]).when({ type: 'CreateGroup', groupId: 'g1', listId: 'l1', displayName: 'Year 7', members: ['a', 'b', 'a'] })
      .then([{ type: 'GroupCreated', data: { groupId: 'g1', listId: 'l1', displayName: 'Year 7', externalId: undefined, members: ['a', 'b'] } }]);
  });

  it('refuses to create a group twice', () => {
    given([created]).when({ type: 'CreateGroup', groupId: 'g1', listId: 'l1', displayName: 'Again', members: [] }).thenThrows('conflict');
  });

  it('a rename is GroupChanged with the attribute changes and the member delta', () => {
    given([created]).when({ type: 'UpdateGroup', displayName: 'Year 8', externalId: 'ext-7', members: ['b', 'c'] })
      .then([{ type: 'GroupChanged', data: {
        groupId: 'g1', listId: 'l1', displayName: 'Year 8', externalId: 'ext-7',
        changes: [{ path: 'displayName', old: 'Year 7', new: 'Year 8' }], added: ['c'], removed: ['a'],
      } }]);
  });

  it('dropping the externalId is a change from the old value to null', () => {
    given([created]).when({ type: 'UpdateGroup', displayName: 'Year 7', members: ['a', 'b'] }).thenMatches((events) => {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'GroupChanged', data: { changes: [{ path: 'externalId', old: 'ext-7', new: null }], added: [], removed: [] } });
    });
  });

  it('members only: GroupMembersChanged; the same desired state: nothing', () => {
    given([created]).when({ type: 'UpdateGroup', displayName: 'Year 7', externalId: 'ext-7', members: ['a', 'b', 'd'] })
      .then([{ type: 'GroupMembersChanged', data: { groupId: 'g1', listId: 'l1', added: ['d'], removed: [] } }]);
    given([created]).when({ type: 'UpdateGroup', displayName: 'Year 7', externalId: 'ext-7', members: ['b', 'a'] }).then([]);
  });

  it('folds member changes in order: a later update sees the members earlier events left', () => {
    const moved: DomainEvent = { type: 'GroupMembersChanged', data: { groupId: 'g1', listId: 'l1', added: ['c'], removed: ['a'] } };
    given([created, moved]).when({ type: 'UpdateGroup', displayName: 'Year 7', externalId: 'ext-7', members: ['b', 'c'] }).then([]);
  });

  it('deletes a group with the members it had, and a deleted group can be neither updated nor deleted again', () => {
    given([created]).when({ type: 'DeleteGroup' }).then([{ type: 'GroupDeleted', data: { groupId: 'g1', listId: 'l1', members: ['a', 'b'] } }]);
    const deleted: DomainEvent = { type: 'GroupDeleted', data: { groupId: 'g1', listId: 'l1', members: ['a', 'b'] } };
    given([created, deleted]).when({ type: 'DeleteGroup' }).thenThrows('not_found');
    given([created, deleted]).when({ type: 'UpdateGroup', displayName: 'x', members: [] }).thenThrows('not_found');
    given([]).when({ type: 'UpdateGroup', displayName: 'x', members: [] }).thenThrows('not_found');
  });
});

describe('organisation decider', () => {
  const given = spec(organisationDecider);
  const org: DomainEvent = { type: 'OrganisationCreated', data: { orgId: 'o1', name: 'Northfield School', plan: 'business' } };

  it('creates an organisation once', () => {
    given([]).when({ type: 'CreateOrganisation', orgId: 'o1', name: 'Northfield School', plan: 'business' }).then([org]);
    given([org]).when({ type: 'CreateOrganisation', orgId: 'o1', name: 'Again', plan: 'pro' }).thenThrows('conflict');
  });

  it('changes the plan only when it differs, and only for an organisation that exists', () => {
    given([org]).when({ type: 'ChangePlan', plan: 'pro' }).then([{ type: 'OrganisationPlanChanged', data: { orgId: 'o1', plan: 'pro' } }]);
    given([org]).when({ type: 'ChangePlan', plan: 'business' }).then([]);
    given([org, { type: 'OrganisationPlanChanged', data: { orgId: 'o1', plan: 'pro' } }]).when({ type: 'ChangePlan', plan: 'business' })
      .then([{ type: 'OrganisationPlanChanged', data: { orgId: 'o1', plan: 'business' } }]);
    given([]).when({ type: 'ChangePlan', plan: 'pro' }).thenThrows('not_found');
  });
});

describe('admin token fold', () => {
  it('an issued token is live until revoked', () => {
    const initial: AdminTokenState = { exists: false, tokenId: '', orgId: null, role: 'owner', hash: '', revoked: false };
    const issued = adminTokenEvolve(initial, { type: 'AdminTokenIssued', data: { tokenId: 't1', orgId: 'o1', role: 'auditor', hash: 'h', prefix: 'mat_abcd' } });
    expect(issued).toMatchObject({ exists: true, tokenId: 't1', orgId: 'o1', role: 'auditor', hash: 'h', revoked: false, prefix: 'mat_abcd', expiresAt: null, lifetimeDays: null });
    expect(adminTokenUsable(issued, new Date())).toBe(true);
    expect(adminTokenEvolve(issued, { type: 'AdminTokenRevoked', data: { tokenId: 't1' } } as DomainEvent).revoked).toBe(true);
  });

  it('a token with an expiry works until then; the overlap of a rotation brings it forward', () => {
    const initial: AdminTokenState = { exists: false, tokenId: '', orgId: null, role: 'owner', hash: '', revoked: false };
    const issued = adminTokenEvolve(initial, { type: 'AdminTokenIssued', data: { tokenId: 't1', orgId: null, role: 'owner', hash: 'h', prefix: 'mat_abcd', expiresAt: '2026-02-01T00:00:00.000Z', lifetimeDays: 31 } });
    expect(adminTokenUsable(issued, new Date('2026-01-31T23:59:59Z'))).toBe(true);
    expect(adminTokenUsable(issued, new Date('2026-02-01T00:00:00Z'))).toBe(false);
    const overlap = adminTokenEvolve(issued, { type: 'AdminTokenExpiryScheduled', data: { tokenId: 't1', expiresAt: '2026-01-10T00:00:00.000Z' } });
    expect(adminTokenUsable(overlap, new Date('2026-01-10T00:00:01Z'))).toBe(false);
  });
});
