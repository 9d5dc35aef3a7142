import { join } from 'node:path';
import { SecretBox } from '@muster/secret-box';
import { FileDataKeyStore, MongoDataKeyStore, type DataKeyCollection, type DataKeyStore } from './key-store.ts';
import { PersonalDataVault, secretBoxWrapper } from './vault.ts';

export interface VaultSettings {
  dataDir: string;
  /** MUSTER_SECRET_KEY (else `<data dir>/secret.key`, made once) */
  secretKey?: string;
  /** MongoDB (production): the `data_keys` collection of this database; else the file in `<data dir>/keys` */
  mongo?: { url: string; db: string };
  /** a collection of wrapped keys given directly (tests) */
  collection?: DataKeyCollection;
  readOnly?: boolean;
}

/** The vault of this install: the master key, and the key store the configuration names. */
export async function openVault(s: VaultSettings): Promise<{ vault: PersonalDataVault; keys: DataKeyStore; box: SecretBox; close: () => Promise<void> }> {
  const box = await SecretBox.open({ secretKey: s.secretKey, keyFile: join(s.dataDir, 'secret.key') });
  let collection = s.collection;
  let closeClient = async () => {};
  if (!collection && s.mongo) {
    const { MongoClient } = await import('mongodb');
    const client = await new MongoClient(s.mongo.url).connect();
    collection = client.db(s.mongo.db).collection('data_keys') as never;
    closeClient = () => client.close();
  }
  const keys: DataKeyStore = collection ? new MongoDataKeyStore(collection) : await FileDataKeyStore.open({ dir: join(s.dataDir, 'keys'), readOnly: s.readOnly });
  return {
    vault: new PersonalDataVault(keys, secretBoxWrapper(box), { readOnly: s.readOnly }), keys, box,
    close: async () => { await keys.close().catch(() => {}); await closeClient().catch(() => {}); },
  };
}
