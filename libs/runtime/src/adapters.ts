import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { MusterConfig } from '@muster/config';
import { connectNatsBus, createMemoryBus, type Bus } from '@muster/bus';
import { createEsdbEventStore, openEmbeddedEventStore, withHashChain, type EventStore } from '@muster/event-store';
import { createMemoryReadStore, createMongoReadStore, type ReadStore } from '@muster/read-store';

export interface Adapters {
  /** the event store every service appends through: hash-chained for tamper evidence */
  store: EventStore;
  /** the undecorated store (projections read through either) */
  rawStore: EventStore;
  readStore: ReadStore;
  bus: Bus;
  close(): Promise<void>;
}

/** Open the adapters the configuration names (embedded/memory on a laptop; ESDB/Mongo/NATS in a cluster). */
export async function openAdapters(config: MusterConfig, opts: { serviceName?: string } = {}): Promise<Adapters> {
  let rawStore: EventStore;
  if (config.eventStore.kind === 'embedded') {
    const dir = join(config.dataDir, 'events');
    await mkdir(dir, { recursive: true });
    rawStore = await openEmbeddedEventStore({ dir });
  } else {
    rawStore = createEsdbEventStore({ connectionString: config.eventStore.url });
  }
  const readStore = config.readStore.kind === 'memory'
    ? createMemoryReadStore()
    : await createMongoReadStore({ url: config.readStore.url, dbName: config.readStore.db });
  const bus = config.bus.kind === 'memory'
    ? createMemoryBus()
    : await connectNatsBus({ servers: config.bus.servers, name: opts.serviceName ?? 'muster' });
  const store = withHashChain(rawStore);
  return {
    store, rawStore, readStore, bus,
    async close() {
      await bus.close().catch(() => {});
      await readStore.close().catch(() => {});
      await rawStore.close();
    },
  };
}
