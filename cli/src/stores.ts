import { join } from 'node:path';
import type { MusterConfig } from '@muster/config';
import { NoLogError } from './errors.ts';
import { createEsdbEventStore, openEmbeddedEventStore, type EmbeddedEventStore, type EventStore } from '@muster/event-store';

export interface OpenedLog {
  /**
   * the log to read, personal data opened (`[erased]` where a key is gone); for the embedded store,
   * headPosition() first picks up what a server appended since
   */
  store: EventStore;
  /** the same log as stored (personal data sealed): what the hash chain covers */
  stored: EventStore;
  /** the embedded store, when that is what the config names */
  embedded: EmbeddedEventStore | null;
  /** where the log is, for messages */
  where: string;
  close(): Promise<void>;
}

export function embeddedLogDir(config: MusterConfig): string {
  return join(config.dataDir, 'events');
}

/**
 * Opens the event log the configuration names for reading only: the embedded log read-only (works
 * while a server writes the same MUSTER_DATA_DIR: no lock, no writes, no truncation) or EventStoreDB.
 */
export async function openLogForReading(config: MusterConfig): Promise<OpenedLog> {
  const log = await openStored(config);
  if (!config.sealPersonalData) return { ...log, stored: log.store };
  // the data keys, read-only: the file in the data directory, or the data_keys collection
  const { openVault, withPersonalData } = await import('@muster/personal-data');
  const { vault, close } = await openVault({ dataDir: config.dataDir, secretKey: config.secretKey, readOnly: true, ...(config.readStore.kind === 'mongodb' ? { mongo: config.readStore } : {}) });
  const store = withPersonalData(log.store, vault);
  return { ...log, store, stored: log.store, close: async () => { await log.close(); await close(); } };
}

async function openStored(config: MusterConfig): Promise<Omit<OpenedLog, 'stored'>> {
  if (config.eventStore.kind === 'embedded') {
    const dir = embeddedLogDir(config);
    const embedded = await openEmbeddedEventStore({ dir, readOnly: true }).catch((err: Error) => {
      if (/no event log/.test(err.message)) throw new NoLogError(`no event log in ${dir} (is MUSTER_DATA_DIR right? it is ${config.dataDir})`);
      throw err;
    });
    const store: EventStore = {
      appendToStream: () => Promise.reject(new Error('the CLI opens the event log read-only')),
      readStream: (s, o) => embedded.readStream(s, o),
      readAll: (o) => embedded.readAll(o),
      subscribeToAll: (o, h) => embedded.subscribeToAll(o, h),
      headPosition: async () => { await embedded.refresh(); return embedded.headPosition(); },
      close: () => embedded.close(),
    };
    return { store, embedded, where: dir, close: () => embedded.close() };
  }
  const store = createEsdbEventStore({ connectionString: config.eventStore.url });
  return { store, embedded: null, where: config.eventStore.url.replace(/\/\/([^/@:\s]*):[^/@\s]*@/, '//$1:***@'), close: () => store.close() };
}
