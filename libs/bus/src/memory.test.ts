import { describe, expect, it } from 'vitest';
import { busContract } from './contract.ts';
import { createMemoryBus } from './memory.ts';
import type { BusLogger } from './port.ts';

const silent: BusLogger = { error() {}, warn() {} };

busContract('memory', async () => {
  const bus = createMemoryBus({ logger: silent });
  return { bus, cleanup: () => bus.close() };
});

describe('memory bus specifics', () => {
  it('reports handler failures to the logger', async () => {
    const errors: Array<{ obj: object; msg?: string }> = [];
    const bus = createMemoryBus({ logger: { error: (obj, msg) => errors.push({ obj, msg }), warn() {} } });
    await bus.subscribe('memory.log', () => {
      throw new Error('kaputt');
    });
    await bus.publish('memory.log', {});
    await bus.close(); // drains, so the handler has run
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toBe('bus handler failed');
    expect((errors[0].obj as { err: Error }).err.message).toBe('kaputt');
  });

  it('rotates queue members round robin', async () => {
    const bus = createMemoryBus({ logger: silent });
    const order: string[] = [];
    for (const m of ['a', 'b', 'c']) await bus.subscribe('memory.rr', () => void order.push(m), { queue: 'q' });
    for (let i = 0; i < 6; i++) await bus.publish('memory.rr', i);
    await bus.close();
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('close gives up on handlers that never finish after closeTimeoutMs', async () => {
    const warnings: string[] = [];
    const bus = createMemoryBus({ closeTimeoutMs: 150, logger: { error() {}, warn: (_o, msg) => warnings.push(msg ?? '') } });
    let started = false;
    await bus.subscribe('memory.stuck', () => {
      started = true;
      return new Promise<void>(() => {});
    });
    await bus.publish('memory.stuck', {});
    await bus.flush();
    expect(started).toBe(true);
    const t0 = Date.now();
    await bus.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(warnings).toEqual(['bus close timed out waiting for handlers']);
  });

  it('isolates separate instances', async () => {
    const a = createMemoryBus({ logger: silent });
    const b = createMemoryBus({ logger: silent });
    await b.subscribe('memory.iso', () => {});
    await expect(a.request('memory.iso', {}, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'BUS_NO_RESPONDERS' });
    await a.close();
    await b.close();
  });
});
