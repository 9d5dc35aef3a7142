import { describe, it, expect } from 'vitest';
import { spec } from './spec.ts';
import { listDecider, remapPending, syncedFieldKeys } from './list.ts';
import { personDecider } from './person.ts';
import { tokensDecider } from './tokens.ts';
import { DEFAULT_FIELDS, defaultMappings } from './defaults.ts';
import { FEATURE_PLAN, planAllows } from './organisation.ts';
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
  it('mappings configured before connecting are kept, and the new default fields get their default mappings', () => {
    const custom = { source: 'nickName', field: 'firstName', enabled: true, transform: 'direct' as const };
    given([listCreated, { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'firstName', label: 'First', type: 'text', required: false, multiValued: false } } },
      { type: 'MappingsChanged', data: { listId: 'l1', mappings: [custom], groupRules: [] } }])
      .when({ type: 'ConnectScim', uniqueIdentifier: 'email', now: 0 })
      .thenMatches((events) => {
        const e = events[0];
        if (e.type !== 'ScimConnected') throw new Error('wrong event');
        expect(e.data.mappings[0]).toEqual(custom);
        expect(e.data.mappings.map((m) => m.field)).toEqual(['firstName', 'lastName', 'email', 'displayName', 'employeeNumber', 'primaryEmail', 'phone', 'jobTitle', 'department']);
      });
  });
  it('reconnecting keeps the mappings of the earlier connection as they were', () => {
    const edited = defaultMappings().map((m) => (m.field === 'email' ? { ...m, transform: 'lowercase' as const } : m));
    given([listCreated, scimConnected, { type: 'MappingsChanged', data: { listId: 'l1', mappings: edited, groupRules: [] } }, { type: 'ScimDisconnected', data: { listId: 'l1' } }])
      .when({ type: 'ConnectScim', uniqueIdentifier: 'email', now: 0 })
      .thenMatches((events) => {
        const e = events[0];
        if (e.type !== 'ScimConnected') throw new Error('wrong event');
        expect(e.data.fieldsAdded).toEqual([]);
        expect(e.data.mappings).toEqual(edited);
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

describe('remap bookkeeping in the list decider', () => {
  const given = spec(listDecider);
  const changed = (n: number): DomainEvent => ({ type: 'MappingsChanged', data: { listId: 'l1', mappings: defaultMappings().slice(n), groupRules: [] } });
  const completed = (v: number): DomainEvent => ({ type: 'RemapCompleted', data: { listId: 'l1', mappingsVersion: v, remapped: 3 } });
  const fold = (events: DomainEvent[]) => events.reduce((st, e) => listDecider.evolve(st, e), listDecider.initialState());
  it('each mappings change owes a remap until a RemapCompleted of its version (or a later one)', () => {
    expect(remapPending(fold([listCreated, scimConnected]))).toBe(false);
    expect(remapPending(fold([listCreated, scimConnected, changed(1)]))).toBe(true);
    expect(remapPending(fold([listCreated, scimConnected, changed(1), completed(1)]))).toBe(false);
    expect(remapPending(fold([listCreated, scimConnected, changed(1), completed(1), changed(2)]))).toBe(true);
    expect(remapPending(fold([listCreated, scimConnected, changed(1), changed(2), completed(1)]))).toBe(true);
    expect(remapPending(fold([listCreated, scimConnected, changed(1), changed(2), completed(2), completed(1)]))).toBe(false);
  });
  it('completing the current version records it; completing one already covered records nothing', () => {
    given([listCreated, scimConnected, changed(1), changed(2)]).when({ type: 'CompleteRemap', mappingsVersion: 2, remapped: 5 })
      .then([{ type: 'RemapCompleted', data: { listId: 'l1', mappingsVersion: 2, remapped: 5 } }]);
    given([listCreated, scimConnected, changed(1), changed(2), completed(2)]).when({ type: 'CompleteRemap', mappingsVersion: 1, remapped: 0 }).then([]);
    given([listCreated, scimConnected, changed(1), completed(1)]).when({ type: 'CompleteRemap', mappingsVersion: 1, remapped: 0 }).then([]);
  });
  it('refuses a version that does not exist, and a list that does not', () => {
    given([listCreated, scimConnected, changed(1)]).when({ type: 'CompleteRemap', mappingsVersion: 2, remapped: 0 }).thenThrows('invalid', /mappings version 2 does not exist/);
    given([]).when({ type: 'CompleteRemap', mappingsVersion: 1, remapped: 0 }).thenThrows('not_found');
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
    // a field a group rule sets says so, rather than sending the admin to the IdP's attribute
    given([provisioned]).when({ type: 'EditPerson', changes: { cohort: 'X', firstName: 'Y' }, lockedFields: { firstName: 'SCIM', cohort: { sync: 'SCIM', by: 'group-rule' } } })
      .thenThrows('locked', /"cohort" is set by a group rule from the person's SCIM groups.*Configure Mappings/);
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

describe('one sync provider per list', () => {
  it('connecting SCIM on a list synced by Entra is a conflict naming the provider', () => {
    const base = [listCreated].reduce((st, e) => listDecider.evolve(st, e), listDecider.initialState());
    const entra = { ...base, sync: { provider: 'entra' as const, connectedAt: 0 } };
    expect(() => listDecider.decide({ type: 'ConnectScim', uniqueIdentifier: 'email', now: 0 }, entra)).toThrow(/synced by entra; one sync provider per list/);
  });
});

describe('plans', () => {
  it('SCIM needs business or above, Entra sync pro or above', () => {
    expect(FEATURE_PLAN).toEqual({ scim: 'business', entra: 'pro' });
    expect([planAllows('pro', 'scim'), planAllows('business', 'scim'), planAllows('enterprise', 'scim')]).toEqual([false, true, true]);
    expect([planAllows('pro', 'entra'), planAllows('business', 'entra'), planAllows('enterprise', 'entra')]).toEqual([true, true, true]);
  });
});

describe('group rules in the list decider', () => {
  const withFields = [listCreated, scimConnected,
    { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'cohort', label: 'Cohort', type: 'text', required: false, multiValued: false } } },
    { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'stage', label: 'Stage', type: 'enum', enumValues: ['KS3'], required: false, multiValued: false } } },
    { type: 'FieldAdded', data: { listId: 'l1', field: { key: 'age', label: 'Age', type: 'number', required: false, multiValued: false } } },
  ] as DomainEvent[];
  const given = spec(listDecider);
  it('accepts rules into text and enum fields, in order', () => {
    given(withFields).when({ type: 'SetMappings', mappings: defaultMappings(), knownSources: known, groupRules: [{ group: 'Year 7', field: 'cohort' }, { group: 'Year 8', field: 'cohort' }, { group: 'Lower', field: 'stage', value: 'KS3' }] })
      .thenMatches((ev) => expect(ev[0]).toMatchObject({ type: 'MappingsChanged', data: { groupRules: [{ group: 'Year 7' }, { group: 'Year 8' }, { group: 'Lower' }] } }));
  });
  it('refuses a value outside an enum, a non-text field, and a field an attribute already feeds', () => {
    given(withFields).when({ type: 'SetMappings', mappings: defaultMappings(), knownSources: known, groupRules: [{ group: 'Upper', field: 'stage', value: 'KS5' }, { group: 'Y7', field: 'age' }, { group: 'Staff', field: 'jobTitle' }] })
      .thenThrows('invalid', /"KS5" is not one of the values of enum field "stage".*field "age" is number.*"jobTitle" already receives attribute "title"/);
  });
  it('group-rule fields are owned by the sync while it is connected', () => {
    const s = [...withFields, { type: 'MappingsChanged', data: { listId: 'l1', mappings: defaultMappings(), groupRules: [{ group: 'Year 7', field: 'cohort' }] } } as DomainEvent]
      .reduce((st, e) => listDecider.evolve(st, e), listDecider.initialState());
    expect(syncedFieldKeys(s).has('cohort')).toBe(true);
    expect(syncedFieldKeys(s).has('age')).toBe(false);
  });
});

describe('remap in the person decider', () => {
  const given = spec(personDecider);
  const provisioned: DomainEvent = { type: 'PersonProvisioned', data: { personId: 'p1', listId: 'l1', scim: { userName: 'a' }, fields: { firstName: 'Ann', nickname: 'local' }, status: 'active', fieldChanges: [] } };
  it('changes only the fields it is given, marked with its cause', () => {
    given([provisioned]).when({ type: 'Remap', fields: { cohort: 'Year 7' }, cause: 'group-rule' })
      .then([{ type: 'AttributesChanged', data: { personId: 'p1', listId: 'l1', scimChanges: [], fields: { firstName: 'Ann', nickname: 'local', cohort: 'Year 7' }, fieldChanges: [{ field: 'cohort', old: null, new: 'Year 7' }], cause: 'group-rule' } }]);
  });
  it('clears a field given null, and appends nothing when nothing changes', () => {
    const withCohort: DomainEvent = { type: 'AttributesChanged', data: { personId: 'p1', listId: 'l1', scimChanges: [], fields: { firstName: 'Ann', nickname: 'local', cohort: 'Year 7' }, fieldChanges: [], cause: 'group-rule' } };
    given([provisioned, withCohort]).when({ type: 'Remap', fields: { cohort: null }, cause: 'group-rule' })
      .thenMatches((ev) => expect(ev[0]).toMatchObject({ data: { fields: { firstName: 'Ann', nickname: 'local' }, fieldChanges: [{ field: 'cohort', old: 'Year 7', new: null }] } }));
    given([provisioned]).when({ type: 'Remap', fields: { firstName: 'Ann' }, cause: 'remap' }).then([]);
  });
  it('never rewrites a person the IdP deleted (unlinked): they keep the values they left with', () => {
    const unlinked: DomainEvent = { type: 'PersonUnlinked', data: { personId: 'p1', listId: 'l1', wasActive: true } };
    given([provisioned, unlinked]).when({ type: 'Remap', fields: { firstName: 'Annie' }, cause: 'remap' }).then([]);
    given([provisioned, unlinked]).when({ type: 'Remap', fields: { cohort: 'Year 8' }, cause: 'group-rule' }).then([]);
  });
  it('a person that does not exist is not found', () => {
    given([]).when({ type: 'Remap', fields: { cohort: 'x' }, cause: 'group-rule' }).thenThrows('not_found');
  });
});
