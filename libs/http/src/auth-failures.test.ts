import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from './auth-failures.ts';

describe('failed authentications per client address', () => {
  it('lets an address fail perMinute times, then asks it to wait until the bucket refills one try; other addresses are not affected', () => {
    let t = 0;
    const l = new AuthFailureLimiter(6, () => t);
    for (let i = 0; i < 6; i++) { expect(l.retryAfter('10.0.0.1')).toBe(0); l.failed('10.0.0.1'); }
    expect(l.retryAfter('10.0.0.1')).toBe(10); // one try back every 10 s
    expect(l.retryAfter('10.0.0.2')).toBe(0);
    t += 5_000;
    expect(l.retryAfter('10.0.0.1')).toBe(5);
    t += 5_000;
    expect(l.retryAfter('10.0.0.1')).toBe(0);
    l.failed('10.0.0.1');
    expect(l.retryAfter('10.0.0.1')).toBe(10);
    t += 60_000; // refilled whole: forgotten
    expect(l.retryAfter('10.0.0.1')).toBe(0);
  });
});
