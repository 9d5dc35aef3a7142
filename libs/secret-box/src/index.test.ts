import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyError, SecretOpenError, parseKey } from './index.ts';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'muster-secret-box-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('secret box', () => {
  it('seals and opens a secret for its context only; the sealed text does not contain it; each seal differs', () => {
    const box = SecretBox.fromKey(randomBytes(32));
    const sealed = box.seal('s3cr3t-value', 'list-1');
    expect(sealed).not.toContain('s3cr3t');
    expect(box.seal('s3cr3t-value', 'list-1')).not.toBe(sealed);
    expect(box.open(sealed, 'list-1')).toBe('s3cr3t-value');
    expect(() => box.open(sealed, 'list-2')).toThrow(SecretOpenError); // moved to another list
    expect(() => SecretBox.fromKey(randomBytes(32)).open(sealed, 'list-1')).toThrow(SecretOpenError); // another key
    const [v, n, b, t] = sealed.split('.');
    const flipped = `${v}.${n}.${b.slice(0, -2)}${b.at(-2) === 'A' ? 'B' : 'A'}${b.at(-1)}.${t}`;
    expect(() => box.open(flipped, 'list-1')).toThrow(SecretOpenError); // damaged
    expect(() => box.open('nonsense', 'list-1')).toThrow(SecretOpenError);
  });

  it('takes MUSTER_SECRET_KEY as base64 or hex, 32 bytes, and refuses any other length', async () => {
    const key = randomBytes(32);
    const a = await SecretBox.open({ secretKey: key.toString('base64'), keyFile: join(dir, 'unused.key') });
    const b = await SecretBox.open({ secretKey: key.toString('hex'), keyFile: join(dir, 'unused.key') });
    expect(b.open(a.seal('x', 'c'), 'c')).toBe('x');
    expect(() => parseKey(randomBytes(16).toString('base64'))).toThrow(SecretKeyError);
    await expect(stat(join(dir, 'unused.key'))).rejects.toThrow(); // no file written when a key is given
  });

  it('without a key, generates one into the data directory (0600) once and reuses it', async () => {
    const keyFile = join(dir, 'data', 'secret.key');
    const first = await SecretBox.open({ keyFile });
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const text = await readFile(keyFile, 'utf8');
    const second = await SecretBox.open({ keyFile });
    expect(await readFile(keyFile, 'utf8')).toBe(text);
    expect(second.open(first.seal('kept', 'l'), 'l')).toBe('kept');
    // two starting at once agree on one key
    const [x, y] = await Promise.all([SecretBox.open({ keyFile: join(dir, 'race.key') }), SecretBox.open({ keyFile: join(dir, 'race.key') })]);
    expect(y.open(x.seal('same', 'l'), 'l')).toBe('same');
  });
});
