import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOG_FILE_NAME, openEmbeddedEventStore, type EmbeddedEventStore } from '../embedded.ts';
import { WrongExpectedRevisionError, type NewEvent } from '../port.ts';
import { crc32 } from '../crc32.ts';
import { packable } from './codec.ts';
import { decodeLog, encodeLog, decodeRecordAt, HEADER_BYTES } from './format.ts';

const dirs: string[] = [];
const opened: EmbeddedEventStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function open(dir?: string, readOnly = false) {
  if (!dir) { dir = await mkdtemp(join(tmpdir(), 'muster-codec-')); dirs.push(dir); }
  const s = await openEmbeddedEventStore({ dir, readOnly, pollIntervalMs: 600_000 });
  opened.push(s);
  return s;
}
const ev = (type: string, data: Record<string, unknown>, metadata: Record<string, unknown> = {}): NewEvent => ({ eventId: randomUUID(), type, data, metadata });
/** what a reader must get back: the JSON round trip of what was appended */
const viaJson = (e: NewEvent) => ({ eventId: e.eventId, type: e.type, data: JSON.parse(JSON.stringify(e.data)), metadata: JSON.parse(JSON.stringify(e.metadata ?? {})) });
const strip = (e: { eventId: string; type: string; data: unknown; metadata: unknown }) => ({ eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata });

// values whose MessagePack form would differ from their JSON round trip, and plain ones
const awkward: Array<Record<string, unknown>> = [
  { a: 1, b: undefined },
  { when: new Date(0) },
  { n: NaN, i: Infinity, z: -0 },
  JSON.parse('{"__proto__": {"polluted": true}, "x": 1}'),
  { s: 'lone \ud800 surrogate' },
  { arr: [1, undefined, 3] },
  { nested: { deep: [{ k: 'v', o: { toJSON: () => 'custom' } }] } },
  { big: 2 ** 53 - 1, neg: -(2 ** 40), frac: 0.1 + 0.2, tiny: 5e-324 },
  { unicode: 'Zoë 🎉 日本', empty: '', nul: null, t: true, f: false },
];

describe('log payloads (MessagePack with shared structures, JSON where not exact)', () => {
  it('packable() accepts exactly the values whose JSON round trip is exact and msgpackr keeps', () => {
    expect(packable({ a: [1, 'x', null, true, { b: 2.5 }] })).toBe(true);
    expect(packable(Object.assign(Object.create(null), { a: 1 }))).toBe(true);
    for (const v of awkward.slice(0, 7)) expect(packable(v), JSON.stringify(v)).toBe(false);
    expect(packable(awkward[7])).toBe(true);
    expect(packable(awkward[8])).toBe(true);
  });

  it('reads back what JSON would give, for packed and JSON payloads, after a reopen and from a read-only reader', async () => {
    const store = await open();
    const events: NewEvent[] = [];
    // many shapes (each becomes a shared structure) mixed with the awkward values
    for (let i = 0; i < 300; i++) {
      const shape: Record<string, unknown> = { [`k${i}`]: i, common: { x: i, y: [`s${i}`] } };
      events.push(ev('Shape', shape, { occurredAt: new Date(i).toISOString(), source: { kind: 'scim', n: i } }));
      if (i % 30 === 0) events.push(ev('Awkward', awkward[(i / 30) % awkward.length], { n: i }));
    }
    for (let i = 0; i < events.length; i += 7) await store.appendToStream(`s-${i % 5}`, events.slice(i, i + 7));
    const expected = events.map(viaJson);
    const byPosition = (await store.readAll()).map(strip);
    const bag = (xs: Array<{ eventId: string }>) => [...xs].sort((a, b) => a.eventId.localeCompare(b.eventId));
    expect(bag(byPosition)).toEqual(bag(expected));
    const dir = store.dir;

    const reader = await open(dir, true);
    expect(bag((await reader.readAll()).map(strip))).toEqual(bag(expected));
    // new shapes written after the reader opened reach it through refresh
    const later = [ev('Later', { brandNew: { shape: 1 } }), ev('Later', { brandNew: { shape: 2 }, extra: 'x' })];
    await store.appendToStream('later', later);
    expect(await reader.refresh()).toBe(2);
    expect((await reader.readStream('later')).map(strip)).toEqual(later.map(viaJson));
    await store.close();

    const reopened = await open(dir);
    expect(bag((await reopened.readAll()).map(strip))).toEqual(bag([...expected, ...later.map(viaJson)]));
    const image = await readFile(join(dir, LOG_FILE_NAME));
    const firstPayload = (() => { const r = decodeRecordAt(image, 0); if (r.kind !== 'ok') throw new Error(r.kind); return image[r.record.events[0].payloadOffset]; })();
    expect(firstPayload).toBe(0x93); // packed, not JSON
    expect(decodeLog(image).records.flatMap((r) => r.events).length).toBe(events.length + 2);
  });

  it('a shape first met by an append that is refused is defined by the next record written', async () => {
    const store = await open();
    await store.appendToStream('s', [ev('A', { a: 1 })]);
    await expect(store.appendToStream('s', [ev('B', { onlyHere: { deep: true } })], { expectedRevision: 5 })).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    const ok = ev('C', { onlyHere: { deep: false } });
    await store.appendToStream('t', [ok]);
    await store.close();
    const reopened = await open(store.dir);
    expect((await reopened.readStream('t')).map(strip)).toEqual([viaJson(ok)]);
  });

  it('reads logs of format version 1 (JSON payloads, no definitions)', async () => {
    const store = await open();
    const events = [ev('A', { a: 1, nested: { b: [1, 2] } }), ev('B', { a: 2, nested: { b: [] } })];
    await store.appendToStream('s', events);
    await store.close();
    const path = join(store.dir, LOG_FILE_NAME);
    // rewrite as JSON records and mark them version 1, with fresh crcs
    const v1 = encodeLog(decodeLog(await readFile(path)).records);
    for (let at = 0; at < v1.length;) {
      const len = v1.readUInt32LE(at + 4);
      v1.writeUInt8(1, at + HEADER_BYTES);
      v1.writeUInt32LE(crc32(v1.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len)), at + 8);
      at += HEADER_BYTES + len;
    }
    await writeFile(path, v1);
    const reopened = await open(store.dir);
    expect((await reopened.readAll()).map(strip)).toEqual(events.map(viaJson));
    // appends after it use the new format and read back alike
    const next = ev('C', { a: 3, nested: { b: [3] } });
    await reopened.appendToStream('s', [next]);
    expect((await reopened.readStream('s')).map(strip)).toEqual([...events, next].map(viaJson));
  });
});
