import { z } from 'zod';

export const Plan = z.enum(['pro', 'business', 'enterprise']);
export type Plan = z.infer<typeof Plan>;

export const AdminRole = z.enum(['owner', 'admin', 'viewer', 'auditor']);
export type AdminRole = z.infer<typeof AdminRole>;

export const FieldType = z.enum(['text', 'email', 'phone', 'date', 'number', 'boolean', 'enum']);
export type FieldType = z.infer<typeof FieldType>;

export const FieldKey = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'field keys are 1-64 letters, digits or _ and start with a letter');

export const SchemaField = z.object({
  key: FieldKey,
  label: z.string().min(1).max(200),
  type: FieldType,
  required: z.boolean().default(false),
  enumValues: z.array(z.string()).optional(),
  multiValued: z.boolean().default(false),
});
export type SchemaField = z.infer<typeof SchemaField>;

export const UniqueIdentifier = z.enum(['employeeNumber', 'userName', 'email']);
export type UniqueIdentifier = z.infer<typeof UniqueIdentifier>;

export const Transform = z.enum(['direct', 'lowercase', 'uppercase', 'trim']);
export type Transform = z.infer<typeof Transform>;

export const FieldMapping = z.object({
  /** attribute id from the catalogue (e.g. "name.givenName", "emails.work") or a custom extension path */
  source: z.string().min(1),
  field: FieldKey,
  enabled: z.boolean().default(true),
  transform: Transform.default('direct'),
  /** a second attribute read when the source has no value (Entra: Email ← mail, else userPrincipalName) */
  fallback: z.string().min(1).optional(),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

export const GroupRule = z.object({
  /** IdP group displayName this rule matches (case-insensitive) */
  group: z.string().min(1),
  field: FieldKey,
  /** value written to the field; defaults to the group's displayName */
  value: z.string().optional(),
});
export type GroupRule = z.infer<typeof GroupRule>;

export const FieldChange = z.object({
  field: z.string(),
  old: z.unknown().optional(),
  new: z.unknown().optional(),
});
export type FieldChange = z.infer<typeof FieldChange>;

export const AttributeChange = z.object({
  path: z.string(),
  old: z.unknown().optional(),
  new: z.unknown().optional(),
});
export type AttributeChange = z.infer<typeof AttributeChange>;

export const ScimErrorInfo = z.object({
  status: z.string(),
  scimType: z.string().optional(),
  detail: z.string(),
});

export const SyncProvider = z.enum(['scim', 'entra']);
export type SyncProvider = z.infer<typeof SyncProvider>;

export const PersonStatus = z.enum(['active', 'inactive']);
export type PersonStatus = z.infer<typeof PersonStatus>;

/** A session's copy of one person, as the snapshot took it (the three-way review's base). */
export const SnapshotPerson = z.object({
  personId: z.string(),
  /** the person stream's revision the copy was taken at */
  revision: z.number().int(),
  status: PersonStatus,
  linked: z.boolean(),
  fields: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type SnapshotPerson = z.infer<typeof SnapshotPerson>;

/** How one field of a change is resolved: the incoming value, the roster's value, or left alone. */
export const FieldChoice = z.enum(['proposed', 'master', 'skip']);
export type FieldChoice = z.infer<typeof FieldChoice>;
export const ChangeKind = z.enum(['create', 'update', 'deactivate', 'reactivate']);
export type ChangeKind = z.infer<typeof ChangeKind>;
export const ChangeDecision = z.enum(['pending', 'approved', 'rejected']);
export type ChangeDecision = z.infer<typeof ChangeDecision>;

/** One field of a proposed change, three ways: at the snapshot, on the roster, incoming. */
export const ChangeField = z.object({
  field: z.string(),
  base: z.unknown(),
  master: z.unknown(),
  proposed: z.unknown(),
  conflict: z.boolean(),
  locked: z.boolean(),
  lockedBy: SyncProvider.nullable(),
  choice: FieldChoice.nullable(),
});
export type ChangeField = z.infer<typeof ChangeField>;

/** A proposed status change (binary, so never a three-way conflict; locked when a sync owns it). */
export const ChangeStatus = z.object({
  base: PersonStatus.nullable(),
  master: PersonStatus.nullable(),
  proposed: PersonStatus,
  locked: z.boolean(),
  lockedBy: SyncProvider.nullable(),
});
export type ChangeStatus = z.infer<typeof ChangeStatus>;

/** One person's proposed change, as a changeset's review computed it. */
export const ProposedChange = z.object({
  id: z.string(),
  personId: z.string(),
  kind: ChangeKind,
  /** the person stream's revision the roster values (master) were read at; -1 for a create */
  masterRevision: z.number().int(),
  fields: z.array(ChangeField),
  status: ChangeStatus.nullable(),
});
export type ProposedChange = z.infer<typeof ProposedChange>;

export const ChangesetStatus = z.enum(['open', 'applying', 'applied', 'rolling_back', 'rolled_back', 'discarded']);
export type ChangesetStatus = z.infer<typeof ChangesetStatus>;

/** A changeset's state after an event, carried by each of its events for the list read model. */
export const ChangesetSummary = z.object({
  status: ChangesetStatus,
  counts: z.object({
    changes: z.number().int(), conflicts: z.number().int(), approved: z.number().int(), rejected: z.number().int(),
    pending: z.number().int(), applied: z.number().int(),
  }),
  progress: z.object({ done: z.number().int(), total: z.number().int() }).nullable(),
});
export type ChangesetSummary = z.infer<typeof ChangesetSummary>;

/** How one CSV column becomes a field: the field, and the transform its value goes through first. */
export const ColumnMapping = z.object({ field: FieldKey, transform: Transform.default('direct') });
export type ColumnMapping = z.infer<typeof ColumnMapping>;

/** An import's mapping: which column identifies people, how columns become fields, what absence means. */
export const ImportMapping = z.object({
  uniqueIdentifier: z.object({ column: z.string().min(1), field: FieldKey.optional(), transform: Transform.optional() }),
  columns: z.record(z.string(), ColumnMapping),
  missing: z.enum(['keep', 'deactivate']).default('keep'),
});
export type ImportMapping = z.infer<typeof ImportMapping>;

export const ImportErrorCode = z.enum([
  'missing_identifier', 'duplicate_in_file', 'invalid_email', 'invalid_phone', 'invalid_number', 'invalid_date', 'invalid_boolean',
  'invalid_enum', 'too_long', 'ragged_row', 'not_on_list', 'missing_required',
]);
export type ImportErrorCode = z.infer<typeof ImportErrorCode>;

/** The first fault of one data row (1-based, the row after the header being 1). */
export const ImportRowError = z.object({
  row: z.number().int().min(1),
  column: z.string().nullable(),
  field: z.string().nullable(),
  code: ImportErrorCode,
  message: z.string(),
  value: z.unknown(),
  /** duplicate_in_file: the first row of the group */
  firstRow: z.number().int().optional(),
});
export type ImportRowError = z.infer<typeof ImportRowError>;

export const ImportSummary = z.object({
  rows: z.number().int(), create: z.number().int(), update: z.number().int(), unchanged: z.number().int(),
  deactivate: z.number().int(), reactivate: z.number().int(), invalid: z.number().int(), duplicateInFile: z.number().int(),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

/** An Entra connection's schedule: a run every `intervalMinutes` (at most 7 days: Graph's delta state expires after that); null = manual runs only */
export const EntraSchedule = z.object({ intervalMinutes: z.number().int().min(5).max(10_080) }).nullable();
export type EntraSchedule = z.infer<typeof EntraSchedule>;

export const EntraRunStatus = z.enum(['running', 'succeeded', 'held', 'failed']);
export type EntraRunStatus = z.infer<typeof EntraRunStatus>;
export const EntraRunTrigger = z.enum(['manual', 'schedule']);
export const EntraFullReason = z.enum(['first', 'groups_changed', 'sync_state_expired', 'reset']);
export type EntraFullReason = z.infer<typeof EntraFullReason>;

/** What a run did to the roster (updated: people whose fields changed; skipped: out-of-scope users seen; errors: people not applied) */
export const EntraRunSummary = z.object({
  created: z.number().int(), updated: z.number().int(), deactivated: z.number().int(), reactivated: z.number().int(),
  unchanged: z.number().int(), skipped: z.number().int(), errors: z.number().int(),
});
export type EntraRunSummary = z.infer<typeof EntraRunSummary>;

/** A user the sync tracks: the scoped groups it is a direct member of, and whether Entra deleted it (soft: restorable, hard: for good) */
export const EntraTrackedUser = z.object({ id: z.string(), groups: z.array(z.string()), removed: z.enum(['soft', 'hard']).nullable() });
export type EntraTrackedUser = z.infer<typeof EntraTrackedUser>;
