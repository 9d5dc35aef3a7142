/**
 * Which parts of which events are personal data, and whose: the table the event store's
 * personal-data layer (`@muster/personal-data`) seals with each person's data key before an event is
 * appended, and opens when it is read. Everything not named here stays in clear (ids, types,
 * statuses, positions, field keys, SCIM attribute names, the actor, the IdP), so the log can be
 * verified, counted and replayed without keys.
 *
 * A slot is a path into the event's data: a key, `*` (every value of an object, keys kept in
 * clear), `[]` (every element of an array). A section is where one subject's slots hang: the data
 * itself, or each element of an array in it (a session's copies, a changeset's changes), with the
 * subject read from that node. A node whose subject is unknown (null) is sealed under `fallback`.
 *
 * Decisions: group display names are the names of classes, teams and departments, not of people,
 * and stay in clear; a group-name reservation likewise. A CSV import's faulty cells are sealed under
 * the import's own key (a faulty row may not be a person), shredded with its list. A failed SCIM
 * request's error detail is sealed under the person it concerns, else the list's key.
 */
export interface PersonalSection {
  /** path to an array whose elements are sections; empty: the data is the section */
  at: string[];
  /** the subject of a section node (a person id, `import-…`, `list-…`), null when unknown */
  subject: (node: Record<string, unknown>, data: Record<string, unknown>) => string | null;
  /** slots under the section node */
  slots: Slot[];
}

export type Slot = { path: string[]; except?: readonly string[] };

/** SCIM attributes that never hold personal data (kept in clear so `active` still reads after an erasure) */
const SCIM_CLEAR = ['schemas', 'id', 'active', 'meta'] as const;

const personOf = (node: Record<string, unknown>) => (typeof node.personId === 'string' ? node.personId : null);
const changes = (name: string): Slot[] => [{ path: [name, '[]', 'old'] }, { path: [name, '[]', 'new'] }];
const personSlots: Slot[] = [{ path: ['scim', '*'], except: SCIM_CLEAR }, { path: ['fields', '*'] }, ...changes('fieldChanges'), ...changes('scimChanges')];
const person: PersonalSection[] = [{ at: [], subject: personOf, slots: personSlots }];

export const personalData: Partial<Record<string, PersonalSection[]>> = {
  PersonProvisioned: person,
  PersonCreated: person,
  AttributesChanged: person,
  Deactivated: person,
  Reactivated: person,
  PersonRelinked: person,
  ValueReserved: [{ at: [], subject: (n) => (n.kind === 'groupName' ? null : String(n.ownerId)), slots: [{ path: ['value'] }] }],
  ValueReleased: [{ at: [], subject: (n) => (n.kind === 'groupName' ? null : String(n.ownerId)), slots: [{ path: ['value'] }] }],
  ScimRequestLogged: [{
    at: [],
    subject: (n) => (n.resourceType === 'User' && typeof n.resourceId === 'string' ? n.resourceId : `list-${String(n.listId)}`),
    slots: [{ path: ['error', 'detail'] }],
  }],
  SessionPeopleCopied: [{ at: ['people'], subject: personOf, slots: [{ path: ['fields', '*'] }] }],
  SessionPersonEdited: [{ at: [], subject: personOf, slots: changes('fieldChanges') }],
  ChangesProposed: [{
    at: ['changes'], subject: personOf,
    slots: [{ path: ['fields', '[]', 'base'] }, { path: ['fields', '[]', 'master'] }, { path: ['fields', '[]', 'proposed'] }],
  }],
  ChangesRereviewed: [{ at: ['changes'], subject: personOf, slots: [{ path: ['fields', '[]', 'master'] }] }],
  ChangesApplied: [{ at: ['stale'], subject: personOf, slots: [{ path: ['master'] }] }],
  ImportErrorsFound: [{ at: ['errors'], subject: (_n, d) => `import-${String(d.importId)}`, slots: [{ path: ['value'] }] }],
  EntraUserFailed: [{ at: [], subject: (n) => personOf(n) ?? `list-${String(n.listId)}`, slots: [{ path: ['error', 'message'] }] }],
};

/** what a reader gets in place of a personal value whose key is gone */
export const ERASED = '[erased]';
/** what the stored event holds in place of a personal value (its value is in the section's ciphertext) */
export const SEALED = '[sealed]';
/** the key under which a section's ciphertext is stored, beside its clear data */
export const SEALED_KEY = 'sealed';
