import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { MusterConfig } from '@muster/config';
import { connectNatsBus, createMemoryBus, type Bus } from '@muster/bus';
import type { Metrics } from './metrics.ts';
import { createEsdbEventStore, openEmbeddedEventStore, withHashChain, type CommittedBytes, type EventStore } from '@muster/event-store';
import { createMongoReadStore, type ReadStore } from '@muster/read-store';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { MEMORY_INDEX_HINTS } from '@muster/read-models';
import { FileDataKeyStore, openVault, withPersonalData, type PersonalDataVault } from '@muster/personal-data';

export interface Adapters {
  /** the event store every service appends through: hash-chained for tamper evidence */
  store: EventStore;
  /**
   * the store as stored: hash-chained, personal data sealed (what `audit verify` and the head digest
   * read); `store` reads through it with personal data opened
   */
  rawStore: EventStore;
  /** the personal-data vault (null when MUSTER_SEAL_PERSONAL_DATA=off): erasure deletes keys here */
  vault: PersonalDataVault | null;
  readStore: ReadStore;
  bus: Bus;
  /** set when the read models are kept by a projector running elsewhere (see ReadStoreHost) */
  projection?: ProjectionHost;
  close(): Promise<void>;
}

/**
 * What this process sees of a projector that runs elsewhere and owns the read store (the one-process
 * runtime runs it in a worker thread so the read models are built off the request thread).
 */
export interface ProjectionHost {
  /** the latest status the projector reported (refreshed in the background; never blocks) */
  status(): { ready: boolean; health: Record<string, unknown> };
  /** resolves true once the projector has applied `position`, false on timeout */
  waitFor(position: number, timeoutMs?: number): Promise<boolean>;
  /** every lag sample (ms) as the projector reports it; returns the unsubscribe function */
  onLagSample(listener: (lagMs: number) => void): () => void;
  /** the projector's rebuild control (request and answer as on the bus subject) */
  rebuild(request: unknown): Promise<unknown>;
}

export interface HostedReadStore {
  readStore: ReadStore;
  projection?: ProjectionHost;
  /** the embedded writer calls this after every group commit (see EmbeddedHooks.afterCommit) */
  afterCommit?: (lastPosition: number, committed?: CommittedBytes) => void;
  close(): Promise<void>;
}

/**
 * Hosts the in-memory read store (and the projector that fills it) somewhere else than this thread,
 * reading the embedded log in `eventsDir`. Only used for the embedded + memory configuration.
 */
export type ReadStoreHost = (ctx: { eventsDir: string; config: MusterConfig }) => Promise<HostedReadStore>;

/** Open the adapters the configuration names (embedded/memory on a laptop; ESDB/Mongo/NATS in a cluster). */
export async function openAdapters(config: MusterConfig, opts: { serviceName?: string; readStoreHost?: ReadStoreHost; metrics?: Metrics } = {}): Promise<Adapters> {
  let rawStore: EventStore;
  let keysBeforeCommit: (() => Promise<void>) | null = null;
  let hosted: HostedReadStore | null = null;
  const eventsDir = join(config.dataDir, 'events');
  const hostedHere = config.readStore.kind === 'memory' && config.eventStore.kind === 'embedded' && !!opts.readStoreHost;
  let hosting: Promise<HostedReadStore> | null = null;
  if (config.eventStore.kind === 'embedded') {
    await mkdir(eventsDir, { recursive: true });
    // the read store's host (the projector thread, loading its snapshot) starts while the log opens
    if (hostedHere) { hosting = opts.readStoreHost!({ eventsDir, config }); hosting.catch(() => {}); }
    try {
      rawStore = await openEmbeddedEventStore({ dir: eventsDir, hooks: {
        // new data keys are written just before the group write of the events sealed with them
        beforeSync: () => keysBeforeCommit?.(),
        afterCommit: (p, committed) => hosted?.afterCommit?.(p, committed),
        ...(opts.metrics ? { afterSync: (seconds: number, bytes: number) => opts.metrics!.sync(seconds, bytes) } : {}),
      } });
    } catch (err) {
      await hosting?.then((h) => h.close(), () => {});
      throw err;
    }
  } else {
    rawStore = createEsdbEventStore({ connectionString: config.eventStore.url });
  }
  let readStore: ReadStore;
  try {
    if (hosting) {
      hosted = await hosting;
      readStore = hosted.readStore;
    } else {
      readStore = config.readStore.kind === 'memory'
        ? createMemoryReadStore({ indexHints: MEMORY_INDEX_HINTS })
        : await createMongoReadStore({ url: config.readStore.url, dbName: config.readStore.db });
    }
  } catch (err) {
    await rawStore.close().catch(() => {});
    throw err;
  }
  const bus = config.bus.kind === 'memory'
    ? createMemoryBus()
    : await connectNatsBus({ servers: config.bus.servers, name: opts.serviceName ?? 'muster' });
  const chained = withHashChain(rawStore);
  let vault: PersonalDataVault | null = null;
  let closeKeys = async () => {};
  if (config.sealPersonalData) {
    try {
      const opened = await openVault({ dataDir: config.dataDir, secretKey: config.secretKey, ...(config.readStore.kind === 'mongodb' ? { mongo: config.readStore } : {}) });
      ({ vault, close: closeKeys } = opened);
      if (config.eventStore.kind === 'embedded' && opened.keys instanceof FileDataKeyStore) keysBeforeCommit = opened.keys.attachToCommits();
    } catch (err) {
      await bus.close().catch(() => {});
      if (hosted) await hosted.close().catch(() => {}); else await readStore.close().catch(() => {});
      await rawStore.close().catch(() => {});
      throw err;
    }
  }
  const store = vault ? withPersonalData(chained, vault) : chained;
  if (opts.metrics) timeAppends(store, opts.metrics);
  return {
    store, rawStore: chained, vault, readStore, bus,
    ...(hosted?.projection ? { projection: hosted.projection } : {}),
    async close() {
      await bus.close().catch(() => {});
      if (hosted) await hosted.close().catch(() => {});
      else await readStore.close().catch(() => {});
      await closeKeys();
      await rawStore.close();
    },
  };
}

/** every append through `store` (one stream or several at once) timed into the metrics, by outcome */
function timeAppends(store: EventStore, metrics: Metrics): void {
  const timed = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    const started = performance.now();
    try {
      const result = await fn(...args);
      metrics.append((performance.now() - started) / 1000, true);
      return result;
    } catch (err) {
      metrics.append((performance.now() - started) / 1000, false);
      throw err;
    }
  };
  store.appendToStream = timed(store.appendToStream.bind(store));
  if (store.appendToStreams) store.appendToStreams = timed(store.appendToStreams.bind(store));
}
