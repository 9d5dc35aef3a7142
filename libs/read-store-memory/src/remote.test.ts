import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { readStoreContract } from '@muster/read-store/contract';
import { createMemoryReadStore } from './memory.ts';
import { DuplicateKeyError, ReadStoreUnavailableError } from '@muster/read-store/port';
import { createRemoteReadStore, PendingCalls, serveReadStore } from '@muster/read-store/remote';

// the whole contract, every call crossing a message channel (structured clone both ways)
readStoreContract('remote (memory store across a MessageChannel)', async () => {
  const { port1, port2 } = new MessageChannel();
  const backing = createMemoryReadStore();
  const stop = serveReadStore(backing, port2);
  const store = createRemoteReadStore(port1, { onClose: async () => { stop(); port1.close(); port2.close(); await backing.close(); } });
  return { store, cleanup: () => store.close() };
});

describe('remote read store', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => { for (const c of cleanups.splice(0)) await c(); });

  it('keeps RegExp filters and Dates, and gives back a DuplicateKeyError naming collection and index', async () => {
    const { port1, port2 } = new MessageChannel();
    const backing = createMemoryReadStore();
    serveReadStore(backing, port2);
    const store = createRemoteReadStore(port1);
    cleanups.push(() => { port1.close(); port2.close(); });
    await store.ensureIndexes('people', [{ key: { email: 1 }, name: 'by_email', unique: true }]);
    const at = new Date('2026-01-02T03:04:05Z');
    await store.collection('people').insertOne({ _id: 'p1', email: 'ada@example.org', at });
    const found = await store.collection('people').find({ email: /^ADA@/i });
    expect(found).toEqual([{ _id: 'p1', email: 'ada@example.org', at }]);
    expect(found[0].at).toBeInstanceOf(Date);
    const err = await store.collection('people').insertOne({ _id: 'p2', email: 'ada@example.org' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateKeyError);
    expect(err).toMatchObject({ collection: 'people', index: 'by_email', code: 11000 });
  });

  it('rejects a value that cannot cross the channel without sending anything, and fails pending calls when told the other side is gone', async () => {
    const { port1, port2 } = new MessageChannel();
    const store = createRemoteReadStore(port1);
    cleanups.push(() => { port1.close(); port2.close(); });
    await expect(store.collection('x').find({ f: () => 1 } as never)).rejects.toThrow(/could not be cloned/i);
    // nobody serves port2: the call stays pending until the store is failed
    const pending = store.collection('x').findOne({ _id: 'a' });
    store.fail(new Error('the projector thread stopped'));
    await expect(pending).rejects.toThrow('the projector thread stopped');
    await expect(store.getCheckpoint('main')).rejects.toBeInstanceOf(ReadStoreUnavailableError);
  });

  it('sends the calls of one event-loop turn as one message, answers likewise, and a bad call in a batch fails alone', async () => {
    const { port1, port2 } = new MessageChannel();
    const backing = createMemoryReadStore();
    for (let i = 0; i < 50; i++) await backing.collection('c').insertOne({ _id: `d${i}`, n: i });
    const counted = (p: MessagePort) => {
      const stats = { sent: 0 };
      const post = p.postMessage.bind(p);
      p.postMessage = ((m: unknown) => { stats.sent++; post(m); }) as typeof p.postMessage;
      return stats;
    };
    const client = counted(port1);
    const server = counted(port2);
    serveReadStore(backing, port2);
    const store = createRemoteReadStore(port1);
    cleanups.push(() => { port1.close(); port2.close(); });
    const found = await Promise.all(Array.from({ length: 50 }, (_, i) => store.collection('c').findOne({ _id: `d${i}` })));
    expect(found.map((d) => d?.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(client.sent).toBe(1);
    expect(server.sent).toBeLessThan(50);
    const mixed = await Promise.allSettled([
      store.collection('c').findOne({ _id: 'd1' }),
      store.collection('c').find({ f: () => 1 } as never),
      store.collection('c').countDocuments({}),
    ]);
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((mixed[2] as PromiseFulfilledResult<number>).value).toBe(50);
  });

  it('serves a store living on another thread', async () => {
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      const docs = new Map();
      parentPort.on('message', (m) => {
        if (m.t !== 'rs') return;
        if (m.method === 'insertOne') { docs.set(m.args[0]._id, m.args[0]); parentPort.postMessage({ t: 'rs-answer', id: m.id, ok: true }); }
        else if (m.method === 'findOne') parentPort.postMessage({ t: 'rs-answer', id: m.id, ok: true, value: docs.get(m.args[0]._id) ?? null });
        else parentPort.postMessage({ t: 'rs-answer', id: m.id, ok: false, error: { name: 'TypeError', message: 'unsupported ' + m.method } });
      });`, { eval: true });
    cleanups.push(() => worker.terminate());
    const store = createRemoteReadStore(worker);
    await store.collection('c').insertOne({ _id: 'a', n: 1 });
    expect(await store.collection('c').findOne({ _id: 'a' })).toEqual({ _id: 'a', n: 1 });
    const err = await store.collection('c').countDocuments({}).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TypeError', message: 'unsupported countDocuments' });
  });
});

describe('PendingCalls (calls waiting for answers, in slots by id)', () => {
  const call = (id: number) => ({ id, resolve: () => {}, reject: () => {} });

  it('finds each call once by its id, grows when ids in flight spread wider than its table, and drains', () => {
    const p = new PendingCalls();
    p.add(call(1));
    p.add(call(1 + 1024)); // same slot at the first size: the table grows
    for (let id = 2; id < 5_000; id++) p.add(call(id + 2_000));
    expect(p.size).toBe(2 + 4_998);
    expect(p.take(1)?.id).toBe(1);
    expect(p.take(1)).toBeUndefined(); // answered already
    expect(p.take(1 + 1024)?.id).toBe(1025);
    expect(p.take(999_999)).toBeUndefined(); // never asked
    expect(p.take(Number.NaN)).toBeUndefined();
    expect(p.take(-1)).toBeUndefined();
    expect(p.take(4_000)?.id).toBe(4_000);
    const rest = p.drain().map((c) => c.id).sort((a, b) => a - b);
    expect(rest.length).toBe(4_997);
    expect(rest[0]).toBe(2_002);
    expect(p.size).toBe(0);
    expect(p.take(2_002)).toBeUndefined();
  });

  it('keeps working across many calls with a few in flight (ids far beyond the table size)', () => {
    const p = new PendingCalls();
    const inFlight: number[] = [];
    for (let id = 1; id <= 200_000; id++) {
      p.add(call(id));
      inFlight.push(id);
      if (inFlight.length > 64) expect(p.take(inFlight.shift()!)?.id).toBeDefined();
    }
    expect(p.size).toBe(64);
    for (const id of inFlight) expect(p.take(id)?.id).toBe(id);
    expect(p.size).toBe(0);
  });
});

describe('PendingCalls with a call that is never answered', () => {
  it('does not grow its table without bound: a collision beyond MAX_SLOTS waits in the overflow map', () => {
    const p = new PendingCalls();
    const stuck = { id: 1, resolve: () => {}, reject: () => {} };
    p.add(stuck);
    // ids advance far beyond the table while the first call stays pending; each is answered at once
    for (let id = 2; id < 4 * PendingCalls.MAX_SLOTS; id++) {
      p.add({ id, resolve: () => {}, reject: () => {} });
      expect(p.take(id)?.id).toBe(id);
    }
    expect(p.size).toBe(1);
    expect(p.take(1)).toBe(stuck);
    expect(p.size).toBe(0);
    expect(p.drain()).toEqual([]);
  });
});
