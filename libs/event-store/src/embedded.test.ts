import { randomUUID } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventStoreContract, waitUntil } from './contract.ts';
import {
  CorruptLogError,
  EventStoreFailedError,
  EventStoreLockedError,
  LOG_FILE_NAME,
  openEmbeddedEventStore,
  type CommittedBytes,
  type EmbeddedEventStore,
} from './embedded.ts';
import { encodeEvent, encodeRecord } from './embedded/format.ts';
import { WrongExpectedRevisionError, revisionsNow, streamRevision, type NewEvent, type RecordedEvent } from './port.ts';
import { withHashChain } from './hash-chain.ts';

const dirs: string[] = [];
const opened: EmbeddedEventStore[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-es-'));
  dirs.push(dir);
  return dir;
}

async function openStore(dir: string, options: Partial<Parameters<typeof openEmbeddedEventStore>[0]> = {}) {
  const store = await openEmbeddedEventStore({ dir, ...options });
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const ev = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: {},
});

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

eventStoreContract('embedded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'muster-es-contract-'));
  const store = await openEmbeddedEventStore({ dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('embedded event store', () => {
  describe('group commit', () => {
    it('writes 64 concurrent appends with far fewer than 64 fsyncs', async () => {
      const store = await openStore(await tempDir());
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => store.appendToStream(`s-${i}`, [ev('T', { i })])));
      expect(results.map((r) => r.position).sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
      const stats = store.stats();
      expect(stats.appends).toBe(64);
      expect(stats.syncs).toBeGreaterThanOrEqual(1);
      expect(stats.syncs).toBeLessThanOrEqual(2);
    });

    it('batches appends queued while an fsync is in flight into one write and one fsync', async () => {
      const first = gate();
      let syncCalls = 0;
      const store = await openStore(await tempDir(), {
        hooks: { beforeSync: () => (++syncCalls === 1 ? first.opened : undefined) },
      });
      const acked: number[] = [];
      const pending = [store.appendToStream('first', [ev('T')]).then((r) => acked.push(r.position))];
      await waitUntil(() => syncCalls === 1, 'the first fsync to start');
      for (let i = 0; i < 63; i++) {
        pending.push(store.appendToStream(`later-${i % 7}`, [ev('T', { i })]).then((r) => acked.push(r.position)));
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(acked).toEqual([]); // nothing is acknowledged before its fsync
      expect(await store.readAll()).toEqual([]); // and readers see nothing either
      first.open();
      await Promise.all(pending);
      expect(acked).toHaveLength(64);
      expect(store.stats()).toMatchObject({ appends: 64, writes: 2, syncs: 2 });
    });

    it('checks expected revisions in call order against queued, unflushed batches', async () => {
      const store = await openStore(await tempDir());
      const [a, b, c, d] = await Promise.allSettled([
        store.appendToStream('s', [ev('A')], { expectedRevision: 'no_stream' }),
        store.appendToStream('s', [ev('B'), ev('B2')], { expectedRevision: 0 }),
        store.appendToStream('s', [ev('C')], { expectedRevision: 0 }),
        store.appendToStream('s', [ev('D')], { expectedRevision: 2 }),
      ]);
      expect(a).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 0 } });
      expect(b).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 2 } });
      expect(c.status).toBe('rejected');
      expect((c as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect((c as PromiseRejectedResult).reason).toMatchObject({ expected: 0, actual: 2 });
      expect(d).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 3 } });
      expect((await store.readStream('s')).map((e) => e.type)).toEqual(['A', 'B', 'B2', 'D']);
      expect((await store.readAll()).map((e) => e.position)).toEqual([0, 1, 2, 3]);
      expect(store.stats().syncs).toBe(1);
    });

    it('rejects bad input without consuming a position', async () => {
      const store = await openStore(await tempDir());
      await expect(store.appendToStream('s', [{ ...ev('T'), data: { n: 10n } }])).rejects.toThrow(TypeError);
      await expect(store.appendToStream('s', [{ ...ev('T'), type: '' }])).rejects.toThrow(TypeError);
      await expect(store.appendToStream('', [ev('T')])).rejects.toThrow(TypeError);
      const r = await store.appendToStream('s', [ev('T')], { expectedRevision: 'no_stream' });
      expect(r).toEqual({ nextExpectedRevision: 0, position: 0 });
    });
  });

  describe('durability and recovery', () => {
    it('keeps everything across close and reopen, and continues positions and revisions', async () => {
      const dir = await tempDir();
      const store = await openStore(dir);
      for (let i = 0; i < 20; i++) await store.appendToStream(`s-${i % 3}`, [ev('T', { i }), ev('U', { i })]);
      const before = await store.readAll();
      const pending = store.appendToStream('s-0', [ev('Last')]); // close must flush it
      await store.close();
      await expect(pending).resolves.toMatchObject({ position: 40 });

      const reopened = await openStore(dir);
      expect(reopened.recovery).toMatchObject({ events: 41, tailBytes: 0 });
      const after = await reopened.readAll();
      expect(after.slice(0, 40)).toEqual(before);
      expect(after[40]).toMatchObject({ type: 'Last', streamId: 's-0', revision: 14, position: 40 });
      const next = await reopened.appendToStream('s-1', [ev('More')], { expectedRevision: 13 });
      expect(next).toEqual({ nextExpectedRevision: 14, position: 41 });
      expect(await reopened.headPosition()).toBe(41);
    });

    for (const [label, tail] of [
      ['random garbage', () => Buffer.from('this is not a record at all, just junk \u0000\u0001\u0002')],
      ['a partial record', () => partialRecord(0.6)],
      ['a record header only', () => partialRecord(0.05)],
      ['a complete record with a bad crc', () => badCrcRecord()],
    ] as const) {
      it(`truncates a torn tail (${label}) on a writable open`, async () => {
        const dir = await tempDir();
        const store = await openStore(dir);
        for (let i = 0; i < 5; i++) await store.appendToStream('s', [ev('T', { i })]);
        const expected = await store.readAll();
        await store.close();
        const logPath = join(dir, LOG_FILE_NAME);
        const goodSize = (await stat(logPath)).size;
        const junk = tail();
        await appendFile(logPath, junk);

        const reopened = await openStore(dir);
        expect(reopened.recovery).toMatchObject({ events: 5, validBytes: goodSize, tailBytes: junk.length });
        expect((await stat(logPath)).size).toBe(goodSize);
        expect(await reopened.readAll()).toEqual(expected);
        await reopened.appendToStream('s', [ev('After')], { expectedRevision: 4 });
        await reopened.close();
        const third = await openStore(dir);
        expect(third.recovery.tailBytes).toBe(0);
        expect((await third.readStream('s')).map((e) => e.type)).toEqual(['T', 'T', 'T', 'T', 'T', 'After']);
      });
    }

    it('refuses to open (rather than truncate) when damage is followed by far-away valid records', async () => {
      const dir = await tempDir();
      const store = await openStore(dir);
      await store.appendToStream('small', [ev('T', { x: 'first' })]);
      const big = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 10; i++) await store.appendToStream('big', [ev('Big', { big, i })]);
      await store.close();
      const logPath = join(dir, LOG_FILE_NAME);
      const bytes = await readFile(logPath);
      const at = bytes.indexOf('first');
      bytes[at] ^= 0xff; // flip a byte inside the first record
      await writeFile(logPath, bytes);
      await expect(openEmbeddedEventStore({ dir })).rejects.toBeInstanceOf(CorruptLogError);
      expect((await stat(logPath)).size).toBe(bytes.length); // nothing was truncated
    });

    it('stops accepting appends after a failed fsync', async () => {
      let fail = true;
      const store = await openStore(await tempDir(), {
        hooks: {
          beforeSync: () => {
            if (fail) throw new Error('EIO simulated');
          },
        },
      });
      await expect(store.appendToStream('s', [ev('T')])).rejects.toBeInstanceOf(EventStoreFailedError);
      fail = false;
      await expect(store.appendToStream('s', [ev('T')])).rejects.toBeInstanceOf(EventStoreFailedError);
      expect(await store.readAll()).toEqual([]);
    });
  });

  describe('subscriptions', () => {
    it('end (done resolves) when the store closes', async () => {
      const store = await openStore(await tempDir());
      await store.appendToStream('s', [ev('A')]);
      const seen: RecordedEvent[] = [];
      const sub = store.subscribeToAll({}, (e) => {
        seen.push(e);
      });
      await waitUntil(() => seen.length === 1, 'the first event');
      await store.close();
      await expect(sub.done).resolves.toBeUndefined();
    });

    it('deliver in batches past the page size without gaps or repeats', async () => {
      const store = await openStore(await tempDir());
      for (let i = 0; i < 25; i++) {
        await store.appendToStream(`s-${i % 5}`, Array.from({ length: 100 }, (_, k) => ev(i % 2 ? 'Odd' : 'Even', { n: i * 100 + k })));
      }
      const seen: number[] = [];
      const sub = store.subscribeToAll({ fromPosition: 99, filter: { eventTypes: ['Odd'] } }, (e) => {
        seen.push(e.data.n as number);
      });
      await waitUntil(() => seen.length === 1200, '1200 odd events');
      await sub.stop();
      const expected = Array.from({ length: 2500 }, (_, n) => n).filter((n) => Math.floor(n / 100) % 2 === 1);
      expect(seen).toEqual(expected);
    });
  });

  describe('locking', () => {
    it('refuses a second writable open of the same directory, also when both race', async () => {
      const dir = await tempDir();
      const outcomes = await Promise.allSettled([openEmbeddedEventStore({ dir }), openEmbeddedEventStore({ dir })]);
      for (const o of outcomes) if (o.status === 'fulfilled') opened.push(o.value);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(outcomes.find((o) => o.status === 'rejected')?.reason).toBeInstanceOf(EventStoreLockedError);
      await expect(openEmbeddedEventStore({ dir })).rejects.toBeInstanceOf(EventStoreLockedError);
      expect((await readdir(dir)).sort()).toEqual(['LOCK', LOG_FILE_NAME]); // no staging files left behind
    });

    it('refuses a directory locked by another live process, naming its pid', async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`);
      const err = await openEmbeddedEventStore({ dir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EventStoreLockedError);
      expect((err as Error).message).toContain(String(process.ppid));
    });

    it('takes over the lock of a dead process', async () => {
      const dir = await tempDir();
      await writeFile(join(dir, 'LOCK'), '999999999\n');
      const store = await openStore(dir);
      expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
      await store.close();
      await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('readOnly mode', () => {
    it('sees appends from a writer through refresh() and live subscriptions, and never writes', async () => {
      const dir = await tempDir();
      const writer = await openStore(dir);
      await writer.appendToStream('s', [ev('Early')]);
      const reader = await openStore(dir, { readOnly: true, pollIntervalMs: 10 });
      expect((await reader.readAll()).map((e) => e.type)).toEqual(['Early']);

      const seen: RecordedEvent[] = [];
      const sub = reader.subscribeToAll({}, (e) => {
        seen.push(e);
      });
      await writer.appendToStream('s', [ev('Live1'), ev('Live2')]);
      await waitUntil(() => seen.length === 3, 'the reader subscription to see the writer appends');
      expect(seen.map((e) => [e.type, e.revision, e.position])).toEqual([
        ['Early', 0, 0],
        ['Live1', 1, 1],
        ['Live2', 2, 2],
      ]);
      await sub.stop();

      await writer.appendToStream('t', [ev('More')]);
      expect(await reader.refresh()).toBe(1);
      expect(await reader.readStream('t')).toMatchObject([{ type: 'More', position: 3 }]);
      await expect(reader.appendToStream('s', [ev('Nope')])).rejects.toThrow(/readOnly/);
    });

    it('a writer calls afterCommit once per durable group with its last position; a reader refreshing on it needs no polling', async () => {
      const dir = await tempDir();
      let reader: Awaited<ReturnType<typeof openStore>> | null = null;
      const commits: number[] = [];
      const writer = await openStore(dir, { hooks: { afterCommit: (p) => { commits.push(p); void reader?.refresh(); } } });
      await writer.appendToStream('s', [ev('A')]);
      expect(commits).toEqual([0]);
      // a poll interval far longer than the test: only afterCommit can wake the reader
      reader = await openStore(dir, { readOnly: true, pollIntervalMs: 600_000 });
      const seen: string[] = [];
      const sub = reader.subscribeToAll({}, (e) => { seen.push(e.type); });
      await Promise.all([writer.appendToStream('s', [ev('B'), ev('C')]), writer.appendToStream('t', [ev('D')])]);
      await waitUntil(() => seen.length === 4, 'the reader to see the writes');
      expect(seen).toEqual(['A', 'B', 'C', 'D']);
      expect(commits.at(-1)).toBe(3);
      expect(commits.length).toBeLessThanOrEqual(3);
      await sub.stop();
      await reader.close();
    });

    it('a reader ingests the bytes a writer committed (no file read); a gap, an overlap or altered bytes make it read the file instead', async () => {
      const dir = await tempDir();
      const committed: CommittedBytes[] = [];
      const writer = await openStore(dir, { hooks: { afterCommit: (_p, c) => { committed.push({ fileOffset: c.fileOffset, bytes: Buffer.from(c.bytes) }); } } });
      await writer.appendToStream('s', [ev('A')]);
      const reader = await openStore(dir, { readOnly: true, pollIntervalMs: 600_000 });
      expect(await reader.ingest(committed[0])).toBe(0); // read at open already

      // in line: taken from the bytes, and read back from memory
      await writer.appendToStreams([{ streamId: 's', events: [ev('B')], expectedRevision: 0 }, { streamId: 't', events: [ev('C'), ev('D')], expectedRevision: 'no_stream' }]);
      expect(await reader.ingest(committed[1])).toBe(3);
      expect(reader.stats().ingested).toBe(1);
      expect(await reader.readStream('t')).toMatchObject([{ type: 'C', streamId: 't', revision: 0, position: 2 }, { type: 'D', revision: 1, position: 3 }]);
      expect(reader.stats().tailReads).toBe(1); // both payloads lie in the ingested bytes
      expect(await reader.readAll()).toMatchObject([{ type: 'A' }, { type: 'B', streamId: 's', revision: 1 }, { type: 'C' }, { type: 'D' }]);
      expect(reader.stats().tailReads).toBe(1); // A was read at open: this read spans the file

      // altered bytes (one payload byte flipped: the CRC fails) are not taken; the file's are
      await writer.appendToStream('s', [ev('E', { n: 1 })]);
      const altered = Buffer.from(committed[2].bytes);
      altered[altered.length - 3] ^= 0x01;
      expect(await reader.ingest({ fileOffset: committed[2].fileOffset, bytes: altered })).toBe(1);
      expect(reader.stats().ingested).toBe(1);
      expect((await reader.readStream('s')).map((e) => e.data)).toEqual([{}, {}, { n: 1 }]);

      // a gap (the next write's bytes before the one in between): the file decides, both arrive
      await writer.appendToStream('t', [ev('F')]);
      await writer.appendToStream('t', [ev('G')]);
      expect(await reader.ingest(committed[4])).toBe(2);
      expect((await reader.readStream('t')).map((e) => e.type)).toEqual(['C', 'D', 'F', 'G']);
      expect(await reader.ingest(committed[3])).toBe(0);

      // records that do not continue the index (a write replayed at the right offset but for other positions) are refused
      const other = await openStore(await tempDir());
      await other.appendToStream('x', [ev('X')]);
      const head = await reader.headPosition();
      const forged = { fileOffset: (await stat(join(dir, LOG_FILE_NAME))).size, bytes: encodeRecord({ streamId: 'x', firstPosition: 0, firstRevision: 0, created: Date.now() }, [encodeEvent(ev('X'))]).bytes };
      expect(await reader.ingest(forged)).toBe(0);
      expect(await reader.headPosition()).toBe(head);
      await other.close();
      await reader.close();
      await writer.close();
    });

    it('filters by stream prefix the same way in long scans (cached per stream) and in the short scans of a live subscription', async () => {
      const dir = await tempDir();
      const store = await openStore(dir);
      for (let i = 0; i < 60; i++) await store.appendToStream(i % 3 === 0 ? `group-${i}` : `person-${i}`, [ev('Old', { i })]);
      const filter = { streamPrefixes: ['group-', 'list-'] };
      // a scan over the whole log (as long as the number of streams): the per-stream cache
      expect((await store.readAll({ filter })).map((e) => e.streamId)).toEqual(Array.from({ length: 20 }, (_, k) => `group-${k * 3}`));
      const seen: string[] = [];
      const sub = store.subscribeToAll({ filter }, (e) => { seen.push(`${e.streamId}:${e.type}`); });
      await waitUntil(() => seen.length === 20, 'the catch-up');
      // live: each commit adds one or two positions to a log of 60+ streams, checked by name
      await store.appendToStream('person-1', [ev('New')]);
      await store.appendToStream('list-a', [ev('New')]);
      await store.appendToStreams([{ streamId: 'person-x', events: [ev('New')], expectedRevision: 'any' }, { streamId: 'group-3', events: [ev('New')], expectedRevision: 'any' }]);
      await store.appendToStream('grouping', [ev('New')]); // "group-" is a prefix, "grouping" does not carry it
      await store.appendToStream('list-b', [ev('Last')]);
      await waitUntil(() => seen.includes('list-b:Last'), 'the live events');
      expect(seen.slice(20)).toEqual(['list-a:New', 'group-3:New', 'list-b:Last']);
      // caught up, it sleeps through commits that hold nothing for it (no wake, no fetch)
      await new Promise((r) => setTimeout(r, 20));
      const wakes = store.stats().wakes;
      for (let i = 0; i < 10; i++) await store.appendToStream(`person-${i}`, [ev('Quiet')]);
      expect(store.stats().wakes).toBe(wakes);
      await store.appendToStream('group-0', [ev('Loud')]);
      await waitUntil(() => seen.includes('group-0:Loud'), 'the next matching event');
      expect(store.stats().wakes).toBe(wakes + 1);
      await sub.stop();
    });

    it('treats an incomplete tail as not yet written, without truncating it', async () => {
      const dir = await tempDir();
      const writer = await openStore(dir);
      await writer.appendToStream('s', [ev('A')]);
      await writer.close();
      const logPath = join(dir, LOG_FILE_NAME);
      const { bytes } = encodeRecord({ streamId: 's', firstPosition: 1, firstRevision: 1, created: Date.now() }, [
        encodeEvent(ev('B')),
      ]);
      const cut = Math.floor(bytes.length / 2);
      await appendFile(logPath, bytes.subarray(0, cut));
      const sizeWithTail = (await stat(logPath)).size;

      const reader = await openStore(dir, { readOnly: true });
      expect(reader.recovery.tailBytes).toBe(cut);
      expect(await reader.refresh()).toBe(0);
      expect((await stat(logPath)).size).toBe(sizeWithTail);
      await appendFile(logPath, bytes.subarray(cut));
      expect(await reader.refresh()).toBe(1);
      expect((await reader.readStream('s')).map((e) => e.type)).toEqual(['A', 'B']);
      await expect(stat(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('a torn atomic run (appendToStreams) is dropped whole on a writable open, and an unfinished one is not applied by a reader', async () => {
      const dir = await tempDir();
      const writer = await openStore(dir);
      await writer.appendToStream('s', [ev('A')]);
      await writer.appendToStreams([{ streamId: 'u', events: [ev('U0')] }, { streamId: 'v', events: [ev('V0')] }]);
      await writer.close();
      const logPath = join(dir, LOG_FILE_NAME);
      const goodSize = (await stat(logPath)).size;
      // a second run of two records, of which only the first (complete and valid) reached the disk
      const created = Date.now();
      const first = encodeRecord({ streamId: 'u', firstPosition: 3, firstRevision: 1, created, continues: true }, [encodeEvent(ev('U1'))]).bytes;
      const second = encodeRecord({ streamId: 'v', firstPosition: 4, firstRevision: 1, created }, [encodeEvent(ev('V1'))]).bytes;
      await appendFile(logPath, first);

      const reader = await openStore(dir, { readOnly: true });
      expect(await reader.headPosition()).toBe(2);
      expect((await reader.readStream('u')).map((e) => e.type)).toEqual(['U0']);
      await appendFile(logPath, second);
      expect(await reader.refresh()).toBe(2); // both records at once, once the run is complete
      expect((await reader.readAll()).map((e) => e.type)).toEqual(['A', 'U0', 'V0', 'U1', 'V1']);
      await reader.close();

      await writeFile(logPath, (await readFile(logPath)).subarray(0, goodSize + first.length)); // tear the run again
      const reopened = await openStore(dir);
      expect(reopened.recovery).toMatchObject({ events: 3, validBytes: goodSize, tailBytes: first.length });
      expect((await stat(logPath)).size).toBe(goodSize);
      expect((await reopened.readStream('u')).map((e) => e.type)).toEqual(['U0']);
      const r = await reopened.appendToStreams([{ streamId: 'u', events: [ev('U1b')], expectedRevision: 0 }, { streamId: 'w', events: [ev('W0')], expectedRevision: 'no_stream' }]);
      expect(r).toEqual([{ nextExpectedRevision: 1, position: 3 }, { nextExpectedRevision: 0, position: 4 }]);
      await reopened.close();
      const third = await openStore(dir);
      expect((await third.readAll()).map((e) => e.type)).toEqual(['A', 'U0', 'V0', 'U1b', 'W0']);
    });

    it('fails clearly when there is no log to read', async () => {
      await expect(openEmbeddedEventStore({ dir: await tempDir(), readOnly: true })).rejects.toThrow(/no event log/);
    });
  });
});

function partialRecord(fraction: number): Buffer {
  const { bytes } = encodeRecord({ streamId: 's', firstPosition: 5, firstRevision: 5, created: Date.now() }, [
    encodeEvent(ev('Torn', { pad: 'p'.repeat(200) })),
  ]);
  return bytes.subarray(0, Math.max(1, Math.floor(bytes.length * fraction)));
}

function badCrcRecord(): Buffer {
  const { bytes } = encodeRecord({ streamId: 's', firstPosition: 5, firstRevision: 5, created: Date.now() }, [
    encodeEvent(ev('Torn')),
  ]);
  bytes.writeUInt32LE((bytes.readUInt32LE(8) + 1) >>> 0, 8);
  return bytes;
}

describe('currentRevision (the cheap tip lookup)', () => {
  it('answers from the index what reading the last event would answer', async () => {
    const store = await openStore(await tempDir());
    expect(await store.currentRevision('nope')).toBe(-1);
    expect(await streamRevision(store, 'nope')).toBe(-1);
    await store.appendToStream('a-1', [ev('X'), ev('Y')]);
    await store.appendToStream('a-1', [ev('Z')]);
    const [last] = await store.readStream('a-1', { direction: 'backwards', maxCount: 1 });
    expect(await store.currentRevision('a-1')).toBe(last.revision);
    expect(await store.currentRevision('a-1')).toBe(2);
    const chained = withHashChain(store);
    expect(await streamRevision(chained, 'a-1')).toBe(2);
    // and synchronously, through the hash-chain wrapper too
    expect(revisionsNow(store)?.currentRevisionNow('a-1')).toBe(2);
    expect(revisionsNow(chained)?.currentRevisionNow('a-1')).toBe(2);
    expect(revisionsNow(chained)?.currentRevisionNow('nope')).toBe(-1);
    // a store without an in-process index has no synchronous revisions, and neither has its chain
    const plain: Record<string, unknown> = { ...chained };
    delete plain.currentRevisionNow;
    expect(revisionsNow(plain as unknown as typeof chained)).toBeNull();
    expect(revisionsNow(withHashChain(plain as unknown as typeof chained))).toBeNull();
  });
});
