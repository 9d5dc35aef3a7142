/**
 * MongoDB adapter: runs the contract against MONGODB_URL when set, else against a throwaway
 * mongo:7 container when a container runtime answers, else registers the suite as skipped.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readStoreContract } from './contract.ts';
import { createMongoReadStore, duplicateIndexName } from './mongo.ts';

const RUNTIME_PROBE_TIMEOUT_MS = 5_000;
const CONTAINER_START_TIMEOUT_MS = 120_000;

type Target = { kind: 'url'; url: string } | { kind: 'container' } | { kind: 'skip'; reason: string };

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function resolveTarget(): Promise<Target> {
  const url = process.env.MONGODB_URL;
  if (url) return { kind: 'url', url };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), RUNTIME_PROBE_TIMEOUT_MS, 'container runtime probe');
    return { kind: 'container' };
  } catch (err) {
    return { kind: 'skip', reason: err instanceof Error ? err.message : String(err) };
  }
}

const target = await resolveTarget();

describe('duplicateIndexName', () => {
  it('reads the index name out of an E11000 message', () => {
    expect(
      duplicateIndexName({
        message: 'E11000 duplicate key error collection: muster.people index: list_employee dup key: { listId: "L1", employeeNumber: "E1" }',
      }),
    ).toBe('list_employee');
    expect(duplicateIndexName({ message: 'E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: "p1" }' })).toBe('_id_');
    expect(duplicateIndexName({ message: 'something else' })).toBe('unknown');
  });
});

if (target.kind === 'skip') {
  console.log(`SKIPPED mongodb contract suite: no MONGODB_URL and no container runtime (${target.reason})`);
  describe.skip('ReadStore contract: mongodb', () => {
    it('needs MONGODB_URL or a container runtime', () => {});
  });
} else {
  readStoreContract('mongodb', async () => {
    let url: string;
    let stopContainer = async (): Promise<void> => {};
    if (target.kind === 'url') {
      url = target.url;
    } else {
      const { GenericContainer, Wait } = await import('testcontainers');
      const container = await new GenericContainer('mongo:7')
        .withExposedPorts(27017)
        .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
        .withStartupTimeout(CONTAINER_START_TIMEOUT_MS)
        .start();
      url = `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/?directConnection=true`;
      stopContainer = async () => {
        await container.stop();
      };
    }
    const dbName = `muster_read_store_test_${randomBytes(4).toString('hex')}`;
    const store = await createMongoReadStore({ url, dbName });
    return {
      store,
      cleanup: async () => {
        const { MongoClient } = await import('mongodb');
        const admin = new MongoClient(url);
        try {
          await admin.db(dbName).dropDatabase();
        } finally {
          await admin.close();
        }
        await store.close();
        await stopContainer();
      },
    };
  });
}
