/**
 * Runs the contract suite against a real EventStoreDB: EVENTSTORE_URL when set (e.g.
 * "esdb://localhost:2113?tls=false"), otherwise a throw-away eventstore/eventstore:24.10 container
 * when a container runtime is reachable; otherwise the suite is skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { eventStoreContract } from './contract.ts';
import { createEsdbEventStore } from './esdb.ts';

const IMAGE = 'eventstore/eventstore:24.10';

type Target = { kind: 'url'; url: string } | { kind: 'container' } | { kind: 'skip'; reason: string };

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function resolveTarget(): Promise<Target> {
  const url = process.env.EVENTSTORE_URL;
  if (url) return { kind: 'url', url };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), 10_000, 'container runtime');
    return { kind: 'container' };
  } catch (err) {
    return { kind: 'skip', reason: (err as Error).message };
  }
}

const target = await resolveTarget();

if (target.kind === 'skip') {
  console.log(`SKIPPED eventstoredb contract suite: no EVENTSTORE_URL and no container runtime (${target.reason})`);
  describe.skip('EventStore contract: eventstoredb', () => {
    it('needs EVENTSTORE_URL or a container runtime', () => undefined);
  });
} else {
  describe('eventstoredb', () => {
    let connectionString = target.kind === 'url' ? target.url : '';
    let stopContainer: (() => Promise<unknown>) | undefined;

    beforeAll(async () => {
      if (target.kind !== 'container') return;
      const { GenericContainer, Wait } = await import('testcontainers');
      const container = await new GenericContainer(IMAGE)
        .withEnvironment({
          EVENTSTORE_INSECURE: 'true',
          EVENTSTORE_MEM_DB: 'true',
          EVENTSTORE_RUN_PROJECTIONS: 'None',
          EVENTSTORE_ENABLE_ATOM_PUB_OVER_HTTP: 'true',
        })
        .withExposedPorts(2113)
        .withWaitStrategy(Wait.forHealthCheck())
        .start();
      stopContainer = () => container.stop();
      connectionString = `esdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`;
    }, 180_000);

    afterAll(async () => {
      await stopContainer?.();
    });

    eventStoreContract('eventstoredb', async () => {
      const store = createEsdbEventStore({ connectionString });
      return { store, cleanup: () => store.close() };
    });
  });
}
