/**
 * Failed authentication, limited per client address (brute force): each address may fail
 * `perMinute` times a minute (a bucket refilled continuously); past that, every request from it is
 * answered 429 with Retry-After until the bucket has refilled enough for one more try, whatever
 * token it carries (a correct guess must not get through while the address is over the limit).
 */
export class AuthFailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly perMinute: number, private readonly now: () => number = Date.now) {}

  private bucket(address: string) {
    const t = this.now();
    let b = this.buckets.get(address);
    if (!b) return null;
    b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) * this.perMinute) / 60_000);
    b.at = t;
    if (b.tokens >= this.perMinute) { this.buckets.delete(address); b = undefined; }
    return b ?? null;
  }

  /** seconds until `address` may try again (0: it may now) */
  retryAfter(address: string): number {
    const b = this.bucket(address);
    return !b || b.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) * 60) / this.perMinute));
  }

  /** an attempt from `address` failed */
  failed(address: string): void {
    const b = this.bucket(address) ?? { tokens: this.perMinute, at: this.now() };
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.set(address, b);
    if (this.buckets.size > 100_000) this.buckets.delete(this.buckets.keys().next().value!); // bounded
  }
}
