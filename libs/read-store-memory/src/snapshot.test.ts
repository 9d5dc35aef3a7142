import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Doc } from '@muster/read-store';
import { createMemoryReadStore, type MemoryReadStore } from './memory.ts';
import { loadNewestSnapshot, writeSnapshot } from './snapshot.ts';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'muster-snapshot-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const HINTS = { by_list_user: { pointLookups: true } };

async function filled(people = 2_500, log = 4_321): Promise<MemoryReadStore> {
  const rs = createMemoryReadStore({ indexHints: HINTS });
  await rs.ensureIndexes('people', [{ key: { listId: 1, userLower: 1 }, name: 'by_list_user' }, { key: { listId: 1, status: 1, createdAt: 1 }, name: 'by_status' }]);
  await rs.ensureIndexes('log', [{ key: { listId: 1, position: -1 }, name: 'by_position' }]);
  for (let i = 0; i < people; i++) await rs.collection('people').insertOne({ _id: `p${i}`, listId: 'L', userLower: `user${i}@x.org`, status: i % 3 ? 'active' : 'inactive', createdAt: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, fields: { n: i, note: 'line\nbreak "quoted" ünïcode' } });
  for (let i = 0; i < log; i++) await rs.collection('log').insertOne({ _id: `e${i}`, listId: 'L', position: i });
  await rs.setCheckpoint('main', 7_000);
  return rs;
}
const position = (docsOf: (n: string) => Doc[]) => Number(docsOf('_checkpoints').find((d) => d._id === 'main')?.position ?? -1);
const snapshotFiles = async () => (await readdir(dir)).filter((f) => f.endsWith('.snapshot'));

describe('read-store snapshots', () => {
  it('a loaded snapshot answers as the store did: documents, indexes (point lookups too), the checkpoint', async () => {
    const rs = await filled();
    const w = await writeSnapshot(rs, { dir, version: 'v1', position });
    expect(w).toMatchObject({ position: 7_000, docs: 2_500 + 4_321 + 1 });
    const back = createMemoryReadStore({ indexHints: HINTS });
    const res = await loadNewestSnapshot(back, { dir, version: 'v1' });
    expect(res).toMatchObject({ loaded: true, position: 7_000, docs: 2_500 + 4_321 + 1 });
    expect(await back.getCheckpoint('main')).toBe(7_000);
    const f = { listId: 'L', userLower: 'user1234@x.org' };
    expect(await back.collection('people').find(f)).toEqual(await rs.collection('people').find(f));
    expect(back.collection('people').explain(f)).toMatchObject({ index: 'by_list_user', pointLookup: true, docsExamined: 1 });
    const q = { listId: 'L', status: 'active' };
    expect(await back.collection('people').find(q, { sort: { createdAt: 1 }, limit: 20 })).toEqual(await rs.collection('people').find(q, { sort: { createdAt: 1 }, limit: 20 }));
    expect(await back.collection('log').countDocuments({})).toBe(4_321);
  });

  it('leaves a collection for later: its reads wait for it, writes meanwhile are kept (the one written meanwhile wins)', async () => {
    const rs = await filled(10, 5_000);
    await writeSnapshot(rs, { dir, version: 'v1', position });
    const back = createMemoryReadStore({ indexHints: HINTS });
    const res = await loadNewestSnapshot(back, { dir, version: 'v1', later: ['log'] });
    if (!res.loaded) throw new Error('not loaded');
    expect(await back.collection('people').countDocuments({})).toBe(10);
    await back.ensureIndexes('log', [{ key: { listId: 1, position: -1 }, name: 'by_position' }]);
    await back.collection('log').insertOne({ _id: 'e-new', listId: 'L', position: 9_999 });
    await back.collection('log').insertOne({ _id: 'e7', listId: 'L', position: 7, rewritten: true });
    let counted: number | null = null;
    const counting = back.collection('log').countDocuments({}).then((n) => { counted = n; });
    await new Promise((r) => setTimeout(r, 5));
    expect(counted).toBeNull(); // held until the rest is in
    expect(await res.rest()).toBe(5_000);
    await counting;
    expect(counted).toBe(5_001);
    expect(await back.collection('log').findOne({ _id: 'e7' })).toMatchObject({ rewritten: true });
    expect((await back.collection('log').find({ listId: 'L' }, { sort: { position: -1 }, limit: 1 }))[0]._id).toBe('e-new');
  });

  it('passes over a damaged, cut short or other-version snapshot (saying why) and takes the newest good one', async () => {
    const rs = await filled(100, 100);
    await writeSnapshot(rs, { dir, version: 'v1', position, keep: 5 });
    const [good] = await snapshotFiles();
    await rs.setCheckpoint('main', 8_000);
    await writeSnapshot(rs, { dir, version: 'v1', position, keep: 5 });
    const newer = (await snapshotFiles()).find((f) => f !== good)!;
    const bytes = await readFile(join(dir, newer));
    bytes[Math.floor(bytes.length / 2)] ^= 0x20; // one flipped bit in the middle
    await writeFile(join(dir, newer), bytes);
    const back = createMemoryReadStore();
    const res = await loadNewestSnapshot(back, { dir, version: 'v1' });
    expect(res).toMatchObject({ loaded: true, position: 7_000 });
    expect(res.skipped).toEqual([expect.stringMatching(/damaged/)]);
    await writeFile(join(dir, newer), bytes.subarray(0, bytes.length - 100)); // cut short
    expect((await loadNewestSnapshot(createMemoryReadStore(), { dir, version: 'v1' })).skipped).toEqual([expect.stringMatching(/cut short|damaged/)]);
    const other = await loadNewestSnapshot(createMemoryReadStore(), { dir, version: 'v2' });
    expect(other.loaded).toBe(false);
    expect(other.skipped.some((s) => /another version/.test(s))).toBe(true);
    expect((await loadNewestSnapshot(createMemoryReadStore(), { dir: join(dir, 'none'), version: 'v1' })).loaded).toBe(false);
  });

  it('keeps only the newest snapshot and removes temporary files a crash left', async () => {
    const rs = await filled(10, 10);
    await writeFile(join(dir, 'readmodels-000000000001-1.snapshot.abcd.tmp'), 'half a snapshot');
    await writeSnapshot(rs, { dir, version: 'v1', position });
    await rs.setCheckpoint('main', 7_001);
    const w = await writeSnapshot(rs, { dir, version: 'v1', position });
    expect(await readdir(dir)).toEqual([w.file.split('/').pop()]);
  });

  it('writes what was captured: documents changed while it is written are not in it', async () => {
    const rs = await filled(5_000, 0);
    const writing = writeSnapshot(rs, { dir, version: 'v1', position });
    await rs.collection('people').updateOne({ _id: 'p4999' }, { $set: { status: 'changed' } });
    await rs.collection('people').insertOne({ _id: 'late', listId: 'L' });
    await writing;
    const back = createMemoryReadStore();
    await loadNewestSnapshot(back, { dir, version: 'v1' });
    expect(await back.collection('people').findOne({ _id: 'p4999' })).toMatchObject({ status: 'active' }); // 4999 % 3 = 1: active when captured
    expect(await back.collection('people').findOne({ _id: 'late' })).toBeNull();
  });

  it('reads an append-only collection while writing: everything there at the capture, and maybe some added after', async () => {
    const rs = await filled(10, 20_000);
    const writing = writeSnapshot(rs, { dir, version: 'v1', position, appendOnly: ['log'] });
    for (let i = 0; i < 50; i++) await rs.collection('log').insertOne({ _id: `after${i}`, listId: 'L', position: 100_000 + i });
    const w = await writing;
    const back = createMemoryReadStore();
    await loadNewestSnapshot(back, { dir, version: 'v1' });
    const n = await back.collection('log').countDocuments({});
    expect(n).toBeGreaterThanOrEqual(20_000);
    expect(n).toBeLessThanOrEqual(20_050);
    expect(await back.collection('log').findOne({ _id: 'e19999' })).not.toBeNull();
    expect(w.position).toBe(7_000);
  });
});
