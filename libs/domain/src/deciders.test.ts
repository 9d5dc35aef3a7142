import { describe, it, expect } from 'vitest';
import { spec } from './spec.ts';
import { listDecider, syncedFieldKeys } from './list.ts';
import { personDecider } from './person.ts';
import { tokensDecider } from './tokens.ts';
import { DEFAULT_FIELDS, defaultMappings } from './defaults.ts';
import type { DomainEvent } from '@muster/contracts';

const listCreated: DomainEvent = { type: 'ListCreated', data: { listId: 'l1', orgId: 'o1', name: 'Staff' } };
const scimConnected: DomainEvent = { type: 'ScimConnected', data: { listId: 'l1', uniqueIdentifier: 'employeeNumber', fieldsAdded: DEFAULT_FIELDS, mappings: defaultMappings() } };
const known = () => true;

describe('list decider', () => {
  const given = spec(listDecider);
  it('connecting SCIM adds the 9 default fields and default mappings', () => {
    given([listCreated]).when({ type: 'ConnectScim', uniqueIdentifier: 'employeeNumber', now: 0 }).thenMatches((events) => {
      expect(events).toHaveLength(1);
      const e = events[0];
      if (e.type !== 'ScimConnected') throw new Error('wrong event');
      expect(e.data.fieldsAdded.map((f) => f.label)).toEqual(['First Name', 'Last Name', 'Email', 'Display Name', 'Employee Number', 'Primary Email', 'Phone', 'Job Title', 'Department']);
      expect(e.data.mappings).toHaveLength(9);
    });
  });
  it('does not recreate default fields that already exist', () => {
    given([listCreated, { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'firstName', label: 'Given', type: 'text', required: true, multiValued: false } } }])
      .when({ type: 'ConnectScim', uniqueIdentifier: 'email', now: 0 })
      .thenMatches((events) => {
        const e = events[0];
        if (e.type !== 'ScimConnected') throw new Error('wrong event');
        expect(e.data.fieldsAdded.map((f) => f.key)).not.toContain('firstName');
        expect(e.data.fieldsAdded).toHaveLength(8);
      });
  });
  it('refuses a second SCIM connection', () => {
    given([listCreated, scimConnected]).when({ type: 'ConnectScim', uniqueIdentifier: 'email', now: 0 }).thenThrows('conflict', /already connected/);
  });
  it('refuses mappings with two sources into one field, unknown attributes or unknown fields', () => {
    given([listCreated, scimConnected]).when({
      type: 'SetMappings', groupRules: [], knownSources: (s) => s !== 'bogus',
      mappings: [
        { source: 'name.givenName', field: 'firstName', enabled: true, transform: 'direct' },
        { source: 'nickName', field: 'firstName', enabled: true, transform: 'direct' },
        { source: 'bogus', field: 'lastName', enabled: true, transform: 'direct' },
        { source: 'title', field: 'nope', enabled: true, transform: 'direct' },
      ],
    }).thenThrows('invalid', /two sources.*unknown attribute "bogus".*unknown field "nope"/);
  });
  it('disconnect frees synced fields', () => {
    const s = [listCreated, scimConnected, { type: 'ScimDisconnected', data: { listId: 'l1' } } as DomainEvent]
      .reduce((st, e) => listDecider.evolve(st, e), listDecider.initialState());
    expect(syncedFieldKeys(s).size).toBe(0);
    const connected = [listCreated, scimConnected].reduce((st, e) => listDecider.evolve(st, e), listDecider.initialState());
    expect([...syncedFieldKeys(connected)]).toContain('firstName');
  });
  it('a no-op mapping save appends nothing', () => {
    given([listCreated, scimConnected]).when({ type: 'SetMappings', mappings: defaultMappings(), groupRules: [], knownSources: known }).then([]);
  });
});

describe('person decider', () => {
  const given = spec(personDecider);
  const provisioned: DomainEvent = { type: 'PersonProvisioned', data: { personId: 'p1', listId: 'l1', scim: { userName: 'a', active: true }, fields: { firstName: 'Ann', nickname: 'local' }, status: 'active', fieldChanges: [] } };
  it('a SCIM update that changes nothing appends nothing', () => {
    given([provisioned]).when({ type: 'ScimUpdate', scim: { userName: 'a', active: true }, scimChanges: [], fields: { firstName: 'Ann' } }).then([]);
  });
  it('a SCIM update changes mapped fields and never local-only ones', () => {
    given([provisioned]).when({ type: 'ScimUpdate', scim: { userName: 'a', active: true, name: { givenName: 'Anna' } }, scimChanges: [{ path: 'name.givenName', old: 'Ann', new: 'Anna' }], fields: { firstName: 'Anna' } })
      .then([{ type: 'AttributesChanged', data: { personId: 'p1', listId: 'l1', scim: { userName: 'a', active: true, name: { givenName: 'Anna' } }, scimChanges: [{ path: 'name.givenName', old: 'Ann', new: 'Anna' }], fields: { firstName: 'Anna', nickname: 'local' }, fieldChanges: [{ field: 'firstName', old: 'Ann', new: 'Anna' }], cause: 'idp' } }]);
  });
  it('active=false is one Deactivated event', () => {
    given([provisioned]).when({ type: 'ScimUpdate', scim: { userName: 'a', active: false }, scimChanges: [{ path: 'active', old: true, new: false }], fields: { firstName: 'Ann' } })
      .thenMatches((ev) => { expect(ev.map((e) => e.type)).toEqual(['Deactivated']); });
  });
  it('editing a synced field is refused naming the sync', () => {
    given([provisioned]).when({ type: 'EditPerson', changes: { firstName: 'X' }, lockedFields: { firstName: 'SCIM' } }).thenThrows('locked', /owned by the SCIM sync/);
  });
  it('local-only fields stay editable on synced people', () => {
    given([provisioned]).when({ type: 'EditPerson', changes: { nickname: 'Annie' }, lockedFields: { firstName: 'SCIM' } })
      .thenMatches((ev) => expect(ev[0]).toMatchObject({ type: 'AttributesChanged', data: { fieldChanges: [{ field: 'nickname', old: 'local', new: 'Annie' }], cause: 'admin' } }));
  });
  it('after unlink, provisioning again relinks instead of duplicating', () => {
    given([provisioned, { type: 'PersonUnlinked', data: { personId: 'p1', listId: 'l1', wasActive: true } }])
      .when({ type: 'Provision', personId: 'p1', listId: 'l1', scim: { userName: 'a', active: true }, fields: { firstName: 'Ann' } })
      .thenMatches((ev) => expect(ev[0].type).toBe('PersonRelinked'));
  });
  it('provisioning a linked person is a conflict', () => {
    given([provisioned]).when({ type: 'Provision', personId: 'p1', listId: 'l1', scim: {}, fields: {} }).thenThrows('conflict');
  });
});

describe('token decider', () => {
  const given = spec(tokensDecider);
  const issued: DomainEvent = { type: 'ScimTokenIssued', data: { listId: 'l1', tokenId: 't1', hash: 'h', prefix: 'sct_ab', expiresAt: null } };
  it('rotation issues a new token and schedules the old one to expire after the overlap', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    given([issued]).when({ type: 'RotateToken', tokenId: 't1', newTokenId: 't2', hash: 'h2', prefix: 'sct_cd', overlapMs: 3_600_000, now })
      .then([
        { type: 'ScimTokenIssued', data: { listId: 'l1', tokenId: 't2', hash: 'h2', prefix: 'sct_cd', expiresAt: null, rotatedFrom: 't1' } },
        { type: 'ScimTokenExpiryScheduled', data: { listId: 'l1', tokenId: 't1', expiresAt: '2026-01-01T01:00:00.000Z' } },
      ]);
  });
  it('disconnect revokes every active token', () => {
    given([issued, { ...issued, data: { ...issued.data, tokenId: 't2' } } as DomainEvent, { type: 'ScimTokenRevoked', data: { listId: 'l1', tokenId: 't2', reason: 'revoked' } }])
      .when({ type: 'RevokeAll', listId: 'l1' })
      .then([{ type: 'ScimTokenRevoked', data: { listId: 'l1', tokenId: 't1', reason: 'disconnected' } }]);
  });
  it('issuing needs SCIM connected', () => {
    given([]).when({ type: 'IssueToken', listId: 'l1', tokenId: 't', hash: 'h', prefix: 'p', expiresAt: null, scimConnected: false }).thenThrows('conflict');
  });
});
