import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from './crc32.ts';

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.alloc(0))).toBe(0);
  });

  it('the portable fallback agrees with the native one, including chained updates', () => {
    for (const size of [1, 7, 64, 1000, 65_537]) {
      const buf = randomBytes(size);
      expect(crc32Portable(buf)).toBe(crc32(buf));
      const cut = Math.floor(size / 3);
      expect(crc32Portable(buf.subarray(cut), crc32Portable(buf.subarray(0, cut)))).toBe(crc32(buf));
    }
  });
});
