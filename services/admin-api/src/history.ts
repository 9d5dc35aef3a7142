/**
 * Point-in-time roster: GET /api/v1/lists/{id}/people?asOf=<RFC 3339>.
 *
 * The roster is recomputed from the log: the events of the list's people, and the list's group
 * events, whose occurredAt is at or before `asOf` are folded in log order by the projector's own
 * projection code (into the rebuild's staging maps); the resulting people, loaded into a scratch
 * in-memory read store, answer the same query (status, q, eq./contains., sort, limit, cursor) as
 * the live endpoint.
 *
 * Which person streams belong to the list is looked up in the people read model (people are never
 * deleted, and a person's list never changes), so the work is O(the list's own events + the log's
 * group events): a small list in a large log costs little. Each person's state still comes from
 * their own events only; the read model serves as the index of stream ids, and the caller waits
 * until it has projected the whole log as it stood when the request came in.
 */
import { z } from 'zod';
import { streamPrefixes, streams } from '@muster/contracts';
import { DomainError } from '@muster/domain';
import type { EventStore, RecordedEvent } from '@muster/event-store';
import { Projections, collectionNames, createStagingReadStore } from '@muster/read-models';
import type { Doc, Filter, ReadStore, Sort } from '@muster/read-store';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { decodeCursor, nextCursor, rosterFilter, rosterSort } from './roster-query.ts';

/** the query parameter (registered on the people route's querystring schema) */
export const AsOfParam = z.string().datetime({ offset: true }).optional()
  .describe('RFC 3339 time: the roster as it was then, recomputed from the event log (the list\'s own events; same filters)');

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

/**
 * clock margin: people whose first event is stamped up to this far past asOf are still read (their
 * later events are filtered by time as usual), and store timestamps this far past asOf end the scan
 * of group events (events are stamped before they are stored)
 */
const CLOCK_MARGIN_MS = 5 * 60_000;
const PAGE = 2_000;
/** person streams read at once */
const STREAM_BATCH = 256;
/** events folded between two turns of the event loop */
const YIELD_EVERY = 1_000;

const occurredBy = (e: RecordedEvent, asOf: number) => Date.parse(String(e.metadata.occurredAt)) <= asOf;

/**
 * The list's people as of `asOf`, in the live endpoint's response shape plus `asOf`. `readStore`
 * (the people read model) must have projected the log at least up to every person created by then.
 */
export async function peopleAsOf(
  store: EventStore, readStore: ReadStore, list: ListForHistory, query: PeopleAsOfQuery,
  /** how an item is shown (the live endpoint passes its own); default: the document without internals */
  view: (doc: Doc) => Record<string, unknown> = personView,
) {
  const asOf = Date.parse(query.asOf);
  if (!Number.isFinite(asOf)) throw new DomainError('invalid', 'asOf must be an RFC 3339 time');
  const { filter, sort, offset } = peopleQuery(list, query);
  const horizon = asOf + CLOCK_MARGIN_MS;

  // the list's person streams (read model as index: createdAt is the first event's occurredAt)
  const since = { listId: list.listId, createdAt: { $lte: new Date(horizon).toISOString() } };
  // and the people erased since (their events read [erased] where they held personal data)
  const people = [
    ...await readStore.collection('people').find(since, { projection: { _id: 1 } }),
    ...await readStore.collection('erasures').find(since, { projection: { _id: 1 } }),
  ];
  const events: RecordedEvent[] = [];
  for (let i = 0; i < people.length; i += STREAM_BATCH) {
    const read = await Promise.all(people.slice(i, i + STREAM_BATCH).map((d) => store.readStream(streams.person(String(d._id)))));
    for (const stream of read) for (const e of stream) if (occurredBy(e, asOf)) events.push(e);
  }
  // the list's group events (memberships show on people): only group streams are decoded
  let from = -1;
  scan: for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: PAGE, filter: { streamPrefixes: [streamPrefixes.group] } });
    for (const e of page) {
      if (e.created > horizon) break scan;
      if ((e.data as { listId?: unknown }).listId === list.listId && occurredBy(e, asOf)) events.push(e);
    }
    if (page.length < PAGE) break;
    from = page[page.length - 1].position;
  }

  // folded in log order, as the projector folded them (a group change applies to the person state
  // of its time), into plain maps (the rebuild's staging store), then loaded once for the query
  events.sort((a, b) => a.position - b.position);
  const staging = createStagingReadStore();
  const names = collectionNames('');
  const projections = new Projections(staging, names);
  for (let i = 0; i < events.length; i++) {
    await projections.apply(events[i]);
    // the staging store answers without I/O: let other requests on this thread run now and then
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setImmediate(r));
  }
  const scratch = createMemoryReadStore();
  const docs = staging.collections().get(names.people)?.values() ?? [];
  if (scratch.bulkLoad) await scratch.bulkLoad(names.people, docs);
  else for (const d of docs) await scratch.collection(names.people).insertOne(d);
  await staging.close();
  const folded = scratch.collection(names.people);
  const [items, total] = await Promise.all([folded.find(filter, { sort, skip: offset, limit: query.limit }), folded.countDocuments(filter)]);
  await scratch.close();
  return { items: items.map((d) => view(d)), total, nextCursor: nextCursor(offset, items.length, total), asOf: new Date(asOf).toISOString() };
}

/** The live endpoint's query semantics (status, q, eq./contains. on list fields, sort, cursor). */
export function peopleQuery(list: ListForHistory, query: PeopleQueryBase & Record<string, unknown>): { filter: Filter; sort: Sort; offset: number } {
  return { filter: rosterFilter(list, query, { listId: list.listId }), sort: rosterSort(list, query.sort, query.order), offset: decodeCursor(query.cursor) };
}

export function personView(d: Doc): Record<string, unknown> {
  const { _id, lastPosition, search, ...rest } = d;
  return { id: _id, ...rest };
}
