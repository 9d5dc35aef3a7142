import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import {
  AdminRole, AttributeChange, EntraFullReason, EntraRunStatus, EntraRunSummary, EntraRunTrigger, EntraSchedule, EntraTrackedUser, ChangeDecision, ChangesetSummary, FieldChange, FieldChoice, FieldMapping, GroupRule, ImportMapping, ImportRowError,
  ImportSummary, Plan, PersonStatus, ProposedChange, SchemaField, ScimErrorInfo, SnapshotPerson, SyncProvider, UniqueIdentifier,
} from './model.ts';

/**
 * Every event type Muster writes: name, schema version and zod schema of its data.
 * Adding a version: keep the old schema under its version, add an upcaster in upcast().
 */
const Scim = z.record(z.string(), z.unknown());
const Fields = z.record(z.string(), z.unknown());
/** why a person's fields or status changed (absent on events written before the cause was recorded) */
const Cause = z.enum(['idp', 'admin', 'remap', 'group-rule', 'changeset', 'changeset-rollback']);

export const eventSchemas = {
  // organisation-{orgId}
  OrganisationCreated: { version: 1, schema: z.object({ orgId: z.string(), name: z.string(), plan: Plan }) },
  OrganisationPlanChanged: { version: 1, schema: z.object({ orgId: z.string(), plan: Plan }) },
  // admintoken-{tokenId}
  AdminTokenIssued: {
    version: 1,
    schema: z.object({
      tokenId: z.string(), orgId: z.string().nullable(), role: AdminRole, hash: z.string(), prefix: z.string(),
      label: z.string().optional(),
      /** when it stops working (null or absent: never), and the lifetime a rotation gives its successor */
      expiresAt: z.string().nullable().optional(),
      lifetimeDays: z.number().int().positive().nullable().optional(),
      rotatedFrom: z.string().optional(),
    }),
  },
  /** revoked: by an owner; replaced: MUSTER_ADMIN_TOKEN changed, so the previous environment token goes */
  AdminTokenRevoked: { version: 1, schema: z.object({ tokenId: z.string(), reason: z.enum(['revoked', 'replaced']).optional() }) },
  /** a rotated token keeps working until then (the overlap) */
  AdminTokenExpiryScheduled: { version: 1, schema: z.object({ tokenId: z.string(), expiresAt: z.string() }) },
  // list-{listId}
  ListCreated: {
    version: 1,
    schema: z.object({ listId: z.string(), orgId: z.string(), name: z.string(), description: z.string().optional() }),
  },
  ListUpdated: { version: 1, schema: z.object({ listId: z.string(), name: z.string().optional(), description: z.string().optional() }) },
  FieldAdded: { version: 1, schema: z.object({ listId: z.string(), field: SchemaField }) },
  ScimConnected: {
    version: 1,
    schema: z.object({
      listId: z.string(), uniqueIdentifier: UniqueIdentifier, fieldsAdded: z.array(SchemaField), mappings: z.array(FieldMapping),
    }),
  },
  ScimDisconnected: { version: 1, schema: z.object({ listId: z.string() }) },
  /** Entra directory sync connected: the tenant and app registration to pull from (no secrets in events) */
  EntraConnected: {
    version: 1,
    schema: z.object({
      listId: z.string(), tenantId: z.string(), clientId: z.string(), groupIds: z.array(z.string()),
      uniqueIdentifier: UniqueIdentifier, fieldsAdded: z.array(SchemaField), mappings: z.array(FieldMapping),
      /** directory extensions selected from Graph (full names, extension_<appId>_<name>) */
      extensionAttributes: z.array(z.string()).default([]),
      schedule: EntraSchedule.default(null),
      /** share of the active people one run may deactivate before it holds the deactivations for review (null: no guard) */
      deactivationThreshold: z.number().min(0).max(1).nullable().default(0.2),
    }),
  },
  /** PATCH of an Entra connection: only what changed is present; a change of groups makes the next run a full one */
  EntraSettingsChanged: {
    version: 1,
    schema: z.object({
      listId: z.string(), groupIds: z.array(z.string()).optional(), extensionAttributes: z.array(z.string()).optional(),
      schedule: EntraSchedule.optional(), deactivationThreshold: z.number().min(0).max(1).nullable().optional(),
    }),
  },
  /** the Entra client secret was given or replaced (the secret itself is sealed in the entra-sync service's secret store, never here) */
  EntraSecretSet: { version: 1, schema: z.object({ listId: z.string() }) },
  EntraDisconnected: { version: 1, schema: z.object({ listId: z.string() }) },
  /** a field taken off the list: its values leave the read models, it can no longer be mapped */
  FieldRemoved: { version: 1, schema: z.object({ listId: z.string(), key: z.string() }) },
  /** people inactive for longer than `inactiveDays` are erased by the retention job (null: kept) */
  RetentionSet: { version: 1, schema: z.object({ listId: z.string(), inactiveDays: z.number().int().min(1).max(36_500).nullable() }) },
  /** the list was deleted: read-only from now on; its people are erased once `eraseAfter` has passed */
  ListArchived: { version: 1, schema: z.object({ listId: z.string(), eraseAfter: z.string() }) },
  /** every person of an archived list has been erased */
  ListErased: { version: 1, schema: z.object({ listId: z.string(), people: z.number().int().min(0) }) },
  MappingsChanged: {
    version: 1,
    schema: z.object({ listId: z.string(), mappings: z.array(FieldMapping), groupRules: z.array(GroupRule) }),
  },
  /**
   * Everyone on the list has been re-derived under the mappings of the list's `mappingsVersion`-th
   * MappingsChanged (a remap run finished). A MappingsChanged without a later RemapCompleted of its
   * version is a remap still owed: the mapping service finishes it, also after a crash.
   */
  RemapCompleted: {
    version: 1,
    schema: z.object({ listId: z.string(), mappingsVersion: z.number().int().min(1), remapped: z.number().int().min(0) }),
  },
  // scimtokens-{listId}
  ScimTokenIssued: {
    version: 1,
    schema: z.object({
      listId: z.string(), tokenId: z.string(), hash: z.string(), prefix: z.string(),
      expiresAt: z.string().nullable(), rotatedFrom: z.string().optional(),
      /** the token's lifetime, which a rotation gives its successor (null or absent: it never expires) */
      lifetimeDays: z.number().int().positive().nullable().optional(),
      /** which identity provider holds it (an admin's note), carried over by a rotation */
      label: z.string().max(200).optional(),
    }),
  },
  ScimTokenExpiryScheduled: { version: 1, schema: z.object({ listId: z.string(), tokenId: z.string(), expiresAt: z.string() }) },
  ScimTokenRevoked: { version: 1, schema: z.object({ listId: z.string(), tokenId: z.string(), reason: z.enum(['revoked', 'disconnected']) }) },
  // person-{personId}
  PersonProvisioned: {
    version: 1,
    schema: z.object({
      personId: z.string(), listId: z.string(), scim: Scim, fields: Fields, status: PersonStatus,
      fieldChanges: z.array(FieldChange),
    }),
  },
  PersonCreated: {
    version: 1,
    schema: z.object({ personId: z.string(), listId: z.string(), fields: Fields, fieldChanges: z.array(FieldChange), cause: Cause.optional() }),
  },
  AttributesChanged: {
    version: 1,
    schema: z.object({
      personId: z.string(), listId: z.string(),
      /** full SCIM resource after the change (absent for admin edits) */
      scim: Scim.optional(),
      scimChanges: z.array(AttributeChange),
      fields: Fields,
      fieldChanges: z.array(FieldChange),
      cause: Cause.default('idp'),
    }),
  },
  Deactivated: {
    version: 1,
    schema: z.object({ personId: z.string(), listId: z.string(), scim: Scim.optional(), scimChanges: z.array(AttributeChange).default([]), fields: Fields.optional(), fieldChanges: z.array(FieldChange).default([]), cause: Cause.optional() }),
  },
  Reactivated: {
    version: 1,
    schema: z.object({ personId: z.string(), listId: z.string(), scim: Scim.optional(), scimChanges: z.array(AttributeChange).default([]), fields: Fields.optional(), fieldChanges: z.array(FieldChange).default([]), cause: Cause.optional() }),
  },
  PersonUnlinked: { version: 1, schema: z.object({ personId: z.string(), listId: z.string(), wasActive: z.boolean() }) },
  PersonRelinked: {
    version: 1,
    schema: z.object({ personId: z.string(), listId: z.string(), scim: Scim, fields: Fields, fieldChanges: z.array(FieldChange) }),
  },
  /**
   * The person's personal data is gone: their data key is deleted, so every earlier event of theirs
   * reads `[erased]` where it held personal data. Who and when are the metadata's; nothing personal here.
   */
  PersonErased: {
    version: 1,
    schema: z.object({
      personId: z.string(), listId: z.string(), reason: z.string().min(1).max(500),
      /** what asked for it: an admin's request, the list's retention policy, the list's deletion */
      trigger: z.enum(['request', 'retention', 'list-deleted']),
    }),
  },
  // group-{groupId}
  GroupCreated: {
    version: 1,
    schema: z.object({ groupId: z.string(), listId: z.string(), displayName: z.string(), externalId: z.string().optional(), members: z.array(z.string()) }),
  },
  GroupChanged: {
    version: 1,
    schema: z.object({
      groupId: z.string(), listId: z.string(), displayName: z.string(), externalId: z.string().optional(), changes: z.array(AttributeChange),
      added: z.array(z.string()).default([]), removed: z.array(z.string()).default([]),
    }),
  },
  GroupMembersChanged: {
    version: 1,
    schema: z.object({ groupId: z.string(), listId: z.string(), added: z.array(z.string()), removed: z.array(z.string()) }),
  },
  GroupDeleted: { version: 1, schema: z.object({ groupId: z.string(), listId: z.string(), members: z.array(z.string()) }) },
  // uniq-{listId}-{kind}-{digest}
  /** `value`: a group's name; absent for a person's identifiers (their own events hold them; events written before carry it) */
  ValueReserved: { version: 1, schema: z.object({ listId: z.string(), kind: z.string(), value: z.string().optional(), ownerId: z.string() }) },
  ValueReleased: { version: 1, schema: z.object({ listId: z.string(), kind: z.string(), value: z.string().optional(), ownerId: z.string() }) },
  // scimlog-{listId}: requests that changed nothing or failed (successful changes are logged from their domain event)
  ScimRequestLogged: {
    version: 1,
    schema: z.object({
      listId: z.string(), operation: z.string(), status: z.enum(['SKIPPED', 'FAILED']),
      resourceType: z.enum(['User', 'Group', 'Bulk', 'Other']), resourceId: z.string().optional(),
      error: ScimErrorInfo.optional(),
    }),
  },
  // session-{sessionId}: a working copy of part of a list
  SessionCreated: {
    version: 1,
    schema: z.object({
      sessionId: z.string(), listId: z.string(), name: z.string(),
      /** the people query's parameters that chose who is in the session */
      filter: z.record(z.string(), z.string()),
      /** the log position the read models had reached when the copy was read */
      snapshotPosition: z.number().int(),
      people: z.number().int().min(0),
    }),
  },
  /** the session's copy of its people, in chunks (a session of 10,000 is twenty of these, appended with SessionCreated) */
  SessionPeopleCopied: { version: 1, schema: z.object({ sessionId: z.string(), listId: z.string(), people: z.array(SnapshotPerson) }) },
  SessionPersonEdited: {
    version: 1,
    schema: z.object({
      sessionId: z.string(), listId: z.string(), personId: z.string(), fieldChanges: z.array(FieldChange),
      status: z.object({ old: PersonStatus, new: PersonStatus }).optional(),
      /** whether this person's copy differs from the snapshot after the edit, and how many do */
      edited: z.boolean(), editedPeople: z.number().int().min(0),
    }),
  },
  // changeset-{changesetId}: a reviewed batch of changes against a list (every event carries the summary after it)
  ChangesetOpened: {
    version: 1,
    schema: z.object({
      changesetId: z.string(), listId: z.string(), origin: z.object({ kind: z.enum(['session', 'csv', 'entra-run']), id: z.string() }),
      /** the log position the proposals are based on (a session's snapshot) */
      basePosition: z.number().int(),
      /** the log position the read models had reached when the roster values were read */
      reviewedPosition: z.number().int(),
      summary: ChangesetSummary,
    }),
  },
  /** the proposed changes, in chunks, appended with ChangesetOpened */
  ChangesProposed: { version: 1, schema: z.object({ changesetId: z.string(), changes: z.array(ProposedChange), summary: ChangesetSummary }) },
  ChangesDecided: {
    version: 1,
    schema: z.object({
      changesetId: z.string(),
      decisions: z.array(z.object({ changeId: z.string(), decision: ChangeDecision, fields: z.record(z.string(), FieldChoice) })),
      summary: ChangesetSummary,
    }),
  },
  /** approve or reject every change still open to it; a change with a conflict lacking a choice is never approved this way */
  AllChangesDecided: { version: 1, schema: z.object({ changesetId: z.string(), decision: z.enum(['approved', 'rejected']), summary: ChangesetSummary }) },
  /**
   * The roster moved for people under review since the review was computed: each change's roster
   * values (master) read again; a field whose incoming value was chosen and whose roster value moved
   * elsewhere becomes a conflict again (its choice cleared); a field a sync now owns is locked.
   */
  ChangesRereviewed: {
    version: 1,
    schema: z.object({
      changesetId: z.string(), reviewedPosition: z.number().int(),
      changes: z.array(z.object({
        changeId: z.string(), personId: z.string().optional(), masterRevision: z.number().int(), status: PersonStatus, statusLockedBy: SyncProvider.nullable(),
        fields: z.array(z.object({ field: z.string(), master: z.unknown(), conflict: z.boolean(), lockedBy: SyncProvider.nullable() })),
      })),
      summary: ChangesetSummary,
    }),
  },
  ChangesetApplyStarted: { version: 1, schema: z.object({ changesetId: z.string(), changes: z.number().int(), summary: ChangesetSummary }) },
  ChangesApplied: {
    version: 1,
    schema: z.object({
      changesetId: z.string(),
      applied: z.array(z.object({ changeId: z.string(), personId: z.string(), revision: z.number().int() })),
      /** changes the roster moved under between the check and the write: back to review, nothing written */
      stale: z.array(z.object({ changeId: z.string(), personId: z.string().optional(), field: z.string(), master: z.unknown() })),
      summary: ChangesetSummary,
    }),
  },
  ChangesetApplyFinished: { version: 1, schema: z.object({ changesetId: z.string(), summary: ChangesetSummary }) },
  ChangesetRollbackStarted: { version: 1, schema: z.object({ changesetId: z.string(), changes: z.number().int(), force: z.array(z.string()), summary: ChangesetSummary }) },
  ChangesRolledBack: {
    version: 1,
    schema: z.object({
      changesetId: z.string(),
      reverted: z.array(z.object({ changeId: z.string(), personId: z.string() })),
      /** fields changed since by someone else, left as they are (named `personId.field`) */
      kept: z.array(z.string()),
      summary: ChangesetSummary,
    }),
  },
  ChangesetRollbackFinished: { version: 1, schema: z.object({ changesetId: z.string(), summary: ChangesetSummary }) },
  ChangesetDiscarded: { version: 1, schema: z.object({ changesetId: z.string(), summary: ChangesetSummary }) },
  // import-{importId}: a CSV file uploaded to a list, mapped, validated into a changeset (its id is the import's)
  ImportUploaded: {
    version: 1,
    schema: z.object({
      importId: z.string(), listId: z.string(), fileName: z.string().nullable(), bytes: z.number().int(), sha256: z.string(),
      encoding: z.enum(['utf-8', 'utf-16le', 'utf-16be']), delimiter: z.enum([',', ';', '\t']), columns: z.array(z.string()), rows: z.number().int(),
    }),
  },
  /** a mapping was given: the import validates in the background */
  ImportMappingSet: { version: 1, schema: z.object({ importId: z.string(), listId: z.string(), mapping: ImportMapping }) },
  /** the faults found, in chunks (appended with ImportValidated) */
  ImportErrorsFound: { version: 1, schema: z.object({ importId: z.string(), errors: z.array(ImportRowError) }) },
  ImportValidated: {
    version: 1,
    schema: z.object({
      importId: z.string(), listId: z.string(), summary: ImportSummary, errors: z.number().int(),
      /** the import's changeset (its id is the import's), null when there is nothing to change */
      changesetId: z.string().nullable(),
    }),
  },
  ImportFailed: { version: 1, schema: z.object({ importId: z.string(), listId: z.string(), reason: z.string() }) },
  /** applied with nothing to change (every row unchanged or left out) */
  ImportCompleted: { version: 1, schema: z.object({ importId: z.string(), listId: z.string() }) },
  // entrasync-{listId}: the Entra pull runs of a list and the sync state they leave (delta links, who is in scope)
  EntraRunStarted: {
    version: 1,
    schema: z.object({
      listId: z.string(), runId: z.string(), trigger: EntraRunTrigger, mode: z.enum(['full', 'incremental']), fullReason: EntraFullReason.nullable(),
      startedAt: z.string(),
      /** a run not heard of by then (no progress, no finish) was interrupted: the next run may start */
      leaseUntil: z.string(),
    }),
  },
  EntraRunProgress: { version: 1, schema: z.object({ listId: z.string(), runId: z.string(), pages: z.number().int(), leaseUntil: z.string() }) },
  /** users whose scope or deletion state the run changed (a full run starts from nothing: reset), in chunks, appended with EntraRunFinished */
  EntraUsersTracked: { version: 1, schema: z.object({ listId: z.string(), runId: z.string(), reset: z.boolean(), users: z.array(EntraTrackedUser) }) },
  /** a user the run could not apply to the roster (a provisioning-log FAILED entry) */
  EntraUserFailed: {
    version: 1,
    schema: z.object({ listId: z.string(), runId: z.string(), userId: z.string(), personId: z.string().nullable(), error: z.object({ code: z.string(), message: z.string() }) }),
  },
  EntraRunFinished: {
    version: 1,
    schema: z.object({
      listId: z.string(), runId: z.string(), status: EntraRunStatus.exclude(['running']), summary: EntraRunSummary,
      /** how the run ended up reading (an incremental run Graph sent back to a full round says so) */
      mode: z.enum(['full', 'incremental']), fullReason: EntraFullReason.nullable(), finishedAt: z.string(),
      pages: z.number().int(), throttledWaits: z.number().int(), error: z.object({ code: z.string(), message: z.string() }).nullable(),
      /** the delta links the next run starts from (null: not advanced, as after a failure) */
      deltaLinks: z.object({
        users: z.string(), groups: z.array(z.object({ groupIds: z.array(z.string()), link: z.string() })),
        /** the directory extensions the users link selects (its $select is in its token) */
        usersExtensions: z.array(z.string()).optional(),
      }).nullable(),
      /** the groups the links were made for (a change of groups makes the next run full), and their names */
      groupIds: z.array(z.string()),
      groupNames: z.record(z.string(), z.string()).default({}),
      /** deactivations held by the guard: how many, and the changeset presenting them */
      held: z.number().int().default(0),
      changesetId: z.string().nullable().default(null),
    }),
  },
} as const;

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]['schema']>;

/** A domain event as deciders produce it: type + data, no metadata yet. */
export type DomainEvent = { [K in EventType]: { type: K; data: EventData<K> } }[EventType];
export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(eventSchemas, type);
}

export class EventValidationError extends Error {
  constructor(readonly eventType: string, readonly issues: string) {
    super(`invalid ${eventType} event: ${issues}`);
    this.name = 'EventValidationError';
  }
}

const issuesOf = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');

/**
 * Every event is checked on append and on read, so the check must be cheap: each type's zod schema
 * is compiled once into an ajv validator (its JSON Schema, from zod), which checks without building
 * a copy of the data (zod's parse copies every object it accepts, a cost that shows in a rebuild of
 * a million events). zod stays the contract: it decides, and words the error, whenever ajv refuses.
 */
const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
const validators = new Map<EventType, ValidateFunction>();
function fastCheck(type: EventType): ValidateFunction {
  let v = validators.get(type);
  if (!v) {
    v = ajv.compile(z.toJSONSchema(eventSchemas[type].schema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as object);
    validators.set(type, v);
  }
  return v;
}

/**
 * Validate the data of an event of `type` against its schema (at `version`, the current one when
 * not given). Returns the event with the data object it was given (not zod's copy: the stored JSON
 * text, which the hash chain covers, keeps its keys and their order). Throws EventValidationError.
 */
export function parseEvent(type: string, data: unknown, version?: number): DomainEvent {
  if (!isEventType(type)) throw new EventValidationError(type, 'unknown event type');
  const contract = eventSchemas[type];
  if (version !== undefined && version !== contract.version) {
    // only version 1 exists of every type so far; an older version would be upcast here
    throw new EventValidationError(type, `schema version ${version} is not known (this code reads version ${contract.version})`);
  }
  if (fastCheck(type)(data)) return { type, data } as DomainEvent;
  const res = contract.schema.safeParse(data);
  if (!res.success) throw new EventValidationError(type, issuesOf(res.error));
  return { type, data } as DomainEvent;
}

/** A stored event as read from any store: its type, data and metadata (with the schema version). */
export interface StoredEventLike { type: string; data: unknown; metadata?: unknown; streamId?: string; revision?: number }

/**
 * The one way a stored event becomes a typed domain event: validated by the schema of its type
 * and version (EventValidationError names the stream and revision when it does not fit).
 */
export function toDomainEvent(recorded: StoredEventLike): DomainEvent {
  const version = (recorded.metadata as { version?: unknown } | undefined)?.version;
  try {
    return parseEvent(recorded.type, recorded.data, typeof version === 'number' ? version : undefined);
  } catch (err) {
    if (err instanceof EventValidationError && recorded.streamId !== undefined) {
      throw new EventValidationError(recorded.type, `${err.issues} (stream ${recorded.streamId}, revision ${recorded.revision})`);
    }
    throw err;
  }
}

/** The events of each kind of stream, as unions: each decider's evolve switches over its own. */
export type OrganisationEvent = EventOf<'OrganisationCreated' | 'OrganisationPlanChanged'>;
export type AdminTokenEvent = EventOf<'AdminTokenIssued' | 'AdminTokenRevoked' | 'AdminTokenExpiryScheduled'>;
export type ListEvent = EventOf<'ListCreated' | 'ListUpdated' | 'FieldAdded' | 'ScimConnected' | 'ScimDisconnected' | 'EntraConnected' | 'EntraSettingsChanged' | 'EntraSecretSet' | 'EntraDisconnected' | 'MappingsChanged' | 'RemapCompleted' | 'FieldRemoved' | 'RetentionSet' | 'ListArchived' | 'ListErased'>;
export type EntraSyncEvent = EventOf<'EntraRunStarted' | 'EntraRunProgress' | 'EntraUsersTracked' | 'EntraUserFailed' | 'EntraRunFinished'>;
export type ScimTokensEvent = EventOf<'ScimTokenIssued' | 'ScimTokenExpiryScheduled' | 'ScimTokenRevoked'>;
export type PersonEvent = EventOf<'PersonProvisioned' | 'PersonCreated' | 'AttributesChanged' | 'Deactivated' | 'Reactivated' | 'PersonUnlinked' | 'PersonRelinked' | 'PersonErased'>;
export type GroupEvent = EventOf<'GroupCreated' | 'GroupChanged' | 'GroupMembersChanged' | 'GroupDeleted'>;
export type ReservationEvent = EventOf<'ValueReserved' | 'ValueReleased'>;
export type ScimLogEvent = EventOf<'ScimRequestLogged'>;
export type SessionEvent = EventOf<'SessionCreated' | 'SessionPeopleCopied' | 'SessionPersonEdited'>;
export type ImportEvent = EventOf<'ImportUploaded' | 'ImportMappingSet' | 'ImportErrorsFound' | 'ImportValidated' | 'ImportFailed' | 'ImportCompleted'>;
export type ChangesetEvent = EventOf<'ChangesetOpened' | 'ChangesProposed' | 'ChangesDecided' | 'AllChangesDecided' | 'ChangesRereviewed' | 'ChangesetApplyStarted' | 'ChangesApplied' | 'ChangesetApplyFinished' | 'ChangesetRollbackStarted' | 'ChangesRolledBack' | 'ChangesetRollbackFinished' | 'ChangesetDiscarded'>;

const typeSet = <T extends DomainEvent>(...types: Array<T['type']>) => {
  const set = new Set<string>(types);
  return (e: DomainEvent): e is T => set.has(e.type);
};
export const isOrganisationEvent = typeSet<OrganisationEvent>('OrganisationCreated', 'OrganisationPlanChanged');
export const isAdminTokenEvent = typeSet<AdminTokenEvent>('AdminTokenIssued', 'AdminTokenRevoked', 'AdminTokenExpiryScheduled');
export const isListEvent = typeSet<ListEvent>('ListCreated', 'ListUpdated', 'FieldAdded', 'ScimConnected', 'ScimDisconnected', 'EntraConnected', 'EntraSettingsChanged', 'EntraSecretSet', 'EntraDisconnected', 'MappingsChanged', 'RemapCompleted', 'FieldRemoved', 'RetentionSet', 'ListArchived', 'ListErased');
export const isEntraSyncEvent = typeSet<EntraSyncEvent>('EntraRunStarted', 'EntraRunProgress', 'EntraUsersTracked', 'EntraUserFailed', 'EntraRunFinished');
export const isScimTokensEvent = typeSet<ScimTokensEvent>('ScimTokenIssued', 'ScimTokenExpiryScheduled', 'ScimTokenRevoked');
export const isPersonEvent = typeSet<PersonEvent>('PersonProvisioned', 'PersonCreated', 'AttributesChanged', 'Deactivated', 'Reactivated', 'PersonUnlinked', 'PersonRelinked', 'PersonErased');
export const isGroupEvent = typeSet<GroupEvent>('GroupCreated', 'GroupChanged', 'GroupMembersChanged', 'GroupDeleted');
export const isReservationEvent = typeSet<ReservationEvent>('ValueReserved', 'ValueReleased');
export const isSessionEvent = typeSet<SessionEvent>('SessionCreated', 'SessionPeopleCopied', 'SessionPersonEdited');
export const isImportEvent = typeSet<ImportEvent>('ImportUploaded', 'ImportMappingSet', 'ImportErrorsFound', 'ImportValidated', 'ImportFailed', 'ImportCompleted');
export const isChangesetEvent = typeSet<ChangesetEvent>('ChangesetOpened', 'ChangesProposed', 'ChangesDecided', 'AllChangesDecided', 'ChangesRereviewed', 'ChangesetApplyStarted', 'ChangesApplied', 'ChangesetApplyFinished', 'ChangesetRollbackStarted', 'ChangesRolledBack', 'ChangesetRollbackFinished', 'ChangesetDiscarded');

/** Streams, named in one place. */
export const streams = {
  organisation: (orgId: string) => `organisation-${orgId}`,
  adminToken: (tokenId: string) => `admintoken-${tokenId}`,
  list: (listId: string) => `list-${listId}`,
  scimTokens: (listId: string) => `scimtokens-${listId}`,
  person: (personId: string) => `person-${personId}`,
  group: (groupId: string) => `group-${groupId}`,
  reservation: (listId: string, kind: string, digest: string) => `uniq-${listId}-${kind}-${digest}`,
  scimLog: (listId: string) => `scimlog-${listId}`,
  session: (sessionId: string) => `session-${sessionId}`,
  changeset: (changesetId: string) => `changeset-${changesetId}`,
  import: (importId: string) => `import-${importId}`,
  entraSync: (listId: string) => `entrasync-${listId}`,
} as const;

export const streamPrefixes = {
  organisation: 'organisation-',
  adminToken: 'admintoken-',
  list: 'list-',
  scimTokens: 'scimtokens-',
  person: 'person-',
  group: 'group-',
  reservation: 'uniq-',
  scimLog: 'scimlog-',
  session: 'session-',
  changeset: 'changeset-',
  import: 'import-',
  entraSync: 'entrasync-',
} as const;
