import { join } from 'node:path';
import { SecretBox } from '@muster/secret-box';
import { FileDataKeyStore, MongoDataKeyStore, type DataKeyCollection, type DataKeyStore } from './key-store.ts';
import { PersonalDataVault, secretBoxWrapper } from './vault.ts';

export interface VaultSettings {
  dataDir: string;
  /** MUSTER_SECRET_KEY (else `<data dir>/secret.key`, made once) */
  secretKey?: string;
  /** the MongoDB collection of wrapped keys (production); else the file in `<data dir>/keys` */
  collection?: DataKeyCollection;
  readOnly?: boolean;
}

/** The vault of this install: the master key, and the key store the configuration names. */
export async function openVault(s: VaultSettings): Promise<{ vault: PersonalDataVault; keys: DataKeyStore; box: SecretBox }> {
  const box = await SecretBox.open({ secretKey: s.secretKey, keyFile: join(s.dataDir, 'secret.key') });
  const keys: DataKeyStore = s.collection ? new MongoDataKeyStore(s.collection) : await FileDataKeyStore.open({ dir: join(s.dataDir, 'keys'), readOnly: s.readOnly });
  return { vault: new PersonalDataVault(keys, secretBoxWrapper(box), { readOnly: s.readOnly }), keys, box };
}
