/**
 * Where sealed secrets are kept, behind a port with two adapters like the other stores: files in
 * the data directory (embedded, `npm start`) and a MongoDB collection (production). Both hold only
 * what SecretBox sealed; neither ever sees a secret in clear. Keys are ids of what the secret
 * belongs to (e.g. `entra-<listId>`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SecretStore {
  get(key: string): Promise<string | null>;
  put(key: string, sealed: string): Promise<void>;
  delete(key: string): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9_-]{1,200}$/;
function checkKey(key: string): string {
  if (!SAFE_KEY.test(key)) throw new TypeError(`a secret key is 1-200 letters, digits, _ or -: "${key}"`);
  return key;
}

/** one file per secret (0600), replaced atomically (written whole, then renamed into place) */
export class FileSecretStore implements SecretStore {
  constructor(private readonly dir: string) {}

  async get(key: string): Promise<string | null> {
    try {
      return (await readFile(join(this.dir, `${checkKey(key)}.sealed`), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(key: string, sealed: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${checkKey(key)}.sealed`);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, `${sealed}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }

  async delete(key: string): Promise<void> {
    await unlink(join(this.dir, `${checkKey(key)}.sealed`)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  }
}

/** the part of a MongoDB collection the store uses (the driver's Collection fits) */
export interface SecretCollection {
  findOne(filter: { _id: string }): Promise<{ sealed?: unknown } | null>;
  updateOne(filter: { _id: string }, update: { $set: { sealed: string; updatedAt: Date } }, options: { upsert: boolean }): Promise<unknown>;
  deleteOne(filter: { _id: string }): Promise<unknown>;
}

export class MongoSecretStore implements SecretStore {
  constructor(private readonly collection: SecretCollection) {}

  async get(key: string): Promise<string | null> {
    const doc = await this.collection.findOne({ _id: checkKey(key) });
    return typeof doc?.sealed === 'string' ? doc.sealed : null;
  }

  async put(key: string, sealed: string): Promise<void> {
    await this.collection.updateOne({ _id: checkKey(key) }, { $set: { sealed, updatedAt: new Date() } }, { upsert: true });
  }

  async delete(key: string): Promise<void> {
    await this.collection.deleteOne({ _id: checkKey(key) });
  }
}
