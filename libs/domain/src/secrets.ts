import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A bearer token: prefix + 256 bits of randomness, base64url. Only its hash is ever stored. */
export function generateToken(prefix: 'sct_' | 'mat_'): { token: string; hash: string; displayPrefix: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token), displayPrefix: token.slice(0, prefix.length + 4) };
}

/** SHA-256 is appropriate here: the token carries 256 bits of entropy, so no salt or slow hash is needed. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** The same digest as hashToken(), as its 32 bytes (for comparing without hex round trips). */
export function hashTokenBytes(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Constant-time comparison of two hex hashes of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && ba.length > 0 && timingSafeEqual(ba, bb);
}
