/**
 * Point-in-time roster: GET /api/v1/lists/{id}/people?asOf=<RFC 3339>.
 *
 * The roster is recomputed from the log: the list's person and group events whose occurredAt is at
 * or before `asOf` are folded by the projector's own projection code into a scratch in-memory read
 * store, which then answers the same query (status, q, eq./contains., sort, limit, cursor) as the
 * live endpoint. Cost: O(person + group events in the whole log) per request (the filter on the list
 * happens after reading); reading stops early once the store's own timestamps are well past
 * `asOf`. Fine for audits and spot checks; a per-list index or snapshots would make it cheap.
 */
import { z } from 'zod';
import { streamPrefixes } from '@muster/contracts';
import { DomainError } from '@muster/domain';
import type { EventStore } from '@muster/event-store';
import { Projections, collectionNames } from '@muster/projector';
import { createMemoryReadStore, escapeRegex, type Doc, type Filter, type Sort } from '@muster/read-store';

/** the query parameter (registered on the people route's querystring schema) */
export const AsOfParam = z.string().datetime({ offset: true }).optional()
  .describe('RFC 3339 time: the roster as it was then, recomputed from the event log (O(events); same filters)');

/** the people endpoint's query; other keys (eq.<field>, contains.<field>) are field filters */
export interface PeopleQueryBase {
  status: 'active' | 'inactive' | 'all';
  q?: string;
  sort?: string;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
}
export type PeopleAsOfQuery = PeopleQueryBase & { asOf: string } & Record<string, unknown>;

export interface ListForHistory {
  listId: string;
  fields: Array<{ key: string }>;
}

/** store timestamps this far past asOf end the scan (events are stamped before they are stored) */
const CLOCK_MARGIN_MS = 5 * 60_000;
const PAGE = 2_000;

/** The list's people as of `asOf`, in the live endpoint's response shape plus `asOf`. */
export async function peopleAsOf(
  store: EventStore, list: ListForHistory, query: PeopleAsOfQuery,
  /** how an item is shown (the live endpoint passes its own); default: the document without internals */
  view: (doc: Doc) => Record<string, unknown> = personView,
) {
  const asOf = Date.parse(query.asOf);
  if (!Number.isFinite(asOf)) throw new DomainError('invalid', 'asOf must be an RFC 3339 time');
  const { filter, sort, offset } = peopleQuery(list, query);

  const scratch = createMemoryReadStore();
  const projections = new Projections(scratch, collectionNames(''));
  let from = -1;
  scan: for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: PAGE, filter: { streamPrefixes: [streamPrefixes.person, streamPrefixes.group] } });
    for (const e of page) {
      if (e.created > asOf + CLOCK_MARGIN_MS) break scan;
      if ((e.data as { listId?: unknown }).listId !== list.listId) continue;
      const at = Date.parse(String(e.metadata.occurredAt));
      if (at <= asOf) await projections.apply(e);
    }
    if (page.length < PAGE) break;
    from = page[page.length - 1].position;
  }

  const people = scratch.collection('people');
  const [items, total] = await Promise.all([people.find(filter, { sort, skip: offset, limit: query.limit }), people.countDocuments(filter)]);
  await scratch.close();
  const nextCursor = offset + items.length < total ? Buffer.from(JSON.stringify({ o: offset + items.length })).toString('base64url') : null;
  return { items: items.map((d) => view(d)), total, nextCursor, asOf: new Date(asOf).toISOString() };
}

/** The live endpoint's query semantics (status, q, eq./contains. on list fields, sort, cursor). */
export function peopleQuery(list: ListForHistory, query: PeopleQueryBase & Record<string, unknown>): { filter: Filter; sort: Sort; offset: number } {
  const filter: Filter = { listId: list.listId };
  if (query.status !== 'all') filter.status = query.status;
  if (query.q) filter.search = { $regex: escapeRegex(query.q.toLowerCase()) };
  const fieldKeys = new Set(list.fields.map((f) => f.key));
  for (const [k, v] of Object.entries(query)) {
    const m = /^(eq|contains)\.([a-zA-Z][a-zA-Z0-9_]*)$/.exec(k);
    if (!m) continue;
    if (!fieldKeys.has(m[2])) throw new DomainError('invalid', `unknown field "${m[2]}" in filter ${k}`);
    filter[`fields.${m[2]}`] = m[1] === 'eq' ? v : { $regex: escapeRegex(String(v)), $options: 'i' };
  }
  let sort: Sort = { createdAt: 1, _id: 1 };
  if (query.sort) {
    const key = ['createdAt', 'updatedAt', 'status'].includes(query.sort) ? query.sort : fieldKeys.has(query.sort) ? `fields.${query.sort}` : null;
    if (!key) throw new DomainError('invalid', `cannot sort by unknown field "${query.sort}"`);
    sort = { [key]: query.order === 'asc' ? 1 : -1, _id: 1 };
  }
  let offset = 0;
  if (query.cursor) {
    try {
      offset = z.object({ o: z.number().int().min(0) }).parse(JSON.parse(Buffer.from(query.cursor, 'base64url').toString())).o;
    } catch {
      throw new DomainError('invalid', 'bad cursor');
    }
  }
  return { filter, sort, offset };
}

export function personView(d: Doc): Record<string, unknown> {
  const { _id, lastPosition, search, ...rest } = d;
  return { id: _id, ...rest };
}
