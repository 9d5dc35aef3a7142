import { EventValidationError, toDomainEvent, type DomainEvent, type EventMetadata, type FieldChange } from '@muster/contracts';
import type { RecordedEvent } from '@muster/event-store';
import { DuplicateKeyError, type Collection, type Doc, type ReadStore, type Update } from '@muster/read-store/port';
import type { CollectionNames } from './collections.ts';

/**
 * Apply `update` to document `id` only if it has not yet seen `position` (idempotent under
 * redelivery); create it from `onCreate` when it does not exist.
 */
async function guarded(coll: Collection, id: string, position: number, update: Update, onCreate?: () => Doc): Promise<void> {
  const set = { ...((update.$set as Record<string, unknown>) ?? {}), lastPosition: position };
  const res = await coll.updateOne({ _id: id, lastPosition: { $lt: position } }, { ...update, $set: set });
  if (res.matchedCount > 0 || !onCreate) return;
  const existing = await coll.findOne({ _id: id }, { projection: { _id: 1 } });
  if (existing) return; // already applied
  try {
    await coll.insertOne({ ...onCreate(), _id: id, lastPosition: position });
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err;
  }
}

/** inserts `doc` unless a document with its _id exists (then this write was already applied) */
async function insertOnce(coll: Collection, doc: Doc): Promise<void> {
  try {
    await coll.insertOne(doc);
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err;
  }
}

const iso = (m: EventMetadata) => m.occurredAt;

/** Terms the free-text search looks at: names, emails, unique identifier, userName. */
export function searchText(fields: Record<string, unknown>, extra: Array<unknown>): string {
  const parts = [fields.firstName, fields.lastName, fields.displayName, fields.email, fields.primaryEmail, fields.employeeNumber, ...extra];
  // each distinct term once (email, primaryEmail and userName are often the same): a shorter text to scan per query
  const terms = new Set<string>();
  for (const p of parts) if (typeof p === 'string' && p) terms.add(p.toLowerCase());
  return [...terms].join(' ');
}

function scimSummary(scim: Record<string, unknown> | undefined) {
  if (!scim) return undefined;
  const userName = typeof scim.userName === 'string' ? scim.userName : undefined;
  const emails = Array.isArray(scim.emails) ? (scim.emails as Array<{ value?: unknown }>).map((e) => String(e?.value ?? '').toLowerCase()).filter(Boolean) : [];
  const ent = scim['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { employeeNumber?: unknown } | undefined;
  return {
    userName, userNameLower: userName?.toLowerCase(), externalId: scim.externalId as string | undefined, emailsLower: emails,
    employeeNumber: typeof ent?.employeeNumber === 'string' ? ent.employeeNumber : undefined,
  };
}

/**
 * The provisioning-log operation of an IdP event. Lifecycle events name their own operation (a PATCH
 * that sets active=false is a DEACTIVATE even though the request was an update); for attribute
 * changes the operation the ingress stamped on the request is used.
 */
function operationOf(e: DomainEvent, m: EventMetadata): string {
  switch (e.type) {
    case 'PersonProvisioned': return 'CREATE';
    case 'PersonCreated': return 'CREATE';
    case 'PersonRelinked': return 'CREATE';
    case 'Deactivated': return 'DEACTIVATE';
    case 'Reactivated': return 'REACTIVATE';
    case 'PersonUnlinked': return 'DELETE';
    case 'GroupCreated': return 'GROUP_CREATE';
    case 'GroupDeleted': return 'GROUP_DELETE';
    case 'GroupChanged': case 'GroupMembersChanged': return 'GROUP_UPDATE';
    default: return m.source.operation ?? 'UPDATE';
  }
}

export class Projections {
  constructor(private readonly rs: ReadStore, private readonly names: CollectionNames) {}

  private c(name: keyof CollectionNames) {
    return this.rs.collection(this.names[name]);
  }

  /** keys removed from each list (FieldRemoved), cached from the lists read model */
  private readonly removedFields = new Map<string, Set<string>>();
  private async removedOf(listId: string): Promise<Set<string>> {
    let set = this.removedFields.get(listId);
    if (!set) {
      const doc = await this.c('lists').findOne({ _id: listId }, { projection: { removedFields: 1 } });
      set = new Set((doc?.removedFields as string[] | undefined) ?? []);
      if (this.removedFields.size > 10_000) this.removedFields.clear();
      this.removedFields.set(listId, set);
    }
    return set;
  }
  /** a person's fields without those removed from the list */
  private async visibleFields(listId: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const removed = await this.removedOf(listId);
    if (!removed.size) return fields;
    let out: Record<string, unknown> | null = null;
    for (const k of removed) if (Object.hasOwn(fields, k)) { out ??= { ...fields }; delete out[k]; }
    return out ?? fields;
  }

  private async personLoaded(personId: string) {
    return this.c('people').findOne({ _id: personId });
  }

  private async bumpCounts(listId: string, position: number, inc: { active?: number; inactive?: number }) {
    const $inc: Record<string, number> = {};
    if (inc.active) $inc['counts.active'] = inc.active;
    if (inc.inactive) $inc['counts.inactive'] = inc.inactive;
    if (!Object.keys($inc).length) return;
    // guarded: a list document remembers the last position applied to it
    await this.c('lists').updateOne({ _id: listId, lastPosition: { $lt: position } }, { $inc, $set: { lastPosition: position } });
  }

  /**
   * Events that failed their schema when read (corruption, or a writer that bypassed validation):
   * skipped, never half-applied, counted here and shown on /healthz (projector.invalidEvents), so
   * one bad event neither stops the read models nor passes unnoticed. Validation on append makes
   * them a sign of damage, which `muster audit verify` then locates.
   */
  readonly invalid = { count: 0, last: null as string | null };

  /** Apply one stored event to the read models (idempotent: guarded by positions). */
  async apply(r: RecordedEvent): Promise<void> {
    let e: DomainEvent;
    try {
      e = toDomainEvent(r);
    } catch (err) {
      if (!(err instanceof EventValidationError)) throw err;
      this.invalid.count++;
      this.invalid.last = `position ${r.position}: ${err.message}`.slice(0, 500);
      return;
    }
    return this.applyEvent(r, e);
  }

  private async applyEvent(r: RecordedEvent, e: DomainEvent): Promise<void> {
    const m = r.metadata as unknown as EventMetadata;
    const p = r.position;
    const at = iso(m);
    switch (e.type) {
      case 'OrganisationCreated':
        return guarded(this.c('organisations'), e.data.orgId, p, {}, () => ({ _id: e.data.orgId, name: e.data.name, plan: e.data.plan, createdAt: at }));
      case 'OrganisationPlanChanged':
        return guarded(this.c('organisations'), e.data.orgId, p, { $set: { plan: e.data.plan } });
      case 'AdminTokenIssued':
        return guarded(this.c('admin_tokens'), e.data.tokenId, p, {}, () => ({
          _id: e.data.tokenId, orgId: e.data.orgId, role: e.data.role, prefix: e.data.prefix, label: e.data.label ?? null, createdAt: at, revokedAt: null,
          revokedReason: null, expiresAt: e.data.expiresAt ?? null, lifetimeDays: e.data.lifetimeDays ?? null, rotatedFrom: e.data.rotatedFrom ?? null,
        }));
      case 'AdminTokenRevoked':
        return guarded(this.c('admin_tokens'), e.data.tokenId, p, { $set: { revokedAt: at, revokedReason: e.data.reason ?? 'revoked' } });
      case 'AdminTokenExpiryScheduled':
        return guarded(this.c('admin_tokens'), e.data.tokenId, p, { $set: { expiresAt: e.data.expiresAt } });
      case 'ListCreated':
        return guarded(this.c('lists'), e.data.listId, p, {}, () => ({
          _id: e.data.listId, orgId: e.data.orgId, name: e.data.name, description: e.data.description ?? null, fields: [], sync: null,
          mappings: [], groupRules: [], counts: { active: 0, inactive: 0 }, lastSyncAt: null, createdAt: at, updatedAt: at,
        }));
      case 'ListUpdated': {
        const $set: Record<string, unknown> = { updatedAt: at };
        if (e.data.name !== undefined) $set.name = e.data.name;
        if (e.data.description !== undefined) $set.description = e.data.description;
        return guarded(this.c('lists'), e.data.listId, p, { $set });
      }
      case 'FieldAdded':
        this.removedFields.get(e.data.listId)?.delete(e.data.field.key);
        return guarded(this.c('lists'), e.data.listId, p, { $push: { fields: e.data.field }, $pull: { removedFields: e.data.field.key }, $set: { updatedAt: at } });
      case 'FieldRemoved': {
        // the field's values leave the people (and session copies) of the list; later person events
        // still carrying them (a person's state keeps every field it had) are filtered (visibleFields)
        (await this.removedOf(e.data.listId)).add(e.data.key);
        await guarded(this.c('lists'), e.data.listId, p, { $pull: { fields: { key: e.data.key } }, $addToSet: { removedFields: e.data.key }, $set: { updatedAt: at } });
        for (const name of ['people', 'session_people'] as const) {
          const holding = await this.c(name).find({ listId: e.data.listId, [`fields.${e.data.key}`]: { $exists: true } }, { projection: { _id: 1, fields: 1, scim: 1 } });
          for (const d of holding) {
            const { [e.data.key]: _gone, ...fields } = d.fields as Record<string, unknown>;
            await this.c(name).updateOne({ _id: d._id }, { $set: { fields, search: searchText(fields, [(d.scim as { userName?: string } | null)?.userName]) } });
          }
        }
        return;
      }
      case 'RetentionSet':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { retentionDays: e.data.inactiveDays, updatedAt: at } });
      case 'ListArchived':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { status: 'archived', eraseAfter: e.data.eraseAfter, updatedAt: at } });
      case 'ListErased':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { status: 'erased', erasedAt: at, updatedAt: at } });
      case 'ScimConnected':
        return guarded(this.c('lists'), e.data.listId, p, {
          $push: { fields: { $each: e.data.fieldsAdded } },
          $set: { sync: { provider: 'scim', uniqueIdentifier: e.data.uniqueIdentifier, connectedAt: at }, mappings: e.data.mappings, updatedAt: at },
        });
      case 'EntraConnected':
        return guarded(this.c('lists'), e.data.listId, p, {
          $push: { fields: { $each: e.data.fieldsAdded } },
          $set: {
            sync: {
              provider: 'entra', uniqueIdentifier: e.data.uniqueIdentifier, tenantId: e.data.tenantId, clientId: e.data.clientId, groupIds: e.data.groupIds,
              extensionAttributes: e.data.extensionAttributes ?? [], schedule: e.data.schedule ?? null,
              deactivationThreshold: e.data.deactivationThreshold === undefined ? 0.2 : e.data.deactivationThreshold, secretSetAt: null, connectedAt: at,
            },
            mappings: e.data.mappings, updatedAt: at,
          },
        });
      case 'EntraSettingsChanged': {
        const $set: Record<string, unknown> = { updatedAt: at };
        for (const k of ['groupIds', 'extensionAttributes', 'schedule', 'deactivationThreshold'] as const) if (e.data[k] !== undefined) $set[`sync.${k}`] = e.data[k];
        return guarded(this.c('lists'), e.data.listId, p, { $set });
      }
      case 'EntraSecretSet':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { 'sync.secretSetAt': at, updatedAt: at } });
      case 'EntraRunStarted':
        return guarded(this.c('entra_runs'), e.data.runId, p, {}, () => ({
          _id: e.data.runId, listId: e.data.listId, status: 'running', trigger: e.data.trigger, mode: e.data.mode, fullReason: e.data.fullReason,
          summary: { created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0 }, pages: 0, throttledWaits: 0,
          startedAt: e.data.startedAt, finishedAt: null, error: null, held: 0, changesetId: null,
        }));
      case 'EntraRunProgress':
        return guarded(this.c('entra_runs'), e.data.runId, p, { $set: { pages: e.data.pages } });
      case 'EntraUsersTracked':
        return;
      case 'EntraUserFailed':
        await this.logEntry(r, {
          listId: e.data.listId, operation: 'SYNC', status: 'FAILED', resourceType: 'User', resourceId: e.data.personId,
          error: { status: '422', detail: `${e.data.error.code}: ${e.data.error.message}`.slice(0, 1_000) }, changes: [], source: 'entra',
          changesetId: null, importId: null, runId: e.data.runId, entraUserId: e.data.userId,
        });
        return;
      case 'EntraRunFinished': {
        await guarded(this.c('entra_runs'), e.data.runId, p, { $set: {
          status: e.data.status, mode: e.data.mode, fullReason: e.data.fullReason, summary: e.data.summary, pages: e.data.pages, throttledWaits: e.data.throttledWaits,
          finishedAt: e.data.finishedAt, error: e.data.error, held: e.data.held ?? 0, changesetId: e.data.changesetId ?? null,
        } });
        if (e.data.status !== 'failed') await this.c('lists').updateOne({ _id: e.data.listId }, { $max: { lastSyncAt: at } });
        return;
      }
      case 'EntraDisconnected':
      case 'ScimDisconnected':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { sync: null, updatedAt: at } });
      case 'MappingsChanged':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { mappings: e.data.mappings, groupRules: e.data.groupRules, updatedAt: at } });
      case 'RemapCompleted':
        return guarded(this.c('lists'), e.data.listId, p, { $set: { lastRemap: { mappingsVersion: e.data.mappingsVersion, remapped: e.data.remapped, completedAt: at } } });
      case 'ScimTokenIssued':
        return guarded(this.c('tokens'), e.data.tokenId, p, {}, () => ({
          _id: e.data.tokenId, listId: e.data.listId, prefix: e.data.prefix, createdAt: at, expiresAt: e.data.expiresAt,
          revokedAt: null, rotatedFrom: e.data.rotatedFrom ?? null, label: e.data.label ?? null,
        }));
      case 'ScimTokenExpiryScheduled':
        return guarded(this.c('tokens'), e.data.tokenId, p, { $set: { expiresAt: e.data.expiresAt } });
      case 'ScimTokenRevoked':
        return guarded(this.c('tokens'), e.data.tokenId, p, { $set: { revokedAt: at, revokedReason: e.data.reason } });
      case 'PersonProvisioned':
      case 'PersonCreated': {
        const scim = e.type === 'PersonProvisioned' ? e.data.scim : undefined;
        const status = e.type === 'PersonProvisioned' ? e.data.status : 'active';
        // a person is created once (revision 0 of its stream): when the document exists, this event was applied
        const before = await this.c('people').findOne({ _id: e.data.personId }, { projection: { _id: 1 } });
        if (before) break;
        // counts first: the bump is guarded by the list's position, so a replay after a crash between
        // the two writes neither skips nor repeats it
        await this.bumpCounts(e.data.listId, p, status === 'active' ? { active: 1 } : { inactive: 1 });
        const fields = await this.visibleFields(e.data.listId, e.data.fields);
        await insertOnce(this.c('people'), {
          _id: e.data.personId, listId: e.data.listId, status, fields, linked: !!scim, scim: scimSummary(scim) ?? null,
          groups: [], createdAt: at, updatedAt: at, search: searchText(fields, [scim?.userName]), source: m.source.kind,
          ...(status === 'inactive' ? { deactivatedAt: at } : {}),
          scimResource: scim ?? null, revision: r.revision, lastPosition: p,
        });
        break;
      }
      case 'AttributesChanged': {
        const person = await this.personLoaded(e.data.personId);
        const scim = e.data.scim ?? undefined;
        const fields = await this.visibleFields(e.data.listId, e.data.fields);
        const $set: Record<string, unknown> = { fields, updatedAt: at, search: searchText(fields, [scim?.userName ?? (person?.scim as { userName?: string } | null)?.userName]) };
        $set.revision = r.revision;
        if (scim) { $set.scim = scimSummary(scim); $set.scimResource = scim; }
        await guarded(this.c('people'), e.data.personId, p, { $set });
        break;
      }
      case 'Deactivated':
      case 'Reactivated':
      case 'PersonUnlinked':
      case 'PersonRelinked': {
        const person = await this.personLoaded(e.data.personId);
        if (!person || (person.lastPosition as number) >= p) break;
        const newStatus = e.type === 'Reactivated' || (e.type === 'PersonRelinked' && e.data.scim.active !== false) ? 'active' : 'inactive';
        const $set: Record<string, unknown> = { status: newStatus, updatedAt: at };
        if (e.type === 'PersonUnlinked') $set.linked = false;
        if (e.type === 'PersonRelinked') { $set.linked = true; $set.scim = scimSummary(e.data.scim); }
        if ('fields' in e.data && e.data.fields) {
          const fields = await this.visibleFields(e.data.listId, e.data.fields);
          $set.fields = fields;
          $set.search = searchText(fields, [(e.data as { scim?: { userName?: unknown } }).scim?.userName ?? (person.scim as { userName?: string } | null)?.userName]);
        }
        // since when a person is inactive (the retention policy counts from it)
        if (newStatus !== person.status) $set.deactivatedAt = newStatus === 'inactive' ? at : null;
        const scimAfter = (e.data as { scim?: Record<string, unknown> }).scim;
        if (scimAfter) { $set.scim = scimSummary(scimAfter); $set.scimResource = scimAfter; }
        else if (e.type !== 'PersonUnlinked' && person.scimResource) $set.scimResource = { ...(person.scimResource as object), active: newStatus === 'active' };
        $set.revision = r.revision;
        // counts before the person (see PersonProvisioned): a replay sees the person unchanged and the bump applied
        if (person.status !== newStatus) {
          await this.bumpCounts(e.data.listId, p, newStatus === 'active' ? { active: 1, inactive: -1 } : { active: -1, inactive: 1 });
        }
        await guarded(this.c('people'), e.data.personId, p, { $set });
        break;
      }
      case 'PersonErased': {
        // everything the read models hold of the person goes: the roster entry (and its count), the
        // provisioning-log entries about them, their session copies, their group memberships
        const person = await this.personLoaded(e.data.personId);
        if (person) {
          // who was on the list and since when, without anything personal (point-in-time rosters)
          await insertOnce(this.c('erasures'), { _id: e.data.personId, listId: e.data.listId, createdAt: person.createdAt, erasedAt: at, trigger: e.data.trigger });
          await this.bumpCounts(e.data.listId, p, person.status === 'active' ? { active: -1 } : { inactive: -1 });
          await this.c('people').deleteOne({ _id: e.data.personId });
        }
        await this.c('provisioning_log').deleteMany({ listId: e.data.listId, resourceId: e.data.personId });
        await this.c('session_people').deleteMany({ listId: e.data.listId, personId: e.data.personId });
        await this.c('groups').updateMany({ listId: e.data.listId, members: e.data.personId }, { $pull: { members: e.data.personId } });
        return;
      }
      case 'GroupCreated':
        await guarded(this.c('groups'), e.data.groupId, p, {}, () => ({ _id: e.data.groupId, listId: e.data.listId, displayName: e.data.displayName, displayNameLower: e.data.displayName.toLowerCase(), externalId: e.data.externalId ?? null, members: e.data.members, createdAt: at, updatedAt: at, revision: r.revision }));
        for (const personId of e.data.members) await guarded(this.c('people'), personId, p, { $addToSet: { groups: e.data.groupId } });
        break;
      case 'GroupChanged':
      case 'GroupMembersChanged': {
        const $set: Record<string, unknown> = { updatedAt: at, revision: r.revision };
        if (e.type === 'GroupChanged') Object.assign($set, { displayName: e.data.displayName, displayNameLower: e.data.displayName.toLowerCase(), externalId: e.data.externalId ?? null });
        await guarded(this.c('groups'), e.data.groupId, p, { $addToSet: { members: { $each: e.data.added } }, $set });
        // same position as the guarded update above: applies once per delivery of this event
        if (e.data.removed.length) await this.c('groups').updateOne({ _id: e.data.groupId, lastPosition: p }, { $pull: { members: { $in: e.data.removed } } });
        for (const personId of e.data.added) await guarded(this.c('people'), personId, p, { $addToSet: { groups: e.data.groupId } });
        for (const personId of e.data.removed) await guarded(this.c('people'), personId, p, { $pull: { groups: e.data.groupId } });
        break;
      }
      case 'GroupDeleted':
        await this.c('groups').deleteOne({ _id: e.data.groupId });
        for (const personId of e.data.members) await guarded(this.c('people'), personId, p, { $pull: { groups: e.data.groupId } });
        break;
      case 'ScimRequestLogged':
        await this.logEntry(r, {
          listId: e.data.listId, operation: e.data.operation, status: e.data.status, resourceType: e.data.resourceType,
          resourceId: e.data.resourceId ?? null, error: e.data.error ?? null, changes: [], source: 'scim', changesetId: null, importId: null,
        });
        return;
      case 'ValueReserved':
      case 'ValueReleased':
        return;
      case 'ImportUploaded':
        return guarded(this.c('imports'), e.data.importId, p, {}, () => ({
          _id: e.data.importId, listId: e.data.listId, fileName: e.data.fileName, bytes: e.data.bytes, rows: e.data.rows, columns: e.data.columns,
          status: 'uploaded', summary: null, changesetId: null, failure: null, createdAt: at, updatedAt: at,
        }));
      case 'ImportMappingSet':
        return guarded(this.c('imports'), e.data.importId, p, { $set: { status: 'validating', summary: null, changesetId: null, failure: null, updatedAt: at } });
      case 'ImportErrorsFound':
        return; // the faults are read from the import's stream (GET .../errors)
      case 'ImportValidated':
        return guarded(this.c('imports'), e.data.importId, p, { $set: { status: 'ready', summary: e.data.summary, changesetId: e.data.changesetId, updatedAt: at } });
      case 'ImportFailed':
        return guarded(this.c('imports'), e.data.importId, p, { $set: { status: 'failed', failure: e.data.reason, updatedAt: at } });
      case 'ImportCompleted':
        return guarded(this.c('imports'), e.data.importId, p, { $set: { status: 'applied', updatedAt: at } });
      case 'SessionCreated':
        return guarded(this.c('sessions'), e.data.sessionId, p, {}, () => ({
          _id: e.data.sessionId, listId: e.data.listId, name: e.data.name, filter: e.data.filter, people: e.data.people, edited: 0,
          snapshotPosition: e.data.snapshotPosition, changesets: [], createdAt: at, updatedAt: at,
        }));
      case 'SessionPeopleCopied':
        for (const x of e.data.people) {
          await insertOnce(this.c('session_people'), {
            _id: `${e.data.sessionId}:${x.personId}`, sessionId: e.data.sessionId, listId: e.data.listId, personId: x.personId,
            status: x.status, fields: x.fields, base: { status: x.status, fields: x.fields, revision: x.revision }, edited: false,
            search: searchText(x.fields, []), createdAt: x.createdAt, lastPosition: p,
          });
        }
        return;
      case 'SessionPersonEdited': {
        const id = `${e.data.sessionId}:${e.data.personId}`;
        const doc = await this.c('session_people').findOne({ _id: id });
        if (!doc || (doc.lastPosition as number) >= p) return;
        const fields = { ...(doc.fields as Record<string, unknown>) };
        for (const c of e.data.fieldChanges) {
          if (c.new === null || c.new === undefined || c.new === '') delete fields[c.field];
          else fields[c.field] = c.new;
        }
        await guarded(this.c('sessions'), e.data.sessionId, p, { $set: { edited: e.data.editedPeople, updatedAt: at } });
        return guarded(this.c('session_people'), id, p, { $set: { fields, status: e.data.status?.new ?? doc.status, edited: e.data.edited, search: searchText(fields, []) } });
      }
      case 'ChangesetOpened':
        await guarded(this.c('changesets'), e.data.changesetId, p, {}, () => ({
          _id: e.data.changesetId, listId: e.data.listId, origin: e.data.origin, basePosition: e.data.basePosition, reviewedPosition: e.data.reviewedPosition,
          ...e.data.summary, createdAt: at, updatedAt: at,
        }));
        if (e.data.origin.kind === 'session') await guarded(this.c('sessions'), e.data.origin.id, p, { $push: { changesets: e.data.changesetId }, $set: { updatedAt: at } });
        return;
      case 'ChangesProposed':
      case 'ChangesDecided':
      case 'AllChangesDecided':
      case 'ChangesRereviewed':
      case 'ChangesetApplyStarted':
      case 'ChangesApplied':
      case 'ChangesetApplyFinished':
      case 'ChangesetRollbackStarted':
      case 'ChangesRolledBack':
      case 'ChangesetRollbackFinished':
      case 'ChangesetDiscarded': {
        const { status, counts, progress } = e.data.summary;
        const $set: Record<string, unknown> = { status, counts, progress, updatedAt: at };
        if (e.type === 'ChangesRereviewed') $set.reviewedPosition = e.data.reviewedPosition;
        return guarded(this.c('changesets'), e.data.changesetId, p, { $set });
      }
      default: {
        const never: never = e;
        void never;
        return;
      }
    }
    // successful IdP changes, and the changes of applied (or rolled back) changesets, are
    // provisioning-log entries, from the same events auditors replay
    const cause = (e.data as { cause?: string }).cause;
    const fromChangeset = cause === 'changeset' || cause === 'changeset-rollback';
    const fromIdp = m.source?.kind === 'scim' || (m.source?.kind === 'entra' && !fromChangeset);
    if ((fromIdp || fromChangeset) && 'listId' in e.data) {
      const data = e.data as { listId: string; personId?: string; groupId?: string; fieldChanges?: FieldChange[]; scimChanges?: unknown[]; cause?: string };
      await this.logEntry(r, {
        listId: data.listId, operation: operationOf(e, m), status: 'SUCCESS',
        resourceType: data.groupId ? 'Group' : 'User', resourceId: data.personId ?? data.groupId ?? null, error: null,
        changes: data.fieldChanges ?? [], scimChanges: data.scimChanges ?? [],
        // 'group-rule' when a group membership change re-derived the person's fields
        cause: data.cause ?? null,
        // a changeset's writes: from a session ('changeset') or a CSV import ('csv', correlated by the import)
        // Entra pulls: the run is the correlation (a changeset of a run's held deactivations names both)
        source: fromChangeset ? (m.source.kind === 'csv' ? 'csv' : m.source.kind === 'entra' ? 'entra' : 'changeset') : m.source.kind === 'entra' ? 'entra' : 'scim',
        changesetId: fromChangeset ? m.source.changesetId ?? m.correlationId : null,
        importId: fromChangeset && m.source.kind === 'csv' ? m.correlationId : null,
        runId: m.source.kind === 'entra' ? m.source.runId ?? m.correlationId : null,
      });
      if (!fromChangeset) await this.c('lists').updateOne({ _id: data.listId }, { $max: { lastSyncAt: at } });
    }
  }

  private async logEntry(r: RecordedEvent, entry: Record<string, unknown>) {
    const m = r.metadata as unknown as EventMetadata;
    const doc: Doc = {
      _id: r.eventId, position: r.position, at: m.occurredAt, ...entry,
      method: m.source.method ?? null, path: m.source.path ?? null, idp: m.source.idp ?? null, userAgent: m.source.userAgent ?? null,
      requestId: m.source.requestId ?? null, eventType: r.type, lastPosition: r.position,
    };
    try {
      await this.c('provisioning_log').insertOne(doc);
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err; // already applied
    }
  }
}
