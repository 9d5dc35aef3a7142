import { join } from 'node:path';
import type { ServiceModule } from '@muster/runtime';
import { FileSecretStore, MongoSecretStore, SecretBox, type SecretStore } from '@muster/secret-box';
import { EntraSyncService } from './service.ts';

/**
 * The entra-sync service in a process. Sealed secrets live beside the data: files in
 * `<data dir>/secrets` on the embedded stack, the `entra_secrets` collection when the read store is
 * MongoDB; the key is MUSTER_SECRET_KEY or `<data dir>/secret.key`, generated once.
 */
export const entraSyncModule: ServiceModule = {
  name: 'entra-sync',
  async start({ adapters, config }) {
    let secrets: SecretStore;
    let closeSecrets = async () => {};
    if (config.readStore.kind === 'mongodb') {
      const { MongoClient } = await import('mongodb');
      const client = await new MongoClient(config.readStore.url).connect();
      secrets = new MongoSecretStore(client.db(config.readStore.db).collection('entra_secrets') as never);
      closeSecrets = () => client.close();
    } else {
      secrets = new FileSecretStore(join(config.dataDir, 'secrets'));
    }
    const box = await SecretBox.open({ secretKey: config.secretKey, keyFile: join(config.dataDir, 'secret.key') });
    const svc = new EntraSyncService({
      store: adapters.store, readStore: adapters.readStore, bus: adapters.bus, secrets, box,
      authorityUrl: config.entra.authorityUrl, graphUrl: config.entra.graphUrl, graphScope: config.entra.graphScope, graphAttempts: config.entra.graphAttempts,
      tickMs: config.entra.tickMs, leaseMs: config.entra.leaseMs,
    });
    await svc.start();
    return {
      name: 'entra-sync', ready: () => svc.ready,
      stop: async () => { await svc.stop(); await closeSecrets(); },
      health: () => ({ runsFinished: svc.stats.runs, runsFailed: svc.stats.failed, lastRunError: svc.stats.lastError }),
      figures: () => ({ runs: { finished: svc.stats.runs, failed: svc.stats.failed } }),
    };
  },
};
