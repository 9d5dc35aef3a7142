import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileDataKeyStore, KEY_FILE, MongoDataKeyStore } from './key-store.ts';
import { dataKeyStoreContract } from './key-store-contract.ts';

dataKeyStoreContract('files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'muster-keys-'));
  const store = await FileDataKeyStore.open({ dir });
  return { store, stop: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

describe('file data key store', () => {
  it('survives a reopen, removes an erased key from the file, and a read-only reader in another thread sees new keys and erasures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-keys-'));
    try {
      const writer = await FileDataKeyStore.open({ dir });
      const reader = await FileDataKeyStore.open({ dir, readOnly: true });
      await writer.create('person-a', 'v1.AAAA.BBBB.CCCC');
      await Promise.all(Array.from({ length: 50 }, (_, i) => writer.create(`person-${i}`, `v1.key${i}.x.y`)));
      expect(await reader.get('person-a')).toBe('v1.AAAA.BBBB.CCCC');
      expect(await reader.get('person-49')).toBe('v1.key49.x.y');
      // misses at once while the writer goes on: every key is found (the catch-ups take turns)
      for (let round = 0; round < 20; round++) {
        await Promise.all([writer.create(`r${round}-a`, `v1.ra${round}.x.y`), writer.create(`r${round}-b`, `v1.rb${round}.x.y`)]);
        const late = writer.create(`r${round}-c`, `v1.rc${round}.x.y`);
        expect(await Promise.all([reader.get(`r${round}-a`), reader.get(`r${round}-b`)])).toEqual([`v1.ra${round}.x.y`, `v1.rb${round}.x.y`]);
        await late;
        expect(await reader.get(`r${round}-c`)).toBe(`v1.rc${round}.x.y`);
      }
      expect((await stat(join(dir, KEY_FILE))).mode & 0o777).toBe(0o600);
      await writer.erase(['person-a']);
      const text = await readFile(join(dir, KEY_FILE), 'utf8');
      expect(text).not.toContain('AAAA');
      expect(text).toContain('x person-a\n');
      // a reader that cached the key is told to look again (the vault forgets it on PersonErased)
      const fresh = await FileDataKeyStore.open({ dir, readOnly: true });
      expect(await fresh.get('person-a')).toBe('erased');
      await writer.create('person-late', 'v1.late.k.k');
      expect(await reader.get('person-late')).toBe('v1.late.k.k'); // the rewritten file is noticed
      await expect(reader.create('person-z', 'v1.z.z.z')).rejects.toThrow(/read-only/);
      await writer.close();
      const reopened = await FileDataKeyStore.open({ dir });
      expect(await reopened.get('person-a')).toBe('erased');
      expect(await reopened.get('person-7')).toBe('v1.key7.x.y');
      await reopened.close();
      await reader.close();
      await fresh.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file data key store attached to the event log\'s commits', () => {
  it('writes new keys in one durable write when the log is about to write its group, not before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-keys-'));
    try {
      const writer = await FileDataKeyStore.open({ dir });
      const reader = await FileDataKeyStore.open({ dir, readOnly: true });
      const beforeCommit = writer.attachToCommits();
      expect(await Promise.all([writer.create('p1', 'v1.a.b.c'), writer.create('p2', 'v1.d.e.f')])).toEqual(['v1.a.b.c', 'v1.d.e.f']);
      expect(await writer.get('p1')).toBe('v1.a.b.c');
      expect(await reader.get('p1')).toBeNull(); // not on disk yet: no event sealed with it is either
      await beforeCommit();
      expect(await reader.get('p1')).toBe('v1.a.b.c');
      expect(await reader.get('p2')).toBe('v1.d.e.f');
      await writer.create('p3', 'v1.g.h.i');
      await writer.close(); // a clean close writes what is pending
      expect(await reader.get('p3')).toBe('v1.g.h.i');
      await reader.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const mongoUrl = process.env.MONGODB_URL;
if (!mongoUrl) {
  console.log('SKIPPED mongodb data key store contract suite: no MONGODB_URL');
  describe.skip('DataKeyStore contract: mongodb', () => { it('needs MONGODB_URL', () => {}); });
} else {
  dataKeyStoreContract('mongodb', async () => {
    const { MongoClient } = await import('mongodb');
    const client = await new MongoClient(mongoUrl).connect();
    const collection = client.db(`muster_keys_${Date.now()}`).collection('data_keys');
    return { store: new MongoDataKeyStore(collection as never), stop: async () => { await collection.drop().catch(() => {}); await client.close(); } };
  });
}
