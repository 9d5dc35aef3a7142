import { isPersonEvent } from '@muster/contracts';
import type { AttributeChange, DomainEvent, FieldChange, PersonStatus } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';
import { isEmptyValue, sameValue } from './values.ts';

export type Fields = Record<string, unknown>;
export type ScimResource = Record<string, unknown>;

export interface PersonState {
  exists: boolean;
  personId: string;
  listId: string;
  status: PersonStatus;
  /** linked to a SCIM resource (the SCIM id is the person id); false after a SCIM DELETE */
  linked: boolean;
  scim: ScimResource | null;
  fields: Fields;
  /** the person's personal data was erased: nothing is written to this stream again */
  erased?: boolean;
}

export type PersonCommand =
  | { type: 'Provision'; personId: string; listId: string; scim: ScimResource; fields: Fields }
  | { type: 'ScimUpdate'; scim: ScimResource; scimChanges: AttributeChange[]; fields: Fields }
  | { type: 'Unlink' }
  | { type: 'CreatePerson'; personId: string; listId: string; fields: Fields; cause?: 'changeset' }
  /**
   * lockedFields: field → who owns it on this person: the sync that feeds it through a mapping (its
   * name, e.g. "SCIM"), or a group rule of that sync (`{ sync, by: 'group-rule' }`)
   */
  | { type: 'EditPerson'; changes: Fields; lockedFields: Record<string, string | { sync: string; by: 'group-rule' }> }
  | { type: 'SetStatus'; status: PersonStatus; syncProvider: string | null }
  | { type: 'Remap'; fields: Fields; cause: 'remap' | 'group-rule' }
  | ChangesetWrite
  | EntraUserSync
  | { type: 'Erase'; reason: string; trigger: 'request' | 'retention' | 'list-deleted' };

/**
 * What an Entra run wants for one user's person: the Graph object as now known (`user`, the sync
 * anchor is its id), the mapped fields, and whether the person should be active (in a scoped group,
 * enabled, not deleted). `gone`: Entra deleted the user for good (the person is unlinked, inactive,
 * and never brought back by a later run).
 */
export interface EntraUserSync {
  type: 'SyncEntraUser';
  personId: string;
  listId: string;
  user: ScimResource;
  fields: Fields;
  active: boolean;
  gone?: boolean;
}

/** changes between two Graph objects, by property (one level into complex properties such as onPremisesExtensionAttributes) */
export function graphChanges(before: ScimResource, after: ScimResource): AttributeChange[] {
  const out: AttributeChange[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const k of keys) {
    const a = before[k] ?? null;
    const b = after[k] ?? null;
    if (sameValue(a, b)) continue;
    const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
    if (isObj(a) && isObj(b)) {
      for (const sub of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!sameValue(a[sub] ?? null, b[sub] ?? null)) out.push({ path: `${k}.${sub}`, old: a[sub] ?? null, new: b[sub] ?? null });
      }
    } else out.push({ path: k, old: a, new: b });
  }
  return out;
}

function decideEntraSync(cmd: EntraUserSync, s: PersonState): DomainEvent[] {
  if (!s.exists) {
    // a person is created for a user in scope only; a deleted or out-of-scope user never becomes one
    if (!cmd.active || cmd.gone) return [];
    const fieldChanges = fieldChangesOf({}, cmd.fields);
    return [{ type: 'PersonProvisioned', data: { personId: cmd.personId, listId: cmd.listId, scim: cmd.user, fields: applyFieldChanges({}, fieldChanges), status: 'active', fieldChanges } }];
  }
  if (s.listId !== cmd.listId) throw conflict('this person belongs to another list');
  // deleted for good earlier: never reactivated
  if (!s.linked) return [];
  if (cmd.gone) return [{ type: 'PersonUnlinked', data: { personId: s.personId, listId: s.listId, wasActive: s.status === 'active' } }];
  const fieldChanges = fieldChangesOf(s.fields, cmd.fields);
  const fields = applyFieldChanges(s.fields, fieldChanges);
  const scimChanges = graphChanges(s.scim ?? {}, cmd.user);
  const base = { personId: s.personId, listId: s.listId, scim: cmd.user, scimChanges, fields, fieldChanges };
  if (s.status === 'active' && !cmd.active) return [{ type: 'Deactivated', data: { ...base, cause: 'idp' } }];
  if (s.status === 'inactive' && cmd.active) return [{ type: 'Reactivated', data: { ...base, cause: 'idp' } }];
  if (!scimChanges.length && !fieldChanges.length) return [];
  return [{ type: 'AttributesChanged', data: { ...base, cause: 'idp' } }];
}

/**
 * A changeset's write to one person (apply, or rollback): each field from the value it is expected
 * to hold to a new one, and the status. A field holding neither (someone changed it since) is
 * stale: the whole write is refused (`partial: false`, apply) or that field is kept (`partial:
 * true`, rollback) unless it is forced.
 */
export interface ChangesetWrite {
  type: 'WriteChangeset';
  fields: Array<{ field: string; expect: unknown; value: unknown }>;
  status: { expect: PersonStatus | null; value: PersonStatus } | null;
  cause: 'changeset' | 'changeset-rollback';
  partial: boolean;
  force?: ReadonlySet<string>;
}

/** the fields of a changeset write that changed since (neither the expected nor the new value) */
export function staleWrites(s: PersonState, cmd: Pick<ChangesetWrite, 'fields' | 'force'>): Array<{ field: string; current: unknown }> {
  const stale: Array<{ field: string; current: unknown }> = [];
  for (const w of cmd.fields) {
    const now = Object.hasOwn(s.fields, w.field) ? s.fields[w.field] : null;
    if (!same(now, w.value) && !same(now, w.expect) && !cmd.force?.has(w.field)) stale.push({ field: w.field, current: now ?? null });
  }
  return stale;
}

function decideChangesetWrite(cmd: ChangesetWrite, s: PersonState): DomainEvent[] {
  if (!s.exists) throw notFound('person not found');
  const stale = staleWrites(s, cmd);
  if (stale.length && !cmd.partial) throw conflict('the roster moved on this person since the review', { stale });
  const skip = new Set(stale.map((x) => x.field));
  const next: Fields = {};
  for (const w of cmd.fields) if (!skip.has(w.field)) next[w.field] = w.value;
  const fieldChanges = fieldChangesOf(s.fields, next);
  const events: DomainEvent[] = [];
  const fields = applyFieldChanges(s.fields, fieldChanges);
  if (fieldChanges.length) events.push({ type: 'AttributesChanged', data: { personId: s.personId, listId: s.listId, scimChanges: [], fields, fieldChanges, cause: cmd.cause } });
  // binary: a status that is not the new one is the expected one
  if (cmd.status && cmd.status.value !== s.status) {
    const data = { personId: s.personId, listId: s.listId, scimChanges: [], fieldChanges: [], cause: cmd.cause };
    events.push(cmd.status.value === 'inactive' ? { type: 'Deactivated', data } : { type: 'Reactivated', data });
  }
  return events;
}

export const initialPersonState = (): PersonState => ({
  exists: false, personId: '', listId: '', status: 'active', linked: false, scim: null, fields: {},
});

const isEmpty = isEmptyValue;
const same = sameValue;

/** Changes from `before` to the mapped `next` values: only keys present in `next` are considered. */
export function fieldChangesOf(before: Fields, next: Fields): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const [field, value] of Object.entries(next)) {
    // own values only: an unset field named "toString" or "constructor" is unset, not Object.prototype's
    const old = Object.hasOwn(before, field) ? before[field] : undefined;
    if (!same(old, value)) changes.push({ field, old: old ?? null, new: isEmpty(value) ? null : value });
  }
  return changes;
}

export function applyFieldChanges(fields: Fields, changes: FieldChange[]): Fields {
  const out = { ...fields };
  for (const c of changes) {
    if (isEmpty(c.new)) delete out[c.field];
    else out[c.field] = c.new;
  }
  return out;
}

function scimActive(scim: ScimResource): boolean {
  return scim.active !== false;
}

export const personDecider: Decider<PersonCommand, PersonState> = {
  initialState: initialPersonState,
  decide(cmd, s): DomainEvent[] {
    if (s.erased) {
      // a sync or remap passing by changes nothing (an Entra user erased here stays so until Entra deletes them)
      if (cmd.type === 'Erase' || cmd.type === 'SyncEntraUser' || cmd.type === 'Remap') return [];
      throw new DomainError('not_found', 'person not found: their personal data was erased');
    }
    switch (cmd.type) {
      case 'Erase':
        if (!s.exists) throw notFound('person not found');
        return [{ type: 'PersonErased', data: { personId: s.personId, listId: s.listId, reason: cmd.reason, trigger: cmd.trigger } }];
      case 'Provision': {
        const status: PersonStatus = scimActive(cmd.scim) ? 'active' : 'inactive';
        if (!s.exists) {
          const fieldChanges = fieldChangesOf({}, cmd.fields);
          return [{ type: 'PersonProvisioned', data: { personId: cmd.personId, listId: cmd.listId, scim: cmd.scim, fields: applyFieldChanges({}, fieldChanges), status, fieldChanges } }];
        }
        if (s.linked) throw conflict('a person with this identity is already provisioned', { personId: s.personId });
        const fieldChanges = fieldChangesOf(s.fields, cmd.fields);
        return [{ type: 'PersonRelinked', data: { personId: s.personId, listId: s.listId, scim: cmd.scim, fields: applyFieldChanges(s.fields, fieldChanges), fieldChanges } }];
      }
      case 'ScimUpdate': {
        if (!s.exists || !s.linked) throw notFound('person not found');
        const fieldChanges = fieldChangesOf(s.fields, cmd.fields);
        const fields = applyFieldChanges(s.fields, fieldChanges);
        const base = { personId: s.personId, listId: s.listId, scim: cmd.scim, scimChanges: cmd.scimChanges, fields, fieldChanges };
        const nowActive = scimActive(cmd.scim);
        if (s.status === 'active' && !nowActive) return [{ type: 'Deactivated', data: base }];
        if (s.status === 'inactive' && nowActive) return [{ type: 'Reactivated', data: base }];
        if (cmd.scimChanges.length === 0 && fieldChanges.length === 0) return [];
        return [{ type: 'AttributesChanged', data: { ...base, cause: 'idp' } }];
      }
      case 'Unlink':
        if (!s.exists || !s.linked) throw notFound('person not found');
        return [{ type: 'PersonUnlinked', data: { personId: s.personId, listId: s.listId, wasActive: s.status === 'active' } }];
      case 'CreatePerson':
        if (s.exists) throw conflict('person already exists');
        {
          const fieldChanges = fieldChangesOf({}, cmd.fields);
          return [{ type: 'PersonCreated', data: { personId: cmd.personId, listId: cmd.listId, fields: applyFieldChanges({}, fieldChanges), fieldChanges, ...(cmd.cause ? { cause: cmd.cause } : {}) } }];
        }
      case 'EditPerson': {
        if (!s.exists) throw notFound('person not found');
        const locked = Object.keys(cmd.changes).filter((k) => Object.hasOwn(cmd.lockedFields, k));
        const byRule = locked.filter((k) => typeof cmd.lockedFields[k] === 'object');
        if (byRule.length) {
          const owner = cmd.lockedFields[byRule[0]] as { sync: string };
          throw new DomainError('locked', `field${byRule.length > 1 ? 's' : ''} ${byRule.map((k) => `"${k}"`).join(', ')} ${byRule.length > 1 ? 'are' : 'is'} set by a group rule from the person's ${owner.sync} groups and cannot be edited here; change the person's groups in the identity provider, or the rule under Configure Mappings`, { fields: byRule, sync: owner.sync, groupRule: true });
        }
        if (locked.length) {
          const owners = [...new Set(locked.map((k) => cmd.lockedFields[k]))].join(', ');
          throw new DomainError('locked', `field${locked.length > 1 ? 's' : ''} ${locked.map((k) => `"${k}"`).join(', ')} ${locked.length > 1 ? 'are' : 'is'} owned by the ${owners} sync and cannot be edited here; change it in the identity provider`, { fields: locked, sync: owners });
        }
        const fieldChanges = fieldChangesOf(s.fields, cmd.changes);
        if (!fieldChanges.length) return [];
        return [{ type: 'AttributesChanged', data: { personId: s.personId, listId: s.listId, scimChanges: [], fields: applyFieldChanges(s.fields, fieldChanges), fieldChanges, cause: 'admin' } }];
      }
      case 'SetStatus': {
        if (!s.exists) throw notFound('person not found');
        // a synced person is deactivated by the IdP only; reactivating one by hand is allowed (the
        // seeds' "switch the status filter to Inactive and reactivate them"), marked as the admin's
        if (cmd.syncProvider && s.linked && cmd.status === 'inactive') throw new DomainError('locked', `status is owned by the ${cmd.syncProvider} sync; deactivate the person in the identity provider`, { sync: cmd.syncProvider });
        if (cmd.status === s.status) return [];
        const data = { personId: s.personId, listId: s.listId, scimChanges: [], fieldChanges: [], ...(cmd.syncProvider && s.linked ? { cause: 'admin' as const } : {}) };
        return [cmd.status === 'inactive' ? { type: 'Deactivated', data } : { type: 'Reactivated', data }];
      }
      case 'Remap': {
        if (!s.exists) throw notFound('person not found');
        // a person the IdP deleted (unlinked) keeps the values it had when it left
        if (!s.linked) return [];
        const fieldChanges = fieldChangesOf(s.fields, cmd.fields);
        if (!fieldChanges.length) return [];
        return [{ type: 'AttributesChanged', data: { personId: s.personId, listId: s.listId, scimChanges: [], fields: applyFieldChanges(s.fields, fieldChanges), fieldChanges, cause: cmd.cause } }];
      }
      case 'WriteChangeset':
        return decideChangesetWrite(cmd, s);
      case 'SyncEntraUser':
        return decideEntraSync(cmd, s);
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): PersonState {
    if (!isPersonEvent(e)) return s; // an event of another stream kind changes nothing here
    switch (e.type) {
      case 'PersonProvisioned':
        return { exists: true, personId: e.data.personId, listId: e.data.listId, status: e.data.status, linked: true, scim: e.data.scim, fields: e.data.fields };
      case 'PersonCreated':
        return { exists: true, personId: e.data.personId, listId: e.data.listId, status: 'active', linked: false, scim: null, fields: e.data.fields };
      case 'PersonRelinked':
        return { ...s, linked: true, scim: e.data.scim, fields: e.data.fields, status: e.data.scim.active === false ? 'inactive' : 'active' };
      case 'AttributesChanged':
        return { ...s, scim: e.data.scim ?? s.scim, fields: e.data.fields };
      case 'Deactivated':
        return { ...s, status: 'inactive', scim: e.data.scim ?? (s.scim ? { ...s.scim, active: false } : s.scim), fields: e.data.fields ?? s.fields };
      case 'Reactivated':
        return { ...s, status: 'active', scim: e.data.scim ?? (s.scim ? { ...s.scim, active: true } : s.scim), fields: e.data.fields ?? s.fields };
      case 'PersonUnlinked':
        return { ...s, linked: false, status: 'inactive' };
      case 'PersonErased':
        return { ...initialPersonState(), personId: s.personId, listId: s.listId, status: 'inactive', erased: true };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
