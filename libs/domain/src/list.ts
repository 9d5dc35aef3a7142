import { isListEvent } from '@muster/contracts';
import type { DomainEvent, EntraSchedule, FieldMapping, GroupRule, SchemaField, UniqueIdentifier, SyncProvider } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, invalid, notFound } from './errors.ts';
import { DEFAULT_FIELDS, defaultMappings, entraDefaultMappings } from './defaults.ts';

export interface ListState {
  exists: boolean;
  listId: string;
  orgId: string;
  name: string;
  description?: string;
  fields: SchemaField[];
  sync: null | { provider: SyncProvider; uniqueIdentifier?: UniqueIdentifier; connectedAt: number; entra?: EntraSettings };
  /** true once a sync was connected and later disconnected */
  everConnected: boolean;
  mappings: FieldMapping[];
  groupRules: GroupRule[];
  /** MappingsChanged events so far (the version of the current mappings) */
  mappingsVersion: number;
  /** the highest mappings version a finished remap run has applied to everyone (RemapCompleted) */
  remappedVersion: number;
  /** RetentionSet: inactive people are erased after this many days (null: kept) */
  retentionDays?: number | null;
  /** deleted (ListArchived): read-only; its people erased after `eraseAfter`, then `erased` */
  archived?: { eraseAfter: string; erased: boolean } | null;
}

/** What an Entra connection pulls, and when (the client secret is not here: it is sealed in the entra-sync service's secret store). */
export interface EntraSettings {
  tenantId: string;
  clientId: string;
  groupIds: string[];
  extensionAttributes: string[];
  schedule: EntraSchedule;
  deactivationThreshold: number | null;
  /** EntraSecretSet events since the connection (a new secret drops cached tokens) */
  secretVersion: number;
}

export type ListCommand =
  | { type: 'CreateList'; listId: string; orgId: string; name: string; description?: string }
  | { type: 'UpdateList'; name?: string; description?: string }
  | { type: 'AddField'; field: SchemaField }
  | { type: 'ConnectScim'; uniqueIdentifier: UniqueIdentifier; now: number; knownSource?: (source: string) => boolean }
  | { type: 'DisconnectScim' }
  | {
    type: 'ConnectEntra'; tenantId: string; clientId: string; groupIds: string[]; uniqueIdentifier: UniqueIdentifier;
    extensionAttributes: string[]; schedule: EntraSchedule; deactivationThreshold: number | null;
    /** whether a mapping source is an Entra attribute (mappings of another provider are replaced by the Entra defaults) */
    knownSource: (source: string) => boolean;
  }
  | { type: 'ChangeEntraSettings'; groupIds?: string[]; extensionAttributes?: string[]; schedule?: EntraSchedule; deactivationThreshold?: number | null }
  | { type: 'SetEntraSecret' }
  | { type: 'DisconnectEntra' }
  | { type: 'SetMappings'; mappings: FieldMapping[]; groupRules: GroupRule[]; knownSources: (source: string) => boolean }
  /** a remap run has re-derived everyone under mappings version `mappingsVersion` */
  | { type: 'CompleteRemap'; mappingsVersion: number; remapped: number }
  | { type: 'RemoveField'; key: string }
  | { type: 'SetRetention'; inactiveDays: number | null }
  | { type: 'ArchiveList'; eraseAfter: string }
  | { type: 'MarkListErased'; people: number };

export const initialListState = (): ListState => ({
  exists: false, listId: '', orgId: '', name: '', fields: [], sync: null, everConnected: false, mappings: [], groupRules: [],
  mappingsVersion: 0, remappedVersion: 0,
});

/** whether a mappings change has not yet been re-applied to everyone on the list */
export const remapPending = (s: ListState): boolean => s.mappingsVersion > s.remappedVersion;

/** Fields owned by the list's sync: targets of enabled mappings or group rules while a sync is connected. */
export function syncedFieldKeys(state: ListState): Set<string> {
  if (!state.sync) return new Set();
  const keys = new Set<string>();
  for (const m of state.mappings) if (m.enabled) keys.add(m.field);
  for (const r of state.groupRules) keys.add(r.field);
  return keys;
}

export function validateMappings(
  fields: SchemaField[], mappings: FieldMapping[], groupRules: GroupRule[], knownSource: (s: string) => boolean,
): string[] {
  const errors: string[] = [];
  const fieldKeys = new Set(fields.map((f) => f.key));
  const targets = new Map<string, string>();
  mappings.forEach((m, i) => {
    if (!knownSource(m.source)) errors.push(`mappings[${i}]: unknown attribute "${m.source}"`);
    if (!fieldKeys.has(m.field)) errors.push(`mappings[${i}]: unknown field "${m.field}"`);
    if (m.enabled) {
      const prev = targets.get(m.field);
      if (prev !== undefined) errors.push(`mappings[${i}]: field "${m.field}" already receives "${prev}"; two sources cannot map into one field`);
      else targets.set(m.field, m.source);
    }
  });
  const byKey = new Map(fields.map((f) => [f.key, f]));
  groupRules.forEach((r, i) => {
    const f = byKey.get(r.field);
    if (!f) errors.push(`groupRules[${i}]: unknown field "${r.field}"`);
    else if (f.type === 'enum' && !(f.enumValues ?? []).includes(r.value ?? r.group)) errors.push(`groupRules[${i}]: "${r.value ?? r.group}" is not one of the values of enum field "${r.field}"`);
    else if (!['text', 'enum'].includes(f.type)) errors.push(`groupRules[${i}]: field "${r.field}" is ${f.type}; group rules write text into text or enum fields`);
    const src = targets.get(r.field);
    if (src !== undefined) errors.push(`groupRules[${i}]: field "${r.field}" already receives attribute "${src}"`);
  });
  return errors;
}

/**
 * Connecting a sync creates the 9 default fields that do not exist yet. Mappings an admin configured
 * (before a disconnect, or before connecting) are kept; default mappings are added for the default
 * fields this connection creates, unless something feeds those fields already.
 */
function connectionDefaults(s: ListState, defaults: FieldMapping[] = defaultMappings(), knownSource: (source: string) => boolean = () => true): { fieldsAdded: SchemaField[]; mappings: FieldMapping[] } {
  const existing = new Set(s.fields.map((f) => f.key));
  const fieldsAdded = DEFAULT_FIELDS.filter((f) => !existing.has(f.key));
  // mappings from another provider's attributes mean nothing to this one: its defaults replace them
  const kept = s.mappings.filter((m) => knownSource(m.source));
  const taken = new Set([...kept.filter((m) => m.enabled).map((m) => m.field), ...s.groupRules.map((r) => r.field)]);
  const added = new Set(fieldsAdded.map((f) => f.key));
  const mappings = kept.length > 0
    ? [...kept, ...defaults.filter((m) => (added.has(m.field) || kept.length < s.mappings.length) && !taken.has(m.field))]
    : defaults.filter((m) => !taken.has(m.field) || s.mappings.length === 0);
  return { fieldsAdded, mappings };
}

export const listDecider: Decider<ListCommand, ListState> = {
  initialState: initialListState,
  decide(cmd, s): DomainEvent[] {
    if (s.archived && !['ArchiveList', 'MarkListErased', 'CompleteRemap'].includes(cmd.type)) throw conflict('this list was deleted (archived): it cannot be changed');
    switch (cmd.type) {
      case 'RemoveField': {
        if (!s.exists) throw notFound('list not found');
        const field = s.fields.find((f) => f.key === cmd.key);
        if (!field) throw notFound(`field "${cmd.key}" is not on this list`);
        const users = [...s.mappings.filter((m) => m.field === cmd.key).map((m) => `the mapping from ${m.source}`), ...s.groupRules.filter((r) => r.field === cmd.key).map((r) => `the group rule for "${r.group}"`)];
        if (users.length) throw conflict(`field "${cmd.key}" is filled by ${users.join(', ')}; remove ${users.length > 1 ? 'them' : 'it'} under Configure Mappings first`, { usedBy: users });
        return [{ type: 'FieldRemoved', data: { listId: s.listId, key: cmd.key } }];
      }
      case 'SetRetention':
        if (!s.exists) throw notFound('list not found');
        return (s.retentionDays ?? null) === cmd.inactiveDays ? [] : [{ type: 'RetentionSet', data: { listId: s.listId, inactiveDays: cmd.inactiveDays } }];
      case 'ArchiveList':
        if (!s.exists) throw notFound('list not found');
        if (s.archived) return [];
        if (s.sync) throw conflict(`this list is synced by ${s.sync.provider.toUpperCase()}: disconnect it first, or delete with ?disconnect=true`, { sync: s.sync.provider });
        return [{ type: 'ListArchived', data: { listId: s.listId, eraseAfter: cmd.eraseAfter } }];
      case 'MarkListErased':
        if (!s.archived) throw conflict('only a deleted (archived) list is erased');
        return s.archived.erased ? [] : [{ type: 'ListErased', data: { listId: s.listId, people: cmd.people } }];
      case 'CreateList':
        if (s.exists) throw conflict(`list ${cmd.listId} already exists`);
        return [{ type: 'ListCreated', data: { listId: cmd.listId, orgId: cmd.orgId, name: cmd.name, description: cmd.description } }];
      case 'UpdateList': {
        if (!s.exists) throw notFound('list not found');
        const changed = (cmd.name !== undefined && cmd.name !== s.name) || (cmd.description !== undefined && cmd.description !== s.description);
        return changed ? [{ type: 'ListUpdated', data: { listId: s.listId, name: cmd.name, description: cmd.description } }] : [];
      }
      case 'AddField':
        if (!s.exists) throw notFound('list not found');
        if (s.fields.some((f) => f.key === cmd.field.key)) throw conflict(`field "${cmd.field.key}" already exists on this list`);
        return [{ type: 'FieldAdded', data: { listId: s.listId, field: cmd.field } }];
      case 'ConnectScim': {
        if (!s.exists) throw notFound('list not found');
        if (s.sync?.provider === 'scim') throw conflict('SCIM is already connected on this list');
        if (s.sync) throw conflict(`this list is synced by ${s.sync.provider}; one sync provider per list — disconnect it first`);
        const { fieldsAdded, mappings } = connectionDefaults(s, defaultMappings(), cmd.knownSource);
        return [{ type: 'ScimConnected', data: { listId: s.listId, uniqueIdentifier: cmd.uniqueIdentifier, fieldsAdded, mappings } }];
      }
      case 'ConnectEntra': {
        if (!s.exists) throw notFound('list not found');
        if (s.sync?.provider === 'entra') throw conflict('Entra directory sync is already connected on this list');
        if (s.sync) throw conflict(`this list is synced by ${s.sync.provider}; one sync provider per list — disconnect it first`);
        const { fieldsAdded, mappings } = connectionDefaults(s, entraDefaultMappings(), cmd.knownSource);
        return [{ type: 'EntraConnected', data: {
          listId: s.listId, tenantId: cmd.tenantId, clientId: cmd.clientId, groupIds: cmd.groupIds, uniqueIdentifier: cmd.uniqueIdentifier, fieldsAdded, mappings,
          extensionAttributes: cmd.extensionAttributes, schedule: cmd.schedule, deactivationThreshold: cmd.deactivationThreshold,
        } }];
      }
      case 'ChangeEntraSettings': {
        if (!s.exists) throw notFound('list not found');
        const e = s.sync?.entra;
        if (s.sync?.provider !== 'entra' || !e) throw conflict('Entra directory sync is not connected on this list');
        const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
        const data: Extract<DomainEvent, { type: 'EntraSettingsChanged' }>['data'] = { listId: s.listId };
        if (cmd.groupIds !== undefined && !same([...cmd.groupIds].sort(), [...e.groupIds].sort())) data.groupIds = cmd.groupIds;
        if (cmd.extensionAttributes !== undefined && !same(cmd.extensionAttributes, e.extensionAttributes)) data.extensionAttributes = cmd.extensionAttributes;
        if (cmd.schedule !== undefined && !same(cmd.schedule, e.schedule)) data.schedule = cmd.schedule;
        if (cmd.deactivationThreshold !== undefined && cmd.deactivationThreshold !== e.deactivationThreshold) data.deactivationThreshold = cmd.deactivationThreshold;
        return Object.keys(data).length > 1 ? [{ type: 'EntraSettingsChanged', data }] : [];
      }
      case 'SetEntraSecret':
        if (!s.exists) throw notFound('list not found');
        if (s.sync?.provider !== 'entra') throw conflict('Entra directory sync is not connected on this list');
        return [{ type: 'EntraSecretSet', data: { listId: s.listId } }];
      case 'DisconnectEntra':
        if (!s.exists) throw notFound('list not found');
        if (s.sync?.provider !== 'entra') throw conflict('Entra directory sync is not connected on this list');
        return [{ type: 'EntraDisconnected', data: { listId: s.listId } }];
      case 'DisconnectScim':
        if (!s.exists) throw notFound('list not found');
        if (s.sync?.provider !== 'scim') throw conflict('SCIM is not connected on this list');
        return [{ type: 'ScimDisconnected', data: { listId: s.listId } }];
      case 'SetMappings': {
        if (!s.exists) throw notFound('list not found');
        const errors = validateMappings(s.fields, cmd.mappings, cmd.groupRules, cmd.knownSources);
        if (errors.length) throw invalid(errors.join('; '), { errors });
        if (JSON.stringify(cmd.mappings) === JSON.stringify(s.mappings) && JSON.stringify(cmd.groupRules) === JSON.stringify(s.groupRules)) return [];
        return [{ type: 'MappingsChanged', data: { listId: s.listId, mappings: cmd.mappings, groupRules: cmd.groupRules } }];
      }
      case 'CompleteRemap':
        if (!s.exists) throw notFound('list not found');
        if (cmd.mappingsVersion > s.mappingsVersion) throw invalid(`mappings version ${cmd.mappingsVersion} does not exist (current ${s.mappingsVersion})`);
        // a later run already covered it (or an earlier version finishing late): nothing to record
        if (cmd.mappingsVersion <= s.remappedVersion) return [];
        return [{ type: 'RemapCompleted', data: { listId: s.listId, mappingsVersion: cmd.mappingsVersion, remapped: cmd.remapped } }];
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): ListState {
    if (!isListEvent(e)) return s; // an event of another stream kind changes nothing here
    switch (e.type) {
      case 'ListCreated':
        return { ...s, exists: true, listId: e.data.listId, orgId: e.data.orgId, name: e.data.name, description: e.data.description };
      case 'ListUpdated':
        return { ...s, name: e.data.name ?? s.name, description: e.data.description ?? s.description };
      case 'FieldAdded':
        return { ...s, fields: [...s.fields, e.data.field] };
      case 'ScimConnected':
        return {
          ...s, fields: [...s.fields, ...e.data.fieldsAdded], mappings: e.data.mappings,
          sync: { provider: 'scim', uniqueIdentifier: e.data.uniqueIdentifier, connectedAt: 0 }, everConnected: true,
        };
      case 'ScimDisconnected':
      case 'EntraDisconnected':
        return { ...s, sync: null };
      case 'EntraConnected':
        return {
          ...s, fields: [...s.fields, ...e.data.fieldsAdded], mappings: e.data.mappings,
          sync: {
            provider: 'entra', uniqueIdentifier: e.data.uniqueIdentifier, connectedAt: 0,
            entra: {
              tenantId: e.data.tenantId, clientId: e.data.clientId, groupIds: e.data.groupIds, extensionAttributes: e.data.extensionAttributes ?? [],
              schedule: e.data.schedule ?? null, deactivationThreshold: e.data.deactivationThreshold === undefined ? 0.2 : e.data.deactivationThreshold, secretVersion: 0,
            },
          },
          everConnected: true,
        };
      case 'EntraSettingsChanged': {
        const cur = s.sync?.entra;
        if (!cur) return s;
        const { listId: _l, ...changed } = e.data;
        const entra: EntraSettings = { ...cur };
        for (const [k, v] of Object.entries(changed)) if (v !== undefined) (entra as unknown as Record<string, unknown>)[k] = v;
        return { ...s, sync: { ...s.sync!, entra } };
      }
      case 'EntraSecretSet': {
        const cur = s.sync?.entra;
        return cur ? { ...s, sync: { ...s.sync!, entra: { ...cur, secretVersion: cur.secretVersion + 1 } } } : s;
      }
      case 'MappingsChanged':
        return { ...s, mappings: e.data.mappings, groupRules: e.data.groupRules, mappingsVersion: s.mappingsVersion + 1 };
      case 'RemapCompleted':
        return { ...s, remappedVersion: Math.max(s.remappedVersion, e.data.mappingsVersion) };
      case 'FieldRemoved':
        return { ...s, fields: s.fields.filter((f) => f.key !== e.data.key) };
      case 'RetentionSet':
        return { ...s, retentionDays: e.data.inactiveDays };
      case 'ListArchived':
        return { ...s, archived: { eraseAfter: e.data.eraseAfter, erased: false } };
      case 'ListErased':
        return { ...s, archived: { eraseAfter: s.archived?.eraseAfter ?? '', erased: true } };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
