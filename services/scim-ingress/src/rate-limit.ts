/**
 * Per-token rate limit: a token bucket per SCIM token, refilled continuously at `rate` requests
 * per second up to `burst`. `take` spends one request and returns 0, or the seconds to wait.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number, private readonly burst: number, private readonly clock: () => number = () => performance.now()) {
    if (!(rate > 0) || !(burst >= 1)) throw new Error('rate must be > 0 and burst >= 1');
  }

  take(key: string): number {
    const t = this.clock();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 10_000) this.buckets.clear(); // tokens are few; never let this grow unbounded
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1_000) * this.rate);
      b.at = t;
    }
    if (b.tokens >= 1) { b.tokens -= 1; return 0; }
    return (1 - b.tokens) / this.rate;
  }
}
