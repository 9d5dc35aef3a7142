import { describe, expect, it } from 'vitest';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { ProjectionWaiter } from './projection-waiter.ts';

describe('ProjectionWaiter', () => {
  it('waits until the checkpoint reaches the position, then answers from memory', async () => {
    const rs = createMemoryReadStore();
    let reads = 0;
    const counted = { ...rs, getCheckpoint: (p: string) => { reads++; return rs.getCheckpoint(p); } } as typeof rs;
    const waiter = new ProjectionWaiter(counted, { projection: 'main' });
    expect(waiter.reached(0)).toBe(false);
    const waiting = waiter.waitFor(5, 2_000);
    setTimeout(() => void rs.setCheckpoint('main', 3), 5);
    setTimeout(() => void rs.setCheckpoint('main', 7), 30);
    expect(await waiting).toBe(true);
    expect(waiter.checkpoint).toBe(7);
    const before = reads;
    expect(await waiter.waitFor(6)).toBe(true);
    expect(waiter.reached(7)).toBe(true);
    expect(reads).toBe(before); // already seen: no read
    await rs.close();
  });

  it('gives up after the timeout, or at once when aborted', async () => {
    const rs = createMemoryReadStore();
    await rs.setCheckpoint('main', 1);
    const waiter = new ProjectionWaiter(rs);
    const t0 = Date.now();
    expect(await waiter.waitFor(10, 60)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    const ac = new AbortController();
    ac.abort();
    expect(await waiter.waitFor(10, 10_000, ac.signal)).toBe(false);
    expect(await waiter.waitFor(-1, 0)).toBe(true);
    await rs.close();
  });

  it('concurrent waiters share one checkpoint read', async () => {
    const rs = createMemoryReadStore();
    await rs.setCheckpoint('main', 9);
    let reads = 0;
    const counted = { ...rs, getCheckpoint: async (p: string) => { reads++; await new Promise((r) => setTimeout(r, 5)); return rs.getCheckpoint(p); } } as typeof rs;
    const waiter = new ProjectionWaiter(counted);
    expect(await Promise.all([waiter.waitFor(4), waiter.waitFor(8), waiter.waitFor(9)])).toEqual([true, true, true]);
    expect(reads).toBe(1);
    await rs.close();
  });
});
