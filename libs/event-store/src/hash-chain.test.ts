import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_FILE_NAME, openEmbeddedEventStore, type EmbeddedEventStore } from './embedded.ts';
import { decodeLog, encodeLog } from './embedded/format.ts';
import {
  canonicalJson,
  eventHash,
  GENESIS_HASH,
  HASH_VERSION,
  HashChainError,
  logDigest,
  verifyLog,
  withHashChain,
} from './hash-chain.ts';
import { WrongExpectedRevisionError, type EventStore, type NewEvent } from './port.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-es-chain-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dir: string): Promise<EmbeddedEventStore> {
  const store = await openEmbeddedEventStore({ dir });
  cleanups.push(() => store.close());
  return store;
}

const ev = (type: string, data: Record<string, unknown>, metadata: Record<string, unknown> = {}): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  metadata,
});

/** Writes a small history across three streams through the chain. */
async function writeHistory(chained: EventStore): Promise<void> {
  await chained.appendToStream('user-1', [ev('UserCreated', { name: 'Ada' }, { actor: 'scim' })], { expectedRevision: 'no_stream' });
  await chained.appendToStream('user-2', [ev('UserCreated', { name: 'Grace' })]);
  await chained.appendToStream('user-1', [ev('UserRenamed', { name: 'Ada L.' }), ev('UserTagged', { tag: 'ops' })], {
    expectedRevision: 0,
  });
  await chained.appendToStream('group-1', [ev('GroupCreated', { members: ['user-1', 'user-2'] })]);
  await chained.appendToStream('user-2', [ev('UserRenamed', { name: 'Grace H.' })], { expectedRevision: 'stream_exists' });
  await chained.appendToStream('user-1', [ev('UserDeactivated', { reason: 'left' })]);
}

/** Rewrites the log file like an attacker with write access would: valid records, fresh crcs. */
async function tamper(dir: string, position: number, edit: (e: NewEvent, streamId: string, revision: number) => void) {
  const path = join(dir, LOG_FILE_NAME);
  const { records } = decodeLog(await readFile(path));
  const record = records.find((r) => position >= r.firstPosition && position < r.firstPosition + r.events.length);
  if (!record) throw new Error(`no record holds position ${position}`);
  const i = position - record.firstPosition;
  edit(record.events[i], record.streamId, record.firstRevision + i);
  await writeFile(path, encodeLog(records));
}

/** `n` random JSON-ish values: integer-like and "__proto__" keys, Dates, undefined, NaN, -0 included */
function randomValues(n: number): Array<Record<string, unknown>> {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const keys = ['a', 'B', 'zeta', 'é', 'émile', '10', '9', '0', '01', '4294967295', 'x y', '__proto__', 'Ω', '\ud83d\ude00', 'listId', 'data'];
  const gen = (depth: number): unknown => {
    const r = rand();
    if (depth > 3 || r < 0.3) return [1.5, -0, 'text "q"', true, null, undefined, NaN, Infinity, new Date(1_700_000_000_000), 42][Math.floor(rand() * 10)];
    if (r < 0.55) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
    // Object.fromEntries defines own properties, "__proto__" included
    return Object.fromEntries(Array.from({ length: Math.floor(rand() * 6) }, () => [keys[Math.floor(rand() * keys.length)], gen(depth + 1)]));
  };
  return Array.from({ length: n }, (_, i) => ({ root: gen(0), [keys[i % keys.length]]: gen(1) }));
}

describe('canonical JSON and event hashes', () => {
  it('sorts keys recursively and matches JSON.stringify otherwise', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ u: undefined, n: null, s: 'é"\n', arr: [undefined, 1] })).toBe('{"arr":[null,1],"n":null,"s":"é\\"\\n"}');
  });

  it('equals a plain key-sorting writer on random values, integer-like and "__proto__" keys included', () => {
    // the definition, written the slow obvious way: the optimised code must never differ from it
    const reference = (v: unknown): string | undefined => {
      if (v === null) return 'null';
      if (typeof v === 'number') return Number.isFinite(v) ? String(JSON.stringify(v)) : 'null';
      if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
      if (typeof v !== 'object') return undefined;
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return reference((v as { toJSON: () => unknown }).toJSON());
      if (Array.isArray(v)) return `[${v.map((x) => reference(x) ?? 'null').join(',')}]`;
      const parts: string[] = [];
      for (const k of Object.keys(v).sort()) { const x = reference((v as Record<string, unknown>)[k]); if (x !== undefined) parts.push(`${JSON.stringify(k)}:${x}`); }
      return `{${parts.join(',')}}`;
    };
    for (const v of randomValues(3000)) expect(canonicalJson(v)).toBe(reference(v));
    // an own "__proto__" key as JSON.parse makes it, and integer-like keys, keep their place in key order
    const parsed = JSON.parse('{"z":1,"__proto__":{"b":2,"a":1},"10":0,"9":[{"2":1,"1":2}]}');
    expect(canonicalJson(parsed)).toBe('{"10":0,"9":[{"1":2,"2":1}],"__proto__":{"a":1,"b":2},"z":1}');
    expect(canonicalJson({ when: new Date(0), nested: { toJSON: () => ({ y: 1, x: [undefined] }) } })).toBe('{"nested":{"x":[null],"y":1},"when":"1970-01-01T00:00:00.000Z"}');
  });

  it('version 1 (no hashVersion) does not depend on key order but on every hashed field', () => {
    const base = { streamId: 's', revision: 1, type: 'T', data: { a: 1, b: 2 }, metadata: { x: 1 }, prevHash: GENESIS_HASH };
    const h = eventHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash({ ...base, data: { b: 2, a: 1 } })).toBe(h);
    expect(eventHash({ ...base, metadata: { x: 1, hash: 'ignored' } })).toBe(h);
    for (const changed of [
      { streamId: 't' },
      { revision: 2 },
      { type: 'U' },
      { data: { a: 1, b: 3 } },
      { metadata: { x: 2 } },
      { prevHash: 'f'.repeat(64) },
    ]) {
      expect(eventHash({ ...base, ...changed }), JSON.stringify(changed)).not.toBe(h);
    }
  });

  it('version 2 hashes the JSON text as written: every field counts, `hash` is left out, a JSON round trip changes nothing', () => {
    const base = { streamId: 's', revision: 1, type: 'T', data: { a: 1, b: 2 }, metadata: { x: 1, hashVersion: 2 }, prevHash: GENESIS_HASH };
    const h = eventHash(base);
    expect(h).toBe(createHash('sha256').update(JSON.stringify(['s', 1, 'T', GENESIS_HASH, { a: 1, b: 2 }, { x: 1, hashVersion: 2 }])).digest('hex'));
    expect(h).not.toBe(eventHash({ ...base, metadata: { x: 1 } })); // not the version 1 hash
    expect(eventHash({ ...base, metadata: { ...base.metadata, hash: 'ignored' } })).toBe(h);
    for (const changed of [
      { streamId: 't' }, { revision: 2 }, { type: 'U' }, { data: { a: 1, b: 3 } }, { metadata: { x: 2, hashVersion: 2 } }, { prevHash: 'f'.repeat(64) },
    ]) {
      expect(eventHash({ ...base, ...changed }), JSON.stringify(changed)).not.toBe(h);
    }
    // what a verifier reads back is the stored JSON text parsed: it must hash the same as what was written
    for (const data of randomValues(3000)) {
      const written = { ...base, data };
      const read = JSON.parse(JSON.stringify(written)) as typeof written;
      expect(eventHash(read)).toBe(eventHash(written));
    }
  });

  it('refuses a hashVersion it does not know', () => {
    expect(() => eventHash({ streamId: 's', revision: 0, type: 'T', data: {}, metadata: { hashVersion: 3 }, prevHash: GENESIS_HASH })).toThrow(HashChainError);
  });
});

describe('withHashChain', () => {
  it('links every event to the previous one in its stream and verifies', async () => {
    const store = await open(await freshDir());
    const chained = withHashChain(store);
    await writeHistory(chained);

    const user1 = await store.readStream('user-1');
    expect(user1).toHaveLength(4);
    expect(user1[0].metadata).toMatchObject({ actor: 'scim', prevHash: GENESIS_HASH, hashVersion: HASH_VERSION });
    expect(HASH_VERSION).toBe(2);
    for (let i = 1; i < user1.length; i++) expect(user1[i].metadata.prevHash).toBe(user1[i - 1].metadata.hash);
    for (const e of user1) {
      expect(e.metadata.hash).toBe(
        eventHash({ streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata, prevHash: e.metadata.prevHash as string }),
      );
    }
    expect(await verifyLog(store, { batchSize: 2 })).toEqual({ ok: true, eventsChecked: 7 });
  });

  it('keeps the expected-revision semantics of the store', async () => {
    const chained = withHashChain(await open(await freshDir()));
    await chained.appendToStream('s', [ev('A', {})]);
    await expect(chained.appendToStream('s', [ev('B', {})], { expectedRevision: 'no_stream' })).rejects.toMatchObject({
      name: 'WrongExpectedRevisionError',
      expected: 'no_stream',
      actual: 0,
    });
    await expect(chained.appendToStream('s', [ev('B', {})], { expectedRevision: 3 })).rejects.toBeInstanceOf(
      WrongExpectedRevisionError,
    );
    await expect(chained.appendToStream('t', [ev('B', {})], { expectedRevision: 'stream_exists' })).rejects.toMatchObject({
      actual: 'no_stream',
    });
    expect(await chained.appendToStream('s', [ev('B', {})], { expectedRevision: 0 })).toMatchObject({ nextExpectedRevision: 1 });
  });

  it("retries 'any' appends that race on the same stream, and the chain stays valid", async () => {
    const store = await open(await freshDir());
    const chained = withHashChain(store);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => chained.appendToStream('hot', [ev('Hit', { i })])));
    expect(results.map((r) => r.nextExpectedRevision).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await verifyLog(store)).toEqual({ ok: true, eventsChecked: 10 });
  });

  it('gives up on an exact revision conflict instead of retrying', async () => {
    const store = await open(await freshDir());
    const chained = withHashChain(store);
    await chained.appendToStream('s', [ev('A', {})]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => chained.appendToStream('s', [ev('B', {})], { expectedRevision: 0 })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await store.readStream('s')).toHaveLength(2);
  });

  it('refuses to extend a stream whose last event has no hash', async () => {
    const store = await open(await freshDir());
    await store.appendToStream('plain', [ev('A', {})]);
    await expect(withHashChain(store).appendToStream('plain', [ev('B', {})])).rejects.toBeInstanceOf(HashChainError);
  });

  it('continues a log written with version 1 hashes: old events keep verifying, new ones are version 2', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    // version 1 events, as a log from before version 2 holds them
    let prev = GENESIS_HASH;
    for (const [i, name] of ['Ada', 'Ada L.'].entries()) {
      const metadata = { actor: 'scim', prevHash: prev };
      const hash = eventHash({ streamId: 'user-1', revision: i, type: 'UserNamed', data: { name }, metadata, prevHash: prev });
      await store.appendToStream('user-1', [ev('UserNamed', { name }, { ...metadata, hash })]);
      prev = hash;
    }
    const chained = withHashChain(store);
    await chained.appendToStream('user-1', [ev('UserTagged', { tag: 'ops', '10': 1, nested: { b: 1, a: [undefined, new Date(0)] } })]);
    await chained.appendToStream('user-2', [ev('UserNamed', { name: 'Grace' })], { expectedRevision: 'no_stream' });
    const events = await store.readAll();
    expect(events.map((e) => e.metadata.hashVersion)).toEqual([undefined, undefined, 2, 2]);
    expect(events[2].metadata.prevHash).toBe(prev);
    expect(await verifyLog(store)).toEqual({ ok: true, eventsChecked: 4 });
    // and after a reopen, from the bytes on disk
    await store.close();
    expect(await verifyLog(await open(dir))).toEqual({ ok: true, eventsChecked: 4 });
  });

  it('keeps every metadata key the caller gave, an own "__proto__" and integer-like keys included, and verifies', async () => {
    const store = await open(await freshDir());
    const metadata = JSON.parse('{"z":1,"__proto__":{"b":2},"7":"seven","hash":"stale","prevHash":"stale"}') as Record<string, unknown>;
    await withHashChain(store).appendToStream('s', [ev('A', { x: 1 }, metadata)]);
    const [read] = await store.readStream('s');
    expect(Object.hasOwn(read.metadata, '__proto__')).toBe(true);
    expect(read.metadata).toMatchObject({ z: 1, 7: 'seven', prevHash: GENESIS_HASH, hashVersion: 2 });
    expect(read.metadata.hash).not.toBe('stale');
    expect(await verifyLog(store)).toEqual({ ok: true, eventsChecked: 1 });
  });

  it('reports an event with an unknown hashVersion as a break', async () => {
    const store = await open(await freshDir());
    await withHashChain(store).appendToStream('s', [ev('A', {})]);
    const [first] = await store.readStream('s');
    await store.appendToStream('s', [ev('B', {}, { prevHash: first.metadata.hash, hashVersion: 9, hash: 'x'.repeat(64) })]);
    expect(await verifyLog(store)).toEqual({
      ok: false, eventsChecked: 2, firstBreak: { position: 1, streamId: 's', revision: 1, reason: 'unknown hashVersion 9' },
    });
  });
});

describe('verifyLog and logDigest on a tampered embedded log', () => {
  it('detects an event whose data was edited on disk (with a recomputed crc) at its position', async () => {
    const dir = await freshDir();
    const store = await openEmbeddedEventStore({ dir });
    await writeHistory(withHashChain(store));
    const before = await logDigest(store);
    const prefixBefore = await logDigest(store, 2);
    await store.close();

    await tamper(dir, 3, (e) => {
      e.data = { ...e.data, tag: 'root' };
    });

    const reopened = await open(dir);
    const [victim] = await reopened.readAll({ fromPosition: 2, maxCount: 1 });
    expect(victim.data).toEqual({ tag: 'root' }); // the store itself accepted the rewritten record
    expect(await verifyLog(reopened)).toEqual({
      ok: false,
      eventsChecked: 4,
      firstBreak: { position: 3, streamId: 'user-1', revision: 2, reason: 'hash does not match the event content' },
    });
    expect(await logDigest(reopened, 2)).toEqual(prefixBefore);
    expect(before.position).toBe(6);
    // the hashes are untouched, so the digest alone cannot see a pure data edit: verifyLog does.
    expect((await logDigest(reopened)).digest).toBe(before.digest);
  });

  it('detects an edit whose hash was recomputed at the next event of the stream, and the digest changes', async () => {
    const dir = await freshDir();
    const store = await openEmbeddedEventStore({ dir });
    await writeHistory(withHashChain(store));
    const anchor = await logDigest(store);
    await store.close();

    await tamper(dir, 1, (e, streamId, revision) => {
      e.data = { name: 'Mallory' };
      e.metadata = {
        ...e.metadata,
        hash: eventHash({ streamId, revision, type: e.type, data: e.data, metadata: e.metadata, prevHash: e.metadata.prevHash as string }),
      };
    });

    const reopened = await open(dir);
    const result = await verifyLog(reopened);
    expect(result.ok).toBe(false);
    expect(result.firstBreak).toEqual({
      position: 5,
      streamId: 'user-2',
      revision: 1,
      reason: "prevHash does not match the previous event's hash",
    });
    expect((await logDigest(reopened)).digest).not.toBe(anchor.digest);
  });

  it('continues a digest incrementally to the same value as a full walk', async () => {
    const store = await open(await freshDir());
    await writeHistory(withHashChain(store));
    const full = await logDigest(store, undefined, { batchSize: 3 });
    const part = await logDigest(store, 3);
    expect(part.position).toBe(3);
    expect(await logDigest(store, undefined, { from: part })).toEqual(full);
    expect(part.digest).not.toBe(full.digest);
  });
});

describe('the tip cache (appends skip reading the stream when this process knows its tip)', () => {
  it('two writers over one store (as two processes would be) keep one valid chain; a stale tip never forks it', async () => {
    const store = await open(await freshDir());
    const a = withHashChain(store);
    const b = withHashChain(store);
    await a.appendToStream('s-1', [ev('A', { n: 1 })], { expectedRevision: 'no_stream' });
    await b.appendToStream('s-1', [ev('B', { n: 2 })], { expectedRevision: 'any' }); // b reads the tip
    await a.appendToStream('s-1', [ev('A', { n: 3 })], { expectedRevision: 'any' }); // a's cached tip is stale: refused, re-read, retried
    await b.appendToStream('s-1', [ev('B', { n: 4 })], { expectedRevision: 2 });
    // an exact revision that is stale in a's cache and in the store is a conflict, not a fork
    await expect(a.appendToStream('s-1', [ev('A', { n: 5 })], { expectedRevision: 2 })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    await expect(a.appendToStream('s-1', [ev('A', { n: 5 })], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    const events = await store.readStream('s-1');
    expect(events.map((e) => e.data.n)).toEqual([1, 2, 3, 4]);
    const verdict = await verifyLog(store);
    expect(verdict).toMatchObject({ ok: true, eventsChecked: 4 });
  });
});

describe('appendToStreams through the hash chain', () => {
  it('extends each stream\'s own chain, keeps the atomic refusal, and verifies', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const chained = withHashChain(store);
    await chained.appendToStream('a', [ev('A0', {})]);
    const r = await chained.appendToStreams!([
      { streamId: 'a', events: [ev('A1', { n: 1 })], expectedRevision: 0 },
      { streamId: 'b', events: [ev('B0', { n: 2 }), ev('B1', { n: 3 })], expectedRevision: 'no_stream' },
    ]);
    expect(r.map((x) => x.nextExpectedRevision)).toEqual([1, 1]);
    const [a0, a1] = await store.readStream('a');
    const [b0, b1] = await store.readStream('b');
    expect(a1.metadata.prevHash).toBe(a0.metadata.hash);
    expect(b0.metadata.prevHash).toBe(GENESIS_HASH);
    expect(b1.metadata.prevHash).toBe(b0.metadata.hash);
    await expect(chained.appendToStreams!([
      { streamId: 'c', events: [ev('C0', {})], expectedRevision: 'no_stream' },
      { streamId: 'b', events: [ev('B2', {})], expectedRevision: 0 },
    ])).rejects.toMatchObject({ streamId: 'b', expected: 0, actual: 1 });
    expect(await store.readStream('c')).toEqual([]);
    // 'any' on a stream another writer moved since this wrapper's tip: re-read and retried
    await withHashChain(store).appendToStream('a', [ev('OtherWriter', {})], { expectedRevision: 1 });
    const again = await chained.appendToStreams!([{ streamId: 'a', events: [ev('A3', {})] }, { streamId: 'd', events: [ev('D0', {})] }]);
    expect(again.map((x) => x.nextExpectedRevision)).toEqual([3, 0]);
    expect((await store.readStream('a')).map((e) => e.type)).toEqual(['A0', 'A1', 'OtherWriter', 'A3']);
    expect(await verifyLog(store)).toMatchObject({ ok: true, eventsChecked: 7 });
  });
});

