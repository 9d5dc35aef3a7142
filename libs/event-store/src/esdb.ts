/**
 * Production adapter: EventStoreDB through @eventstore/db-client (gRPC).
 *
 * Why @eventstore/db-client and not @kurrent/kurrentdb-client: the user's design card names
 * EventStoreDB and this client, and v6.2 speaks to the EventStoreDB 24.x servers we deploy.
 * @kurrent/kurrentdb-client is its maintained successor (EventStoreDB was renamed KurrentDB) with the
 * same API shape (appendToStream / readStream / readAll / subscribeToAll, jsonEvent, the same
 * filters and errors), so switching is a mechanical rename of the import and of the client class
 * (EventStoreDBClient -> KurrentDBClient) plus the connection-string scheme (esdb:// -> kurrentdb://).
 *
 * Mapping to the port:
 * - position = the event's commit position as a number. For events appended over gRPC each event
 *   is its own committed prepare, so commit positions strictly increase per event (they are byte
 *   offsets in the server's log: increasing but not dense). Exact up to 2^53 bytes of log.
 * - fromPosition is exclusive in the port; the server's $all reads are inclusive, so the adapter
 *   skips events at or before it.
 * - System events ($-prefixed types or streams) and non-JSON events are not part of the port's
 *   world and are skipped by readAll, subscribeToAll and headPosition.
 * - Filters: subscribeToAll uses a server-side filter (stream prefixes, else an exact-type regex,
 *   else "exclude system events") and re-checks every event client-side. The client has no
 *   server-side filter for readAll, so readAll filters client-side, page by page.
 * - Subscriptions: `done` resolves after stop()/close() and rejects with the handler's error (or a
 *   dropped connection); the rejection is pre-handled, so it never crashes the process.
 */
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Filter,
  type JSONType,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { matchesFilter } from './filter.ts';
import {
  WrongExpectedRevisionError,
  type AppendResult,
  type EventFilter,
  type EventHandler,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from './port.ts';

export type EsdbEventStoreOptions =
  /** e.g. "esdb://localhost:2113?tls=false" */
  | { connectionString: string }
  /** a client owned by the caller: close() does not dispose it */
  | { client: EventStoreDBClient };

const READ_ALL_PAGE = 500;

type EsdbRecorded = NonNullable<ResolvedEvent['event']>;

function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

function toPort(e: EsdbRecorded): RecordedEvent {
  const commit = e.position?.commit;
  return {
    eventId: e.id,
    streamId: e.streamId,
    revision: Number(e.revision),
    // servers older than 22.6 do not return positions on stream reads
    position: commit === undefined ? -1 : Number(commit),
    type: e.type,
    data: (e.data ?? {}) as Record<string, unknown>,
    metadata: isPlainObject(e.metadata) ? e.metadata : {},
    created: e.created.getTime(),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** A user event: JSON, not a system event; `after` is the exclusive lower bound. */
function userEvent(resolved: AllStreamResolvedEvent | ResolvedEvent, after = -1): EsdbRecorded | undefined {
  const e = resolved.event;
  if (!e || !e.isJson || e.type.startsWith('$') || e.streamId.startsWith('$')) return undefined;
  if (e.position && Number(e.position.commit) <= after) return undefined;
  return e;
}

function readPositionAfter(position: number | undefined): ReadPosition {
  if (position === undefined || position < 0) return START;
  const p = BigInt(position);
  return { commit: p, prepare: p };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function serverFilter(filter: EventFilter | undefined): Filter {
  if (filter?.streamPrefixes?.length) return streamNameFilter({ prefixes: filter.streamPrefixes });
  if (filter?.eventTypes?.length) {
    return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
  }
  return excludeSystemEvents();
}

export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  const ownsClient = 'connectionString' in options;
  const client = ownsClient ? EventStoreDBClient.connectionString(options.connectionString) : options.client;
  const subscriptions = new Set<Subscription>();

  async function appendToStream(
    streamId: string,
    events: NewEvent[],
    appendOptions?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    const expected = appendOptions?.expectedRevision ?? 'any';
    try {
      const result = await client.appendToStream(
        streamId,
        events.map((e) => jsonEvent({ id: e.eventId, type: e.type, data: e.data as JSONType, metadata: e.metadata ?? {} })),
        { expectedRevision: toEsdbExpected(expected) },
      );
      return {
        nextExpectedRevision: Number(result.nextExpectedRevision),
        position: result.position ? Number(result.position.commit) : -1,
      };
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) {
        const actual = err.actualVersion;
        throw new WrongExpectedRevisionError(streamId, expected, typeof actual === 'bigint' ? Number(actual) : 'no_stream');
      }
      throw err;
    }
  }

  async function readStream(streamId: string, o: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = o.direction === 'backwards';
    if (o.maxCount === 0) return [];
    const out: RecordedEvent[] = [];
    try {
      const read = client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: o.fromRevision !== undefined ? BigInt(o.fromRevision) : backwards ? END : START,
        maxCount: o.maxCount === undefined || o.maxCount === Infinity ? Number.MAX_SAFE_INTEGER : o.maxCount,
      });
      for await (const resolved of read) if (resolved.event) out.push(toPort(resolved.event));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
    return out;
  }

  async function readAll(o: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = o.maxCount ?? Infinity;
    const out: RecordedEvent[] = [];
    let after = o.fromPosition ?? -1;
    while (out.length < limit) {
      let raw = 0;
      let last: Position | undefined;
      for await (const resolved of client.readAll({ fromPosition: readPositionAfter(after), maxCount: READ_ALL_PAGE })) {
        raw++;
        last = resolved.event?.position ?? last;
        const e = userEvent(resolved, after);
        if (e && matchesFilter(o.filter, e.streamId, e.type) && out.length < limit) out.push(toPort(e));
      }
      if (raw < READ_ALL_PAGE || !last) break;
      after = Number(last.commit);
    }
    return out;
  }

  function subscribeToAll(o: SubscribeOptions, handler: EventHandler): Subscription {
    const after = o.fromPosition ?? -1;
    const stream = client.subscribeToAll({ fromPosition: readPositionAfter(after), filter: serverFilter(o.filter) });
    let stopping = false;
    const done = (async () => {
      for await (const resolved of stream) {
        if (stopping) break;
        const e = userEvent(resolved, after);
        if (e && matchesFilter(o.filter, e.streamId, e.type)) await handler(toPort(e));
      }
    })().finally(() => {
      subscriptions.delete(sub);
      return stream.unsubscribe().catch(() => undefined);
    });
    done.catch(() => undefined);
    const sub: Subscription = {
      done,
      async stop() {
        stopping = true;
        await stream.unsubscribe().catch(() => undefined);
        await done.catch(() => undefined);
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  async function headPosition(): Promise<number> {
    let from: ReadPosition = END;
    for (;;) {
      let raw = 0;
      let last: Position | undefined;
      for await (const resolved of client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: READ_ALL_PAGE })) {
        raw++;
        last = resolved.event?.position ?? last;
        const e = userEvent(resolved);
        if (e?.position) return Number(e.position.commit);
      }
      if (raw < READ_ALL_PAGE || !last) return -1;
      from = last; // backwards reads are exclusive of their start position
    }
  }

  async function close(): Promise<void> {
    await Promise.all([...subscriptions].map((s) => s.stop()));
    if (ownsClient) await client.dispose();
  }

  return { appendToStream, readStream, readAll, subscribeToAll, headPosition, close };
}
