/** Test fixtures: a realistic mix of events and a dump of the read models to compare states. */
import { randomUUID } from 'node:crypto';
import { streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { changesetDecider, changeIdAt, fold, reviewPerson, sessionDecider, type ChangesetCommand, type Roster } from '@muster/domain';
import type { Doc, ReadStore } from '@muster/read-store';
import { READ_MODELS, collectionNames } from '@muster/read-models';

let clock = Date.parse('2025-01-01T00:00:00Z');

function ctx(source: 'scim' | 'admin-api'): CommandContext {
  clock += 1_000;
  return {
    actor: source === 'scim' ? { kind: 'scim-token', id: 'tok-1' } : { kind: 'admin', id: 'adm-1' },
    source: source === 'scim' ? { kind: 'scim', idp: 'okta', method: 'POST', path: '/scim/v2/Users', requestId: randomUUID() } : { kind: 'admin-api' },
    correlationId: randomUUID(), now: new Date(clock), newId: randomUUID,
  };
}

async function put(store: EventStore, stream: string, events: DomainEvent[], source: 'scim' | 'admin-api' = 'scim') {
  return store.appendToStream(stream, toNewEvents(events, ctx(source)), { expectedRevision: 'any' });
}

const scimUser = (n: number, active = true) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user${n}@example.org`, active,
  emails: [{ value: `user${n}@example.org`, primary: true }], externalId: `ext-${n}`,
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: `E${n}` },
});
const fieldsOf = (n: number, extra: Record<string, unknown> = {}) => ({ firstName: `First${n}`, lastName: `Last${n}`, email: `user${n}@example.org`, employeeNumber: `E${n}`, ...extra });

/**
 * Appends one round of every kind of event the projector handles (organisation, admin token, list,
 * SCIM connection, tokens, people through their whole life cycle, groups, the SCIM request log).
 * Returns the ids it used.
 */
export async function appendScenario(store: EventStore, round = 0) {
  const orgId = `org-${round}`;
  const listId = `list-${round}`;
  await put(store, streams.organisation(orgId), [{ type: 'OrganisationCreated', data: { orgId, name: `Org ${round}`, plan: 'enterprise' } }], 'admin-api');
  await put(store, streams.adminToken(`adm-${round}`), [{ type: 'AdminTokenIssued', data: { tokenId: `adm-${round}`, orgId, role: 'auditor', hash: 'h'.repeat(64), prefix: 'mat_abcd' } }], 'admin-api');
  await put(store, streams.list(listId), [{ type: 'ListCreated', data: { listId, orgId, name: `List ${round}` } }], 'admin-api');
  await put(store, streams.list(listId), [
    { type: 'FieldAdded', data: { listId, field: { key: 'department', label: 'Department', type: 'text', required: false, multiValued: false } } },
    { type: 'ScimConnected', data: { listId, uniqueIdentifier: 'employeeNumber', fieldsAdded: [], mappings: [] } },
  ], 'admin-api');
  await put(store, streams.scimTokens(listId), [{ type: 'ScimTokenIssued', data: { listId, tokenId: `tok-${round}`, hash: 'x'.repeat(64), prefix: 'sct_abcd', expiresAt: null } }], 'admin-api');
  const people = [0, 1, 2, 3, 4].map((i) => `p-${round}-${i}`);
  for (const [i, personId] of people.entries()) {
    await put(store, streams.person(personId), [{ type: 'PersonProvisioned', data: { personId, listId, scim: scimUser(i), fields: fieldsOf(i), status: i === 4 ? 'inactive' : 'active', fieldChanges: [] } }]);
  }
  await put(store, streams.person(people[0]), [{ type: 'AttributesChanged', data: { personId: people[0], listId, scim: scimUser(0), scimChanges: [], fields: fieldsOf(0, { department: 'Engines' }), fieldChanges: [], cause: 'idp' } }]);
  await put(store, streams.person(people[1]), [{ type: 'Deactivated', data: { personId: people[1], listId, scimChanges: [], fieldChanges: [] } }]);
  await put(store, streams.person(people[1]), [{ type: 'Reactivated', data: { personId: people[1], listId, scimChanges: [], fieldChanges: [] } }]);
  await put(store, streams.person(people[2]), [{ type: 'Deactivated', data: { personId: people[2], listId, scim: scimUser(2, false), scimChanges: [], fieldChanges: [] } }]);
  await put(store, streams.person(people[3]), [{ type: 'PersonUnlinked', data: { personId: people[3], listId, wasActive: true } }]);
  await put(store, streams.person(people[3]), [{ type: 'PersonRelinked', data: { personId: people[3], listId, scim: scimUser(3), fields: fieldsOf(3), fieldChanges: [] } }]);
  const manual = `p-${round}-manual`;
  await put(store, streams.person(manual), [{ type: 'PersonCreated', data: { personId: manual, listId, fields: { firstName: 'Manual', lastName: 'Entry' }, fieldChanges: [] } }], 'admin-api');
  const g1 = `g-${round}-1`;
  const g2 = `g-${round}-2`;
  await put(store, streams.group(g1), [{ type: 'GroupCreated', data: { groupId: g1, listId, displayName: 'Engineers', members: [people[0], people[1]] } }]);
  await put(store, streams.group(g2), [{ type: 'GroupCreated', data: { groupId: g2, listId, displayName: 'Temp', members: [people[2]] } }]);
  await put(store, streams.group(g1), [{ type: 'GroupMembersChanged', data: { groupId: g1, listId, added: [people[2]], removed: [people[1]] } }]);
  await put(store, streams.group(g1), [{ type: 'GroupChanged', data: { groupId: g1, listId, displayName: 'Engineering', changes: [], added: [people[3]], removed: [people[0]] } }]);
  await put(store, streams.group(g2), [{ type: 'GroupDeleted', data: { groupId: g2, listId, members: [people[2]] } }]);
  await put(store, streams.scimLog(listId), [{ type: 'ScimRequestLogged', data: { listId, operation: 'UPDATE', status: 'SKIPPED', resourceType: 'User', resourceId: people[0] } }]);
  await put(store, `uniq-${listId}-employeeNumber-abc`, [{ type: 'ValueReserved', data: { listId, kind: 'employeeNumber', value: 'E0', ownerId: people[0] } }]);
  await put(store, streams.scimTokens(listId), [{ type: 'ScimTokenRevoked', data: { listId, tokenId: `tok-${round}`, reason: 'revoked' } }], 'admin-api');
  await put(store, streams.organisation(orgId), [{ type: 'OrganisationPlanChanged', data: { orgId, plan: 'pro' } }], 'admin-api');
  await sessionAndChangeset(store, round, listId, manual);
  return { orgId, listId, people, manual, groups: [g1, g2] };
}

/** a session of one person, an edit, its changeset through review, decisions, apply and rollback */
async function sessionAndChangeset(store: EventStore, round: number, listId: string, personId: string) {
  const sessionId = `s-${round}`;
  const base = { personId, revision: 0, status: 'active' as const, linked: false, fields: { firstName: 'Manual', lastName: 'Entry' }, createdAt: '2025-01-01T00:00:00.000Z' };
  const session: DomainEvent[] = sessionDecider.decide({ type: 'CreateSession', sessionId, listId, name: 'Photo day', filter: {}, snapshotPosition: 1, people: [base] }, sessionDecider.initialState());
  session.push(...sessionDecider.decide({ type: 'EditSessionPerson', personId, fields: { lastName: 'Edited' } }, fold(sessionDecider, session)));
  for (const e of session) await put(store, streams.session(sessionId), [e], 'admin-api');
  const changesetId = `cs-${round}`;
  const roster: Roster = { people: new Map([[personId, { revision: 0, status: 'active', linked: false, fields: base.fields }]]), position: 2, syncedFields: new Set(), provider: null };
  const change = reviewPerson(personId, base, { fields: { ...base.fields, lastName: 'Edited' }, status: 'active' }, roster.people.get(personId)!, roster)!;
  const commands: ChangesetCommand[] = [
    { type: 'OpenChangeset', changesetId, listId, origin: { kind: 'session', id: sessionId }, basePosition: 1, reviewedPosition: 2, changes: [{ id: changeIdAt(0), ...change }] },
    { type: 'DecideAll', decision: 'approve' },
    { type: 'ApplyChangeset', roster },
    { type: 'RecordApplied', applied: [{ changeId: changeIdAt(0), personId, revision: 1 }], stale: [] },
    { type: 'FinishApply' },
  ];
  const events: DomainEvent[] = [];
  for (const c of commands) {
    const decided = changesetDecider.decide(c, fold(changesetDecider, events));
    events.push(...decided);
    await put(store, streams.changeset(changesetId), decided, 'admin-api');
  }
  await store.appendToStream(streams.person(personId), toNewEvents([{ type: 'AttributesChanged', data: { personId, listId, scimChanges: [], fields: { firstName: 'Manual', lastName: 'Edited' }, fieldChanges: [{ field: 'lastName', old: 'Entry', new: 'Edited' }], cause: 'changeset' } }], { ...ctx('admin-api'), correlationId: changesetId }), { expectedRevision: 'any' });
}

/** every read model document, sorted, keyed by model (the checkpoint is left out) */
export async function dumpReadModels(readStore: ReadStore, prefix = ''): Promise<Record<string, Doc[]>> {
  const names = collectionNames(prefix);
  const out: Record<string, Doc[]> = {};
  for (const m of READ_MODELS) out[m] = await readStore.collection(names[m]).find({}, { sort: { _id: 1 } });
  return out;
}
