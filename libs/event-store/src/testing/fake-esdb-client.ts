/**
 * In-memory stand-in for the parts of EventStoreDBClient the adapter uses, so the adapter's own
 * logic (revision mapping, exclusive positions, paging, filtering, system events) can be tested
 * without a server. It mimics the server's observable behaviour as documented / implemented:
 * - positions are byte offsets (increasing, not dense) with commit == prepare per event;
 * - forward $all reads from a position are inclusive, backward reads exclusive;
 * - catch-up subscriptions from a position start after it;
 * - system events ($-prefixed streams and types) and non-JSON events exist in $all;
 * - conflicts throw WrongExpectedVersionError, reading a missing stream throws StreamNotFoundError.
 * It is no substitute for running the contract against a real server (esdb.test.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type EventData,
  type EventStoreDBClient,
  type Filter,
  type Position,
  type ReadPosition,
  type ReadRevision,
} from '@eventstore/db-client';

interface StoredEvent {
  streamId: string;
  id: string;
  type: string;
  isJson: boolean;
  data: unknown;
  metadataJson: string;
  revision: bigint;
  created: Date;
  position: Position;
}

export interface FakeEsdb {
  client: EventStoreDBClient;
  /** system events written so far (they must never reach port users) */
  systemEvents(): number;
}

export function createFakeEsdbClient(options: { systemEventsAtStart?: number } = {}): FakeEsdb {
  const log: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const wakers = new Set<() => void>();
  let nextPosition = 1024n;

  const tick = () => new Promise<void>((r) => setImmediate(r));

  function write(streamId: string, type: string, data: unknown, metadataJson: string, isJson: boolean, id: string) {
    const list = streams.get(streamId) ?? [];
    streams.set(streamId, list);
    const position = { commit: nextPosition, prepare: nextPosition };
    nextPosition += 150n + BigInt(JSON.stringify(data ?? null).length);
    const e: StoredEvent = { streamId, id, type, isJson, data, metadataJson, revision: BigInt(list.length), created: new Date(), position };
    list.push(e);
    log.push(e);
    return e;
  }

  const systemNoise = () => write('$stats-fake', '$statsCollected', { cpu: Math.random() }, '', true, randomUUID());
  for (let i = 0; i < (options.systemEventsAtStart ?? 0); i++) systemNoise();
  write('legacy-binary', 'Blob', new Uint8Array([1, 2, 3]), '', false, randomUUID());

  const toRecorded = (e: StoredEvent) => ({
    streamId: e.streamId,
    id: e.id,
    isJson: e.isJson,
    revision: e.revision,
    type: e.type,
    created: e.created,
    data: e.data,
    metadata: e.metadataJson.length ? (JSON.parse(e.metadataJson) as unknown) : undefined,
    position: e.position,
  });
  const resolved = (e: StoredEvent) => ({ event: toRecorded(e), commitPosition: e.position.commit });

  function accepts(filter: Filter | undefined, e: StoredEvent): boolean {
    if (!filter) return true;
    const subject = filter.filterOn === 'streamName' ? e.streamId : e.type;
    if ('prefixes' in filter) return filter.prefixes.some((p) => subject.startsWith(p));
    return new RegExp(filter.regex).test(subject);
  }

  const client = {
    async appendToStream(streamName: string, events: EventData | EventData[], o: { expectedRevision?: AppendExpectedRevision } = {}) {
      await tick();
      const expected = o.expectedRevision ?? ANY;
      const list = streams.get(streamName);
      const current = list?.length ? BigInt(list.length - 1) : NO_STREAM;
      const ok =
        expected === ANY ||
        (expected === NO_STREAM && current === NO_STREAM) ||
        (expected === STREAM_EXISTS && current !== NO_STREAM) ||
        expected === current;
      if (!ok) throw new WrongExpectedVersionError(undefined, { streamName, expected, current });
      let last: StoredEvent | undefined;
      for (const e of Array.isArray(events) ? events : [events]) {
        // the real client sends JSON bytes and the server hands them back: round trip through JSON
        const data = JSON.parse(JSON.stringify(e.data)) as unknown;
        const metadataJson = e.metadata === undefined ? '' : JSON.stringify(e.metadata);
        last = write(streamName, e.type, data, metadataJson, e.contentType === 'application/json', e.id);
      }
      systemNoise();
      for (const w of wakers) w();
      return { success: true, nextExpectedRevision: last ? last.revision : BigInt(current === NO_STREAM ? -1 : current), position: last?.position };
    },

    readStream(streamName: string, o: { direction?: string; fromRevision?: ReadRevision; maxCount?: number | bigint } = {}) {
      return (async function* () {
        await tick();
        const list = streams.get(streamName);
        if (!list) throw new StreamNotFoundError(undefined, streamName);
        const max = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
        const from = o.fromRevision;
        let picked: StoredEvent[];
        if (o.direction === BACKWARDS) {
          const start = from === undefined || from === END ? list.length - 1 : Math.min(Number(from), list.length - 1);
          picked = list.slice(Math.max(0, start - max + 1), start + 1).reverse();
        } else {
          const start = from === undefined || from === START ? 0 : Number(from);
          picked = list.slice(start, start + max);
        }
        for (const e of picked) yield resolved(e);
      })();
    },

    readAll(o: { direction?: string; fromPosition?: ReadPosition; maxCount?: number | bigint } = {}) {
      return (async function* () {
        await tick();
        const max = Number(o.maxCount ?? Number.MAX_SAFE_INTEGER);
        const from = o.fromPosition ?? (o.direction === BACKWARDS ? END : START);
        let picked: StoredEvent[];
        if (o.direction === BACKWARDS) {
          const older = from === END ? log : log.filter((e) => e.position.commit < (from as Position).commit);
          picked = older.slice(Math.max(0, older.length - max)).reverse();
        } else {
          const newer = from === START ? log : from === END ? [] : log.filter((e) => e.position.commit >= (from as Position).commit);
          picked = newer.slice(0, max);
        }
        for (const e of picked) yield resolved(e);
      })();
    },

    subscribeToAll(o: { fromPosition?: ReadPosition; filter?: Filter } = {}) {
      let closed = false;
      let wake: (() => void) | undefined;
      const from = o.fromPosition ?? START;
      let index = from === START ? 0 : from === END ? log.length : log.findIndex((e) => e.position.commit > (from as Position).commit);
      if (index < 0) index = log.length;
      const events = (async function* () {
        while (!closed) {
          while (index < log.length && !closed) {
            const e = log[index++];
            if (accepts(o.filter, e)) yield resolved(e);
          }
          if (closed) return;
          await new Promise<void>((r) => {
            wake = r;
            wakers.add(r);
          });
          if (wake) wakers.delete(wake);
        }
      })();
      return {
        [Symbol.asyncIterator]: () => events,
        async unsubscribe() {
          closed = true;
          wake?.();
        },
      };
    },

    async dispose() {},
  };

  return {
    client: client as unknown as EventStoreDBClient,
    systemEvents: () => log.filter((e) => e.streamId.startsWith('$')).length,
  };
}
