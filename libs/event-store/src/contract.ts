/**
 * Contract suite for EventStore adapters. Every adapter's test file calls eventStoreContract().
 *
 * The suite works against a shared, non-empty store (a real EventStoreDB): every test uses stream
 * names with a random suffix and only looks at positions after the head it saw when it started.
 * Positions are only assumed to strictly increase, not to be dense.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyLog, withHashChain } from './hash-chain.ts';
import {
  WrongExpectedRevisionError,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
} from './port.ts';

export interface ContractFixture {
  store: EventStore;
  cleanup: () => Promise<void>;
}

export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newEvent(type: string, data: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): NewEvent {
  return { eventId: randomUUID(), type, data, metadata };
}

async function expectConflict(
  attempt: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | 'no_stream',
): Promise<void> {
  const outcome = await attempt.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  expect(outcome, 'append should have been rejected').toHaveProperty('error');
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  expect(error).toMatchObject({ code: 'WRONG_EXPECTED_REVISION', streamId, expected, actual });
}

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) {
    expect(values[i], `value #${i} (${values[i]}) after ${values[i - 1]}`).toBeGreaterThan(values[i - 1]);
  }
}

const summary = (e: RecordedEvent) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata });

export function eventStoreContract(name: string, factory: () => Promise<ContractFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: (() => Promise<void>) | undefined;
    const run = randomUUID().slice(0, 8);
    const streamName = (label: string) => `contract${run}-${label}-${randomUUID().slice(0, 8)}`;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    describe('append and read', () => {
      it('reads back appended events with ids, types, data, metadata, revisions and positions', async () => {
        const s = streamName('basic');
        const before = Date.now();
        const events = [newEvent('Created', { n: 1 }, { by: 'alice' }), newEvent('Renamed', { n: 2 }), newEvent('Renamed', { n: 3 })];
        const result = await store.appendToStream(s, events, { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(2);

        const read = await store.readStream(s);
        expect(read.map(summary)).toEqual(events.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata })));
        expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
        expect(read.every((e) => e.streamId === s)).toBe(true);
        expectStrictlyIncreasing(read.map((e) => e.position));
        expect(read[2].position).toBe(result.position);
        for (const e of read) {
          expect(e.created).toBeGreaterThan(before - 60_000);
          expect(e.created).toBeLessThan(Date.now() + 60_000);
        }
      });

      it('returns [] for a stream that does not exist', async () => {
        expect(await store.readStream(streamName('missing'))).toEqual([]);
        expect(await store.readStream(streamName('missing'), { direction: 'backwards' })).toEqual([]);
      });

      it('continues revisions on later appends and reports the new revision', async () => {
        const s = streamName('continue');
        await store.appendToStream(s, [newEvent('A'), newEvent('B')]);
        const third = newEvent('C');
        const result = await store.appendToStream(s, [third], { expectedRevision: 1 });
        expect(result.nextExpectedRevision).toBe(2);
        const read = await store.readStream(s);
        expect(read.map((e) => e.type)).toEqual(['A', 'B', 'C']);
        expect(read[2]).toMatchObject({ eventId: third.eventId, revision: 2, position: result.position });
      });
    });

    describe('expected revision', () => {
      it("'no_stream' creates a stream and conflicts once it exists", async () => {
        const s = streamName('nostream');
        await store.appendToStream(s, [newEvent('A'), newEvent('B')], { expectedRevision: 'no_stream' });
        await expectConflict(store.appendToStream(s, [newEvent('C')], { expectedRevision: 'no_stream' }), s, 'no_stream', 1);
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it("'stream_exists' conflicts on a missing stream and succeeds on an existing one", async () => {
        const s = streamName('exists');
        await expectConflict(
          store.appendToStream(s, [newEvent('A')], { expectedRevision: 'stream_exists' }),
          s,
          'stream_exists',
          'no_stream',
        );
        expect(await store.readStream(s)).toEqual([]);
        await store.appendToStream(s, [newEvent('A')], { expectedRevision: 'no_stream' });
        const result = await store.appendToStream(s, [newEvent('B')], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('an exact revision succeeds only when it is the current one', async () => {
        const s = streamName('exact');
        await expectConflict(store.appendToStream(s, [newEvent('X')], { expectedRevision: 0 }), s, 0, 'no_stream');
        await store.appendToStream(s, [newEvent('A'), newEvent('B')]);
        await expectConflict(store.appendToStream(s, [newEvent('X')], { expectedRevision: 0 }), s, 0, 1);
        await expectConflict(store.appendToStream(s, [newEvent('X')], { expectedRevision: 5 }), s, 5, 1);
        const ok = await store.appendToStream(s, [newEvent('C')], { expectedRevision: 1 });
        expect(ok.nextExpectedRevision).toBe(2);
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it("'any' (the default) appends whatever the stream state", async () => {
        const s = streamName('any');
        await store.appendToStream(s, [newEvent('A')], { expectedRevision: 'any' });
        await store.appendToStream(s, [newEvent('B')]);
        const r = await store.appendToStream(s, [newEvent('C')], { expectedRevision: 'any' });
        expect(r.nextExpectedRevision).toBe(2);
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('exactly one of several concurrent appends with the same exact revision wins', async () => {
        const s = streamName('race');
        await store.appendToStream(s, [newEvent('Start')]);
        const contenders = Array.from({ length: 8 }, (_, i) => newEvent('Claim', { i }));
        const outcomes = await Promise.allSettled(
          contenders.map((e) => store.appendToStream(s, [e], { expectedRevision: 0 })),
        );
        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [contenders[i]] : []));
        const losers = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
        expect(winners).toHaveLength(1);
        expect(losers).toHaveLength(7);
        for (const err of losers) expect(err).toBeInstanceOf(WrongExpectedRevisionError);
        const read = await store.readStream(s);
        expect(read.map((e) => e.eventId)).toEqual([read[0].eventId, winners[0].eventId]);
      });
    });

    describe('atomic batches', () => {
      it('a rejected batch writes none of its events', async () => {
        const s = streamName('atomic-reject');
        await store.appendToStream(s, [newEvent('A')]);
        await expectConflict(
          store.appendToStream(s, [newEvent('X'), newEvent('Y'), newEvent('Z')], { expectedRevision: 'no_stream' }),
          s,
          'no_stream',
          0,
        );
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A']);
      });

      it('concurrent batches to one stream are never interleaved', async () => {
        const s = streamName('atomic-batches');
        const batches = Array.from({ length: 8 }, (_, b) =>
          Array.from({ length: 5 }, (_, i) => newEvent('Item', { b, i })),
        );
        const results = await Promise.all(batches.map((batch) => store.appendToStream(s, batch)));
        const read = await store.readStream(s);
        expect(read).toHaveLength(40);
        expect(read.map((e) => e.revision)).toEqual(Array.from({ length: 40 }, (_, i) => i));
        expectStrictlyIncreasing(read.map((e) => e.position));
        batches.forEach((batch, b) => {
          const start = read.findIndex((e) => e.eventId === batch[0].eventId);
          expect(read.slice(start, start + 5).map((e) => e.eventId)).toEqual(batch.map((e) => e.eventId));
          expect(results[b].nextExpectedRevision).toBe(start + 4);
          expect(results[b].position).toBe(read[start + 4].position);
        });
      });
    });

    describe('appendToStreams (atomic across streams; optional)', () => {
      const has = () => typeof store.appendToStreams === 'function';
      it('appends to several streams at adjacent positions, in order, with a result per stream', async (ctx) => {
        if (!has()) { console.log(`SKIPPED ${name}: no appendToStreams (callers append one stream at a time)`); ctx.skip(); }
        const [a, b, c] = [streamName('multi-a'), streamName('multi-b'), streamName('multi-c')];
        await store.appendToStream(b, [newEvent('B0')]);
        const results = await store.appendToStreams!([
          { streamId: a, events: [newEvent('A0')], expectedRevision: 'no_stream' },
          { streamId: b, events: [newEvent('B1'), newEvent('B2')], expectedRevision: 0 },
          { streamId: c, events: [newEvent('C0')] },
        ]);
        expect(results.map((r) => r.nextExpectedRevision)).toEqual([0, 2, 0]);
        expect(results[1].position).toBe(results[0].position + 2);
        expect(results[2].position).toBe(results[1].position + 1);
        expect((await store.readStream(b)).map((e) => e.type)).toEqual(['B0', 'B1', 'B2']);
        const all = await store.readAll({ fromPosition: results[0].position - 1, maxCount: 4 });
        expect(all.map((e) => e.type)).toEqual(['A0', 'B1', 'B2', 'C0']);
        expect(all.map((e) => e.position)).toEqual([results[0].position, results[0].position + 1, results[1].position, results[2].position]);
      });

      it('one failed expectation writes nothing to any of the streams', async (ctx) => {
        if (!has()) ctx.skip();
        const [a, b] = [streamName('multi-fail-a'), streamName('multi-fail-b')];
        await store.appendToStream(b, [newEvent('B0')]);
        const head = await store.headPosition();
        await expectConflict(store.appendToStreams!([
          { streamId: a, events: [newEvent('A0')], expectedRevision: 'no_stream' },
          { streamId: b, events: [newEvent('B1')], expectedRevision: 'no_stream' },
        ]), b, 'no_stream', 0);
        expect(await store.readStream(a)).toEqual([]);
        expect((await store.readStream(b)).map((e) => e.type)).toEqual(['B0']);
        expect(await store.headPosition()).toBe(head);
        // the refused append left no trace: the new stream can still be created
        const r = await store.appendToStream(a, [newEvent('A0')], { expectedRevision: 'no_stream' });
        expect(r.nextExpectedRevision).toBe(0);
      });

      it('of concurrent atomic appends claiming one new stream exactly one wins, and the losers wrote nothing', async (ctx) => {
        if (!has()) ctx.skip();
        const claimed = streamName('multi-claim');
        const owners = Array.from({ length: 6 }, (_, i) => streamName(`multi-owner${i}`));
        const outcomes = await Promise.allSettled(owners.map((o) => store.appendToStreams!([
          { streamId: claimed, events: [newEvent('Claimed', { o })], expectedRevision: 'no_stream' },
          { streamId: o, events: [newEvent('Owner')], expectedRevision: 'no_stream' },
        ])));
        expect(outcomes.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
        for (const x of outcomes) if (x.status === 'rejected') expect(x.reason).toBeInstanceOf(WrongExpectedRevisionError);
        const winner = owners[outcomes.findIndex((x) => x.status === 'fulfilled')];
        expect((await store.readStream(claimed)).map((e) => e.data.o)).toEqual([winner]);
        for (const o of owners) expect((await store.readStream(o)).length).toBe(o === winner ? 1 : 0);
      });

      it('refuses the same stream twice in one call', async (ctx) => {
        if (!has()) ctx.skip();
        const a = streamName('multi-twice');
        await expect(store.appendToStreams!([{ streamId: a, events: [newEvent('X')] }, { streamId: a, events: [newEvent('Y')] }])).rejects.toBeInstanceOf(TypeError);
        expect(await store.readStream(a)).toEqual([]);
      });
    });

    describe('readStream options', () => {
      it('reads forwards and backwards from a revision with maxCount', async () => {
        const s = streamName('directions');
        await store.appendToStream(s, Array.from({ length: 10 }, (_, i) => newEvent('N', { i })));
        const revs = (events: RecordedEvent[]) => events.map((e) => e.revision);
        expect(revs(await store.readStream(s, { direction: 'backwards' }))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(revs(await store.readStream(s, { direction: 'backwards', fromRevision: 6, maxCount: 3 }))).toEqual([6, 5, 4]);
        expect(revs(await store.readStream(s, { direction: 'backwards', maxCount: 1 }))).toEqual([9]);
        expect(revs(await store.readStream(s, { direction: 'forwards', fromRevision: 3, maxCount: 4 }))).toEqual([3, 4, 5, 6]);
        expect(revs(await store.readStream(s, { maxCount: 2 }))).toEqual([0, 1]);
        expect(await store.readStream(s, { fromRevision: 10 })).toEqual([]);
        const backwards = await store.readStream(s, { direction: 'backwards', fromRevision: 2 });
        expect(backwards.map((e) => e.data)).toEqual([{ i: 2 }, { i: 1 }, { i: 0 }]);
      });
    });

    describe('readAll', () => {
      it('reads after an exclusive position, with stream-prefix and event-type filters and maxCount', async () => {
        const start = await store.headPosition();
        const prefix = streamName('all');
        const a = `${prefix}-a`;
        const b = `${prefix}-b`;
        const other = streamName('noise');
        const written: { stream: string; type: string; position: number }[] = [];
        for (const [stream, type] of [[a, 'X'], [other, 'X'], [b, 'Y'], [a, 'Y'], [other, 'Y'], [b, 'X']] as const) {
          const r = await store.appendToStream(stream, [newEvent(type)]);
          written.push({ stream, type, position: r.position });
        }
        const mine = written.filter((w) => w.stream !== other);
        const view = (events: RecordedEvent[]) => events.map((e) => ({ stream: e.streamId, type: e.type, position: e.position }));

        expect(view(await store.readAll({ fromPosition: start, filter: { streamPrefixes: [prefix] } }))).toEqual(mine);
        expect(view(await store.readAll({ fromPosition: start, filter: { streamPrefixes: [a] } }))).toEqual(
          written.filter((w) => w.stream === a),
        );
        expect(
          view(await store.readAll({ fromPosition: start, filter: { streamPrefixes: [a, b], eventTypes: ['Y'] } })),
        ).toEqual(mine.filter((w) => w.type === 'Y'));
        expect(
          view(await store.readAll({ fromPosition: start, maxCount: 2, filter: { streamPrefixes: [prefix] } })),
        ).toEqual(mine.slice(0, 2));
        // exclusive: starting at the second event's position yields the events after it
        expect(
          view(await store.readAll({ fromPosition: mine[1].position, filter: { streamPrefixes: [prefix] } })),
        ).toEqual(mine.slice(2));

        const unfiltered = await store.readAll({ fromPosition: start });
        const positions = unfiltered.map((e) => e.position);
        expectStrictlyIncreasing(positions);
        expect(positions.every((p) => p > start)).toBe(true);
        for (const w of written) expect(positions).toContain(w.position);
      });

      it('gives strictly increasing positions across streams, matching the append results', async () => {
        const prefix = streamName('order');
        const results: number[] = [];
        for (let i = 0; i < 9; i++) {
          results.push((await store.appendToStream(`${prefix}-${i % 3}`, [newEvent('Tick', { i })])).position);
        }
        expectStrictlyIncreasing(results);
        const read = await store.readAll({ fromPosition: results[0] - 1, filter: { streamPrefixes: [prefix] } });
        expect(read.map((e) => e.position)).toEqual(results);
        expect(read.map((e) => e.data.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        expect(await store.headPosition()).toBeGreaterThanOrEqual(results[8]);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up, then delivers live events in order, only those matching the filter', async () => {
        const start = await store.headPosition();
        const prefix = streamName('sub');
        const noise = streamName('subnoise');
        const expected: string[] = [];
        const append = async (stream: string, type: string) => {
          const e = newEvent(type);
          await store.appendToStream(stream, [e]);
          if (stream.startsWith(prefix) && type === 'Wanted') expected.push(e.eventId);
        };
        await append(`${prefix}-1`, 'Wanted');
        await append(noise, 'Wanted');
        await append(`${prefix}-2`, 'Unwanted');
        await append(`${prefix}-2`, 'Wanted');

        const seen: RecordedEvent[] = [];
        let inFlight = 0;
        let overlapped = false;
        const sub = store.subscribeToAll(
          { fromPosition: start, filter: { streamPrefixes: [prefix], eventTypes: ['Wanted'] } },
          async (e) => {
            if (++inFlight > 1) overlapped = true;
            await sleep(2);
            seen.push(e);
            inFlight--;
          },
        );
        try {
          await waitUntil(() => seen.length >= 2, 'catch-up events');
          await append(`${prefix}-1`, 'Wanted');
          await append(noise, 'Wanted');
          await append(`${prefix}-3`, 'Unwanted');
          await append(`${prefix}-3`, 'Wanted');
          await waitUntil(() => seen.length >= 4, 'live events');
          await sleep(100);
          expect(seen.map((e) => e.eventId)).toEqual(expected);
          expectStrictlyIncreasing(seen.map((e) => e.position));
          expect(overlapped).toBe(false);
        } finally {
          await sub.stop();
        }
        await append(`${prefix}-1`, 'Wanted');
        await sleep(150);
        expect(seen).toHaveLength(4);
        await expect(sub.done).resolves.toBeUndefined();
      });

      it('starts after an exclusive fromPosition', async () => {
        const s = streamName('subfrom');
        const events = [newEvent('A'), newEvent('B'), newEvent('C')];
        await store.appendToStream(s, events);
        const [first] = await store.readStream(s, { maxCount: 1 });
        const seen: string[] = [];
        const sub = store.subscribeToAll({ fromPosition: first.position, filter: { streamPrefixes: [s] } }, (e) => {
          seen.push(e.eventId);
        });
        try {
          await waitUntil(() => seen.length >= 2, 'events after the start position');
          await sleep(50);
          expect(seen).toEqual([events[1].eventId, events[2].eventId]);
        } finally {
          await sub.stop();
        }
      });

      it('ends the subscription when the handler throws: done rejects with the error', async () => {
        const s = streamName('subthrow');
        await store.appendToStream(s, [newEvent('A'), newEvent('B'), newEvent('C')]);
        const boom = new Error('handler failed');
        const calls: string[] = [];
        const sub = store.subscribeToAll({ filter: { streamPrefixes: [s] } }, (e) => {
          calls.push(e.type);
          if (e.type === 'B') throw boom;
        });
        await expect(sub.done).rejects.toBe(boom);
        await store.appendToStream(s, [newEvent('D')]);
        await sleep(100);
        expect(calls).toEqual(['A', 'B']);
        await sub.stop();
      });

      it('a throwing handler nobody watches does not cause an unhandled rejection', async () => {
        const s = streamName('subunwatched');
        await store.appendToStream(s, [newEvent('A')]);
        const unhandled: unknown[] = [];
        const listener = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', listener);
        try {
          let called = false;
          const sub = store.subscribeToAll({ filter: { streamPrefixes: [s] } }, () => {
            called = true;
            throw new Error('nobody is listening');
          });
          await waitUntil(() => called, 'the handler to run');
          await sleep(100);
          expect(unhandled).toEqual([]);
          await sub.stop();
        } finally {
          process.off('unhandledRejection', listener);
        }
      });
    });

    describe('payload round trip', () => {
      it('keeps unicode data intact', async () => {
        const s = streamName('unicode-流-🚀');
        const data = {
          name: 'Zoë Ångström-Łukasiewicz',
          cjk: '田中 太郎',
          rtl: 'مرحبا بالعالم',
          emoji: '👩🏽‍💻🎉🏳️‍🌈',
          combining: 'e\u0301 a\u0308',
          escapes: 'quote " backslash \\ newline \n tab \t',
          nested: { list: ['α', 'β', { γ: 'δ' }], 'ключ': 'значение' },
          numbers: [0, -1, 1.5, 2 ** 53 - 1, -1e-7],
          flags: [true, false, null],
          empty: '',
        };
        const event = newEvent('Ünïcödé', data, { note: '日本語', 'é': 'ü' });
        await store.appendToStream(s, [event]);
        const [read] = await store.readStream(s);
        expect(read.streamId).toBe(s);
        expect(read.type).toBe('Ünïcödé');
        expect(read.data).toEqual(data);
        expect(read.metadata).toEqual({ note: '日本語', 'é': 'ü' });
      });

      it('keeps metadata intact, including nested and empty metadata', async () => {
        const s = streamName('metadata');
        const metadata = {
          correlationId: randomUUID(),
          causationId: randomUUID(),
          actor: { id: 'u-1', roles: ['admin', 'auditor'] },
          source: { system: 'scim', attempt: 3, replay: false },
        };
        await store.appendToStream(s, [newEvent('WithMeta', { x: 1 }, metadata), newEvent('NoMeta', { x: 2 }, {})]);
        const [withMeta, noMeta] = await store.readStream(s);
        expect(withMeta.metadata).toEqual(metadata);
        expect(noMeta.metadata).toEqual({});
        expect(withMeta.data).toEqual({ x: 1 });
      });

      it('gives back the JSON text it was given, key order included, so hash-chained events verify', async () => {
        // the hash chain (version 2) hashes JSON.stringify of data and metadata as written: a store
        // that reordered keys or changed number or string forms would make every event look edited
        const s = streamName('json-text');
        const data = { z: 1, a: { y: [3, { d: 1, c: 2 }], x: 'é "q"\n' }, '10': 'ten', '9': -0, big: 2 ** 53 - 1, tiny: 1e-7, m: null };
        const metadata = { source: { kind: 'scim', idp: 'okta' }, actor: { kind: 'scim-token', id: 't' }, occurredAt: '2026-12-04T21:00:00.000Z' };
        await store.appendToStream(s, [newEvent('Ordered', data, metadata)]);
        const [read] = await store.readStream(s);
        expect(JSON.stringify(read.data)).toBe(JSON.stringify(data));
        expect(JSON.stringify(read.metadata)).toBe(JSON.stringify(metadata));

        const chained = withHashChain(store);
        const c = streamName('json-text-chained');
        await chained.appendToStream(c, [newEvent('Ordered', data, metadata)]);
        await chained.appendToStream(c, [newEvent('Ordered', { ...data, z: 2 }, metadata), newEvent('Other', { b: 1, a: 2 }, {})]);
        const [readAgain] = await store.readAll({ fromPosition: read.position, filter: { streamPrefixes: [c] }, maxCount: 1 });
        expect(readAgain.metadata).toMatchObject({ hashVersion: 2 });
        expect(await verifyLog(store, { filter: { streamPrefixes: [c] } })).toEqual({ ok: true, eventsChecked: 3 });
      });
    });

    describe('headPosition', () => {
      it('is at least the position of the last append and never goes backwards', async () => {
        const h0 = await store.headPosition();
        const r = await store.appendToStream(streamName('head'), [newEvent('A')]);
        const h1 = await store.headPosition();
        expect(r.position).toBeGreaterThan(h0);
        expect(h1).toBeGreaterThanOrEqual(r.position);
      });
    });
  });
}
