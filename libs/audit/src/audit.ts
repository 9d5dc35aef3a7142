/**
 * The auditor's view of the log, shared by `muster events export` and GET /api/v1/audit/events:
 * events as envelopes (store facts + data + metadata, hash chain included) and the filters.
 */
import { streamPrefixes } from '@muster/contracts';
import type { EventStore, RecordedEvent } from '@muster/event-store';

export interface AuditFilter {
  /** events about this list: data.listId (every list, person, group, token, reservation and SCIM log event carries it) */
  listId?: string;
  /**
   * events about this person: their own stream, events naming them in data.personId, reservations
   * they own, and group events that add, remove or list them as members
   */
  personId?: string;
  /** event types (any of) */
  types?: string[];
  /** occurredAt >= from (RFC 3339) */
  from?: string;
  /** occurredAt <= to (RFC 3339) */
  to?: string;
  /**
   * organisation scope (an organisation's token): only events of its lists (`listIds`), of the
   * organisation itself and of its admin tokens
   */
  scope?: { orgId: string; listIds: ReadonlySet<string> };
}

/** One exported event: { position, stream, revision, type, data, ...metadata }. */
export type AuditEnvelope = Record<string, unknown> & { position: number; stream: string; revision: number; type: string; data: Record<string, unknown> };

export function toEnvelope(e: RecordedEvent): AuditEnvelope {
  const out: AuditEnvelope = { position: e.position, stream: e.streamId, revision: e.revision, type: e.type, data: e.data };
  for (const [k, v] of Object.entries(e.metadata)) if (!(k in out)) out[k] = v;
  return out;
}

function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new TypeError(`${name} must be an RFC 3339 time, got "${value}"`);
  return t;
}

function mentions(list: unknown, id: string): boolean {
  return Array.isArray(list) && list.includes(id);
}

/** A predicate for the filter (throws TypeError on a bad time). */
/** whether an event's data belongs to an organisation: an event of one of its lists, or naming it */
function ownedBy(d: Record<string, unknown>, scope: { orgId: string; listIds: ReadonlySet<string> }): boolean {
  return (typeof d.listId === 'string' && scope.listIds.has(d.listId)) || d.orgId === scope.orgId;
}

export function auditMatcher(filter: AuditFilter): (e: RecordedEvent) => boolean {
  const from = parseTime('from', filter.from);
  const to = parseTime('to', filter.to);
  const types = filter.types?.length ? new Set(filter.types) : null;
  const { listId, personId, scope } = filter;
  return (e) => {
    if (types && !types.has(e.type)) return false;
    const d = e.data as Record<string, unknown>;
    if (scope && !ownedBy(d, scope)) return false;
    if (listId !== undefined && d.listId !== listId) return false;
    if (personId !== undefined) {
      const about = e.streamId === `${streamPrefixes.person}${personId}` || d.personId === personId || d.ownerId === personId
        || mentions(d.members, personId) || mentions(d.added, personId) || mentions(d.removed, personId);
      if (!about) return false;
    }
    if (from !== undefined || to !== undefined) {
      const at = Date.parse(String(e.metadata.occurredAt));
      if (!Number.isFinite(at)) return false;
      if (from !== undefined && at < from) return false;
      if (to !== undefined && at > to) return false;
    }
    return true;
  };
}

export interface ExportOptions {
  /** stop after this position (default: the head when the export starts, so it ends under load) */
  upTo?: number;
  /** events per read (default 1,000) */
  batchSize?: number;
}

/** The matching events in position order, read page by page (memory stays flat on any log size). */
export async function* exportEvents(store: EventStore, filter: AuditFilter, options: ExportOptions = {}): AsyncGenerator<RecordedEvent> {
  const match = auditMatcher(filter);
  const upTo = options.upTo ?? (await store.headPosition());
  const batchSize = options.batchSize ?? 1_000;
  const storeFilter = filter.types?.length ? { eventTypes: filter.types } : undefined;
  let from = -1;
  while (from < upTo) {
    const page = await store.readAll({ fromPosition: from, maxCount: batchSize, filter: storeFilter });
    for (const e of page) {
      if (e.position > upTo) return;
      if (match(e)) yield e;
    }
    if (page.length < batchSize) return;
    from = page[page.length - 1].position;
  }
}

/** The lists of an organisation, from the log (ListCreated carries orgId). */
export async function listsOfOrganisation(store: EventStore, orgId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let from = -1;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: 5_000, filter: { streamPrefixes: [streamPrefixes.list], eventTypes: ['ListCreated'] } });
    for (const e of page) if ((e.data as { orgId?: unknown }).orgId === orgId) ids.add(String((e.data as { listId?: unknown }).listId));
    if (page.length < 5_000) return ids;
    from = page[page.length - 1].position;
  }
}

/**
 * The streams an organisation owns, as a `select` for verifyLog / logDigest: a stream belongs to the
 * organisation when its first event does (an event of one of its lists, or naming it), and then
 * every event of the stream does, so the per-stream hash chains can be checked on their own.
 */
export function organisationStreams(scope: { orgId: string; listIds: ReadonlySet<string> }): (e: RecordedEvent) => boolean {
  const owned = new Map<string, boolean>();
  return (e) => {
    let mine = owned.get(e.streamId);
    if (mine === undefined) {
      mine = ownedBy(e.data as Record<string, unknown>, scope);
      owned.set(e.streamId, mine);
    }
    return mine;
  };
}
