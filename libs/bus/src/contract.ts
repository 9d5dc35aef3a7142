/**
 * The bus contract: every adapter's test file calls `busContract(name, factory)`.
 * Each test gets a fresh bus from the factory and cleans it up afterwards.
 * Subjects carry a random per-run prefix so parallel runs against one NATS
 * server do not see each other's messages.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BusClosedError,
  BusNoRespondersError,
  BusRemoteError,
  BusTimeoutError,
  type Bus,
  type BusMessage,
} from './port.ts';

export interface BusFixture {
  bus: Bus;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Collects messages; `waitFor(n)` resolves once n arrived (or fails after a deadline). */
function inbox() {
  const messages: BusMessage[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  return {
    messages,
    handler: (msg: BusMessage) => {
      messages.push(msg);
      for (const w of [...waiters]) {
        if (messages.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    async waitFor(n: number, timeoutMs = 5_000): Promise<BusMessage[]> {
      if (messages.length < n) {
        await Promise.race([
          new Promise<void>((resolve) => waiters.push({ n, resolve })),
          sleep(timeoutMs).then(() => {
            throw new Error(`expected ${n} messages within ${timeoutMs} ms, got ${messages.length}`);
          }),
        ]);
      }
      return messages;
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, it resolved');
}

function randomSpanContext(): SpanContext {
  return {
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
  };
}

export function busContract(name: string, factory: () => Promise<BusFixture>): void {
  describe(`bus contract: ${name}`, () => {
    const runPrefix = `test${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    let n = 0;
    /** a subject no other test (or parallel run) uses */
    const subject = (label: string) => `${runPrefix}.${++n}.${label}`;

    let fixture: BusFixture;
    let bus: Bus;
    let ownPropagator = false;
    let ownContextManager = false;

    beforeAll(() => {
      // the bus only talks to @opentelemetry/api; give it a real W3C propagator
      // and async context so trace propagation is observable (no SDK needed)
      ownPropagator = propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      ownContextManager = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    });
    afterAll(() => {
      if (ownPropagator) propagation.disable();
      if (ownContextManager) context.disable();
    });

    beforeEach(async () => {
      fixture = await factory();
      bus = fixture.bus;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('publish/subscribe', () => {
      it('delivers JSON payloads as they would travel over the wire', async () => {
        const s = subject('pubsub');
        const box = inbox();
        await bus.subscribe(s, box.handler);
        const payload = { id: 7, when: new Date(0), gone: undefined, nested: { list: [1, 'two', null] } };
        await bus.publish(s, payload);
        payload.nested.list.push('mutated after publish');
        await bus.publish(s, 'just a string');
        await bus.publish(s, undefined);
        const [first, second, third] = await box.waitFor(3);
        expect(first.subject).toBe(s);
        expect(first.data).toEqual({ id: 7, when: '1970-01-01T00:00:00.000Z', nested: { list: [1, 'two', null] } });
        expect(first.respond).toBeUndefined();
        expect(second.data).toBe('just a string');
        expect(third.data).toBeUndefined();
      });

      it('gives every plain subscriber its own copy of each message', async () => {
        const s = subject('fanout');
        const a = inbox();
        const b = inbox();
        await bus.subscribe(s, (msg) => {
          (msg.data as { n: number }).n = -1; // must not leak into b's copy
          a.handler(msg);
        });
        await bus.subscribe(s, b.handler);
        await bus.publish(s, { n: 1 });
        await bus.publish(s, { n: 2 });
        await a.waitFor(2);
        const got = await b.waitFor(2);
        expect(got.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }]);
      });

      it('rejects payloads that are not JSON-serialisable and invalid subjects', async () => {
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        await expect(bus.publish(subject('bad'), circular)).rejects.toThrow(/JSON/);
        await expect(bus.publish(subject('bad'), { big: 1n })).rejects.toThrow(/JSON/);
        await expect(bus.publish('', {})).rejects.toThrow(TypeError);
        await expect(bus.publish('a..b', {})).rejects.toThrow(TypeError);
        await expect(bus.publish('a.*', {})).rejects.toThrow(/wildcard/);
        await expect(bus.subscribe('a.>.b', () => {})).rejects.toThrow(/last token/);
        await expect(bus.subscribe('a.b*', () => {})).rejects.toThrow(/whole tokens/);
      });
    });

    describe('wildcards', () => {
      it('"*" matches exactly one token', async () => {
        const base = subject('star');
        const box = inbox();
        const control = inbox();
        await bus.subscribe(`${base}.*.created`, box.handler);
        await bus.subscribe(`${base}.>`, control.handler);
        await bus.publish(`${base}.roster.created`, 1);
        await bus.publish(`${base}.roster.member.created`, 2); // two tokens: no match
        await bus.publish(`${base}.created`, 3); // zero tokens: no match
        await bus.publish(`${base}.team.created`, 4);
        await control.waitFor(4);
        await sleep(50);
        expect(box.messages.map((m) => [m.subject, m.data])).toEqual([
          [`${base}.roster.created`, 1],
          [`${base}.team.created`, 4],
        ]);
      });

      it('">" matches one or more trailing tokens', async () => {
        const base = subject('gt');
        const box = inbox();
        const control = inbox();
        await bus.subscribe(`${base}.events.>`, box.handler);
        await bus.subscribe(`${base}.*`, control.handler);
        await bus.publish(`${base}.events.a`, 1);
        await bus.publish(`${base}.events.a.b.c`, 2);
        await bus.publish(`${base}.events`, 3); // no trailing token: no match
        await bus.publish(`${base}.other`, 4);
        await control.waitFor(2); // `${base}.events` and `${base}.other`
        await box.waitFor(2);
        await sleep(50);
        expect(box.messages.map((m) => m.data)).toEqual([1, 2]);
      });
    });

    describe('queue groups', () => {
      it('spreads messages across queue members, each delivered exactly once; plain subscribers get all', async () => {
        const s = subject('queue');
        const total = 40;
        const memberA = inbox();
        const memberB = inbox();
        const plain1 = inbox();
        const plain2 = inbox();
        await bus.subscribe(s, memberA.handler, { queue: 'workers' });
        await bus.subscribe(s, memberB.handler, { queue: 'workers' });
        await bus.subscribe(s, plain1.handler);
        await bus.subscribe(s, plain2.handler);
        for (let i = 0; i < total; i++) await bus.publish(s, { i });
        await bus.flush();

        await plain1.waitFor(total);
        await plain2.waitFor(total);
        const deadline = Date.now() + 5_000;
        while (memberA.messages.length + memberB.messages.length < total && Date.now() < deadline) await sleep(10);
        await sleep(100); // room for duplicates to show up

        const seen = [...memberA.messages, ...memberB.messages].map((m) => (m.data as { i: number }).i);
        expect(seen).toHaveLength(total);
        expect(new Set(seen).size).toBe(total);
        expect(memberA.messages.length).toBeGreaterThan(0);
        expect(memberB.messages.length).toBeGreaterThan(0);
        expect(plain1.messages).toHaveLength(total);
        expect(plain2.messages).toHaveLength(total);
      });

      it('answers a request from exactly one member of a queue group', async () => {
        const s = subject('queue-req');
        const hits: string[] = [];
        for (const member of ['a', 'b', 'c']) {
          await bus.subscribe(
            s,
            (msg) => {
              hits.push(member);
              msg.respond?.({ member });
            },
            { queue: 'responders' },
          );
        }
        for (let i = 0; i < 6; i++) {
          const reply = await bus.request<{ member: string }>(s, { i }, { timeoutMs: 2_000 });
          expect(['a', 'b', 'c']).toContain(reply.data.member);
        }
        await sleep(50);
        expect(hits).toHaveLength(6);
      });
    });

    describe('request/reply', () => {
      it('returns the reply payload and headers', async () => {
        const s = subject('echo');
        await bus.subscribe(s, (msg) => {
          const { x } = msg.data as { x: number };
          msg.respond?.({ doubled: x * 2, echoedHeader: msg.headers['x-muster-probe'] }, { 'x-reply': 'yes' });
        });
        const reply = await bus.request<{ doubled: number; echoedHeader: string }>(
          s,
          { x: 21 },
          { timeoutMs: 2_000, headers: { 'x-muster-probe': 'abc' } },
        );
        expect(reply.data).toEqual({ doubled: 42, echoedHeader: 'abc' });
        expect(reply.headers['x-reply']).toBe('yes');
        expect(reply.subject).toBe(s);
      });

      it('supports async handlers that answer later', async () => {
        const s = subject('async-reply');
        await bus.subscribe(s, async (msg) => {
          await sleep(30);
          msg.respond?.({ ok: true });
        });
        const reply = await bus.request(s, null, { timeoutMs: 2_000 });
        expect(reply.data).toEqual({ ok: true });
      });

      it('rejects with BusTimeoutError when nobody answers in time', async () => {
        const s = subject('silent');
        await bus.subscribe(s, () => {
          /* listens, never answers */
        });
        const started = Date.now();
        const err = await rejection(bus.request(s, {}, { timeoutMs: 250 }));
        expect(err).toBeInstanceOf(BusTimeoutError);
        expect(err).toMatchObject({ code: 'BUS_TIMEOUT', subject: s, timeoutMs: 250 });
        expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      });

      it('rejects with BusNoRespondersError at once when nobody listens', async () => {
        const s = subject('nobody');
        const started = Date.now();
        const err = await rejection(bus.request(s, {}, { timeoutMs: 3_000 }));
        expect(err).toBeInstanceOf(BusNoRespondersError);
        expect(err).toMatchObject({ code: 'BUS_NO_RESPONDERS', subject: s });
        expect(Date.now() - started).toBeLessThan(1_500);
      });

      it('turns a throwing handler into BusRemoteError carrying message and code', async () => {
        const s = subject('boom');
        await bus.subscribe(s, (msg) => {
          const { kind } = msg.data as { kind: string };
          if (kind === 'sync') throw Object.assign(new Error('mapping rule broken'), { code: 'MAPPING_INVALID' });
          return Promise.reject(new Error('async failure'));
        });
        const syncErr = await rejection(bus.request(s, { kind: 'sync' }, { timeoutMs: 2_000 }));
        expect(syncErr).toBeInstanceOf(BusRemoteError);
        expect(syncErr).toMatchObject({
          code: 'BUS_REMOTE_ERROR',
          subject: s,
          remoteMessage: 'mapping rule broken',
          remoteCode: 'MAPPING_INVALID',
        });
        const asyncErr = await rejection(bus.request(s, { kind: 'async' }, { timeoutMs: 2_000 }));
        expect(asyncErr).toBeInstanceOf(BusRemoteError);
        expect(asyncErr).toMatchObject({ remoteMessage: 'async failure', remoteCode: 'HANDLER_ERROR' });
      });

      it('keeps the real answer when a handler throws after responding', async () => {
        const s = subject('late-throw');
        await bus.subscribe(s, (msg) => {
          msg.respond?.({ fine: true });
          throw new Error('after the answer');
        });
        const reply = await bus.request(s, {}, { timeoutMs: 2_000 });
        expect(reply.data).toEqual({ fine: true });
      });
    });

    describe('headers', () => {
      it('round-trips headers on publish', async () => {
        const s = subject('headers');
        const box = inbox();
        await bus.subscribe(s, box.handler);
        const headers = { 'x-correlation-id': 'c-1', 'Muster-Tenant': 'acme', 'x-padded': ' spaced value ' };
        await bus.publish(s, {}, { headers });
        const [msg] = await box.waitFor(1);
        // names keep their case; values lose surrounding whitespace (as nats.js does)
        expect(msg.headers).toMatchObject({ 'x-correlation-id': 'c-1', 'Muster-Tenant': 'acme', 'x-padded': 'spaced value' });
        expect(msg.headers.traceparent).toBeUndefined(); // no active span: nothing injected
      });

      it('rejects header names and values the wire cannot carry', async () => {
        await expect(bus.publish(subject('h'), {}, { headers: { 'bad:name': 'x' } })).rejects.toThrow(TypeError);
        await expect(bus.publish(subject('h'), {}, { headers: { ok: 'line\nbreak' } })).rejects.toThrow(TypeError);
      });
    });

    describe('handler failures', () => {
      it('keeps delivering after a handler throws or rejects', async () => {
        const s = subject('resilient');
        const box = inbox();
        await bus.subscribe(s, (msg) => {
          box.handler(msg);
          const { mode } = msg.data as { mode: string };
          if (mode === 'throw') throw new Error('sync handler failure');
          if (mode === 'reject') return Promise.reject(new Error('async handler failure'));
          return undefined;
        });
        await bus.publish(s, { mode: 'throw' });
        await bus.publish(s, { mode: 'reject' });
        await bus.publish(s, { mode: 'fine' });
        const got = await box.waitFor(3);
        expect(got.map((m) => (m.data as { mode: string }).mode)).toEqual(['throw', 'reject', 'fine']);
      });
    });

    describe('unsubscribe and close', () => {
      it('stops delivery after unsubscribe while other subscribers keep receiving', async () => {
        const s = subject('unsub');
        const leaving = inbox();
        const staying = inbox();
        const sub = await bus.subscribe(s, leaving.handler);
        await bus.subscribe(s, staying.handler);
        await bus.publish(s, 1);
        await leaving.waitFor(1);
        await sub.unsubscribe();
        await sub.unsubscribe(); // idempotent
        await bus.publish(s, 2);
        await bus.flush();
        await staying.waitFor(2);
        await sleep(50);
        expect(leaving.messages.map((m) => m.data)).toEqual([1]);
      });

      it('unsubscribe waits for handlers already running (drain)', async () => {
        const s = subject('drain');
        let finished = 0;
        let started = 0;
        const sub = await bus.subscribe(s, async () => {
          started++;
          await sleep(100);
          finished++;
        });
        await bus.publish(s, {});
        const deadline = Date.now() + 5_000;
        while (started === 0 && Date.now() < deadline) await sleep(5);
        expect(started).toBe(1);
        await sub.unsubscribe();
        expect(finished).toBe(1);
      });

      it('close drains running handlers, then refuses further use', async () => {
        const s = subject('close');
        let started = 0;
        let finished = 0;
        await bus.subscribe(s, async () => {
          started++;
          await sleep(100);
          finished++;
        });
        await bus.publish(s, {});
        const deadline = Date.now() + 5_000;
        while (started === 0 && Date.now() < deadline) await sleep(5);
        await bus.close();
        expect(finished).toBe(started);
        expect(finished).toBe(1);
        await bus.close(); // idempotent
        await expect(bus.publish(s, {})).rejects.toBeInstanceOf(BusClosedError);
        await expect(bus.subscribe(s, () => {})).rejects.toBeInstanceOf(BusClosedError);
        await expect(bus.request(s, {})).rejects.toBeInstanceOf(BusClosedError);
      });
    });

    describe('trace context', () => {
      it('injects the active context as W3C traceparent and activates it in the handler', async () => {
        const s = subject('trace');
        const seen: Array<{ header?: string; active?: SpanContext; afterAwait?: SpanContext }> = [];
        const box = inbox();
        await bus.subscribe(s, async (msg) => {
          const active = trace.getSpanContext(context.active());
          await sleep(5);
          seen.push({ header: msg.headers.traceparent, active, afterAwait: trace.getSpanContext(context.active()) });
          box.handler(msg);
        });
        const sc = randomSpanContext();
        await context.with(trace.setSpanContext(ROOT_CONTEXT, sc), () => bus.publish(s, {}));
        await bus.publish(s, {}); // outside any span
        await box.waitFor(2);
        expect(seen[0].header).toBe(`00-${sc.traceId}-${sc.spanId}-01`);
        // isRemote: the context came out of the headers, not from the caller's async scope
        expect(seen[0].active).toMatchObject({ traceId: sc.traceId, spanId: sc.spanId, isRemote: true });
        expect(seen[0].afterAwait).toMatchObject({ traceId: sc.traceId });
        expect(seen[1].header).toBeUndefined();
        expect(seen[1].active).toBeUndefined();
      });

      it('activates a traceparent given explicitly in headers', async () => {
        const s = subject('trace-explicit');
        const box = inbox();
        let active: SpanContext | undefined;
        await bus.subscribe(s, (msg) => {
          active = trace.getSpanContext(context.active());
          box.handler(msg);
        });
        const sc = randomSpanContext();
        await bus.publish(s, {}, { headers: { traceparent: `00-${sc.traceId}-${sc.spanId}-01` } });
        await box.waitFor(1);
        expect(active).toMatchObject({ traceId: sc.traceId, spanId: sc.spanId, isRemote: true });
      });

      it('propagates the context on requests', async () => {
        const s = subject('trace-req');
        await bus.subscribe(s, (msg) => {
          msg.respond?.({ traceId: trace.getSpanContext(context.active())?.traceId ?? null });
        });
        const sc = randomSpanContext();
        const reply = await context.with(trace.setSpanContext(ROOT_CONTEXT, sc), () =>
          bus.request<{ traceId: string | null }>(s, {}, { timeoutMs: 2_000 }),
        );
        expect(reply.data.traceId).toBe(sc.traceId);
      });
    });
  });
}
