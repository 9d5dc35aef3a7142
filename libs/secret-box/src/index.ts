/**
 * Secrets at rest (an Entra app's client secret, for one): AES-256-GCM under one 32-byte key, each
 * sealed value bound to what it belongs to (`context`, e.g. the list id, as additional
 * authenticated data), so a ciphertext copied to another list does not open there. The key comes
 * from MUSTER_SECRET_KEY (32 bytes, base64 or hex), or, when that is unset (`npm start` on a laptop),
 * from a key generated once into `<data dir>/secret.key` with mode 0600. Losing the key loses every
 * sealed secret: it is what an operator must back up with the data.
 *
 * Node's crypto (no extra library): AES-256-GCM with a random 96-bit nonce per value, the format
 * `v1.<nonce>.<ciphertext>.<tag>` in base64url.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** a sealed value that does not open: another key, another context, or damage */
export class SecretOpenError extends Error {
  constructor() {
    super('the sealed secret does not open with this key and context');
    this.name = 'SecretOpenError';
  }
}

/** 32 bytes from base64 (standard or url) or hex */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new SecretKeyError(`MUSTER_SECRET_KEY must be 32 bytes (base64 or 64 hex digits); it is ${key.length}`);
  return key;
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new SecretKeyError('a secret box key is 32 bytes');
    return new SecretBox(Buffer.from(key));
  }

  /**
   * The box of this install: MUSTER_SECRET_KEY when given; otherwise the key in `keyFile`, made
   * (0600) the first time.
   */
  static async open(opts: { secretKey?: string; keyFile: string }): Promise<SecretBox> {
    if (opts.secretKey) return new SecretBox(parseKey(opts.secretKey));
    try {
      return new SecretBox(parseKey(await readFile(opts.keyFile, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = randomBytes(32);
    await mkdir(dirname(opts.keyFile), { recursive: true });
    // written whole to a file of its own, then linked into place: two processes starting at once
    // cannot both place one, and the loser reads a complete key
    const tmp = `${opts.keyFile}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, `${key.toString('base64')}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    try {
      await link(tmp, opts.keyFile);
      return new SecretBox(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return new SecretBox(parseKey(await readFile(opts.keyFile, 'utf8')));
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /** 32 bytes derived from the key for one purpose (HKDF-SHA256, `label` as info): a signing seed, say */
  derive(label: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), label, 32));
  }

  /** `nonce`: 12 fresh random bytes (default: drawn here); never reuse one under the same key */
  seal(plaintext: string, context: string, nonce: Buffer = randomBytes(12)): string {
    if (nonce.length !== 12) throw new TypeError('a nonce is 12 bytes');
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', nonce.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const [v, nonce, body, tag] = sealed.split('.');
    if (v !== 'v1' || nonce === undefined || body === undefined || tag === undefined) throw new SecretOpenError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretOpenError();
    }
  }
}
export * from './store.ts';
