import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSecretStore, MongoSecretStore } from './store.ts';
import { secretStoreContract } from './store-contract.ts';

secretStoreContract('files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'muster-secrets-'));
  return { store: new FileSecretStore(join(dir, 'secrets')), stop: () => rm(dir, { recursive: true, force: true }) };
});

describe('file secret store', () => {
  it('writes each sealed value readable by its owner only, with no temporary file left behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-secrets-'));
    try {
      const store = new FileSecretStore(join(dir, 'secrets'));
      await store.put('entra-l1', 'v1.x.y.z');
      expect((await stat(join(dir, 'secrets', 'entra-l1.sealed'))).mode & 0o777).toBe(0o600);
      expect(await readdir(join(dir, 'secrets'))).toEqual(['entra-l1.sealed']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const mongoUrl = process.env.MONGODB_URL;
if (!mongoUrl) {
  console.log('SKIPPED mongodb secret store contract suite: no MONGODB_URL');
  describe.skip('SecretStore contract: mongodb', () => { it('needs MONGODB_URL', () => {}); });
} else {
  secretStoreContract('mongodb', async () => {
    const { MongoClient } = await import('mongodb');
    const client = await new MongoClient(mongoUrl).connect();
    const collection = client.db(`muster_secrets_${Date.now()}`).collection<{ _id: string; sealed: string }>('secrets');
    return { store: new MongoSecretStore(collection as never), stop: async () => { await collection.drop().catch(() => {}); await client.close(); } };
  });
}
