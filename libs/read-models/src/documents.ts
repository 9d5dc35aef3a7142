/**
 * The documents of each read model, as the projections write them (projections.ts). Readers take a
 * typed collection with `readModel(readStore, 'people')` instead of `collection('people')` and
 * casting fields. `lastPosition` is the last log position applied to a document (its update guard).
 */
import type { ChangesetSummary, FieldChange, ImportSummary, FieldMapping, GroupRule, SchemaField } from '@muster/contracts';
import type { Collection, ReadStore } from '@muster/read-store';
import { collectionNames, type ReadModel } from './collections.ts';

export interface OrganisationDoc {
  _id: string;
  name: string;
  plan: string;
  createdAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface AdminTokenDoc {
  _id: string;
  orgId: string | null;
  role: string;
  prefix: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface ListSyncDoc {
  provider: 'scim' | 'entra';
  uniqueIdentifier: string;
  connectedAt: string;
  tenantId?: string;
  clientId?: string;
  groupIds?: string[];
}

export interface ListDoc {
  _id: string;
  orgId: string;
  name: string;
  description: string | null;
  fields: SchemaField[];
  sync: ListSyncDoc | null;
  mappings: FieldMapping[];
  groupRules: GroupRule[];
  counts: { active: number; inactive: number };
  lastSyncAt: string | null;
  lastRemap?: { mappingsVersion: number; remapped: number; completedAt: string };
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

/** the indexed identifiers of a person's SCIM resource (lookups IdPs make before writes) */
export interface ScimSummary {
  userName?: string;
  userNameLower?: string;
  externalId?: string;
  emailsLower: string[];
  employeeNumber?: string;
}

export interface PersonDoc {
  _id: string;
  listId: string;
  status: 'active' | 'inactive';
  fields: Record<string, unknown>;
  /** whether an IdP currently provisions this person (false after a SCIM DELETE, or for people created by hand) */
  linked: boolean;
  scim: ScimSummary | null;
  scimResource: Record<string, unknown> | null;
  /** group ids */
  groups: string[];
  /** folded text for contains-searches (q) */
  search: string;
  /** who created the person: 'scim', 'admin-api', ... */
  source: string;
  /** the person stream's revision this document shows (the SCIM ETag) */
  revision: number;
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface GroupDoc {
  _id: string;
  listId: string;
  displayName: string;
  displayNameLower: string;
  externalId: string | null;
  members: string[];
  revision: number;
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface TokenDoc {
  _id: string;
  listId: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason?: string;
  rotatedFrom: string | null;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface ProvisioningLogDoc {
  /** the event id */
  _id: string;
  position: number;
  at: string;
  listId: string;
  operation: string;
  status: 'SUCCESS' | 'FAILED' | 'SKIPPED';
  resourceType: string;
  resourceId: string | null;
  error: { status: string; scimType?: string; detail: string } | null;
  changes: FieldChange[];
  scimChanges?: unknown[];
  cause?: string | null;
  /** who made the change: the IdP over SCIM, or an applied (or rolled back) changeset of a session or a CSV import */
  source?: 'scim' | 'changeset' | 'csv' | 'entra';
  /** the Entra run that made the change */
  runId?: string | null;
  changesetId?: string | null;
  importId?: string | null;
  method: string | null;
  path: string | null;
  idp: string | null;
  userAgent: string | null;
  requestId: string | null;
  eventType: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface SessionDoc {
  _id: string;
  listId: string;
  name: string;
  filter: Record<string, string>;
  /** how many people the session holds, and how many of their copies differ from the snapshot */
  people: number;
  edited: number;
  snapshotPosition: number;
  /** the changesets pushed from this session */
  changesets: string[];
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

/** one person's copy in a session (`_id` is `<sessionId>:<personId>`) */
export interface SessionPersonDoc {
  _id: string;
  sessionId: string;
  listId: string;
  personId: string;
  status: 'active' | 'inactive';
  fields: Record<string, unknown>;
  /** the copy as the snapshot took it */
  base: { status: 'active' | 'inactive'; fields: Record<string, unknown>; revision: number };
  edited: boolean;
  search: string;
  /** when the person joined the roster (the default order, as on the roster) */
  createdAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface ChangesetDoc {
  _id: string;
  listId: string;
  origin: { kind: 'session' | 'csv' | 'entra-run'; id: string };
  basePosition: number;
  reviewedPosition: number;
  status: ChangesetSummary['status'];
  counts: ChangesetSummary['counts'];
  progress: ChangesetSummary['progress'];
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

export interface ImportDoc {
  _id: string;
  listId: string;
  fileName: string | null;
  bytes: number;
  rows: number;
  columns: string[];
  /** uploaded, validating, ready, applied (with nothing to change) or failed; an apply's progress is its changeset's */
  status: 'uploaded' | 'validating' | 'ready' | 'applied' | 'failed';
  summary: ImportSummary | null;
  changesetId: string | null;
  failure: string | null;
  createdAt: string;
  updatedAt: string;
  lastPosition: number;
  [extra: string]: unknown;
}

/** one Entra pull run of a list (GET /lists/{id}/sync/entra/runs) */
export interface EntraRunDoc {
  _id: string;
  listId: string;
  status: 'running' | 'succeeded' | 'held' | 'failed';
  trigger: 'manual' | 'schedule';
  mode: 'full' | 'incremental';
  fullReason: string | null;
  summary: { created: number; updated: number; deactivated: number; reactivated: number; unchanged: number; skipped: number; errors: number };
  pages: number;
  throttledWaits: number;
  startedAt: string;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
  held: number;
  changesetId: string | null;
  lastPosition: number;
  [extra: string]: unknown;
}

/** the document type of each read model */
export interface ReadModelDocs {
  organisations: OrganisationDoc;
  admin_tokens: AdminTokenDoc;
  lists: ListDoc;
  people: PersonDoc;
  groups: GroupDoc;
  tokens: TokenDoc;
  provisioning_log: ProvisioningLogDoc;
  sessions: SessionDoc;
  session_people: SessionPersonDoc;
  changesets: ChangesetDoc;
  imports: ImportDoc;
  entra_runs: EntraRunDoc;
  erasures: ErasureDoc;
}

/** an erased person: ids and times only (the point-in-time roster's index of who was on a list) */
export interface ErasureDoc {
  _id: string;
  listId: string;
  createdAt: string;
  erasedAt: string;
  trigger: 'request' | 'retention' | 'list-deleted';
  [key: string]: unknown;
}

/** A read model's collection, typed (`prefix` for a rebuild's or a replay's collections). */
export function readModel<M extends ReadModel>(readStore: ReadStore, model: M, prefix = ''): Collection<ReadModelDocs[M]> {
  return readStore.collection<ReadModelDocs[M]>(prefix ? collectionNames(prefix)[model] : model);
}
