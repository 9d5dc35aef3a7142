/** The one contract suite of the data key store port: every adapter runs it. */
import { describe, expect, it } from 'vitest';
import type { DataKeyStore } from './key-store.ts';

export function dataKeyStoreContract(name: string, make: () => Promise<{ store: DataKeyStore; stop: () => Promise<void> }>) {
  describe(`DataKeyStore contract: ${name}`, () => {
    it('keeps the first key of a subject, agrees on one key under concurrent creates, and never gives a key again once erased', async () => {
      const { store, stop } = await make();
      try {
        const a = `person-${Math.random().toString(36).slice(2)}`;
        const b = `person-${Math.random().toString(36).slice(2)}`;
        expect(await store.get(a)).toBeNull();
        expect(await store.create(a, 'v1.one.two.three')).toBe('v1.one.two.three');
        expect(await store.create(a, 'v1.other.key.here')).toBe('v1.one.two.three');
        expect(await store.get(a)).toBe('v1.one.two.three');
        const raced = await Promise.all([store.create(b, 'v1.b.first.x'), store.create(b, 'v1.b.second.x')]);
        expect(raced[0]).toBe(raced[1]);
        await store.erase([a]);
        expect(await store.get(a)).toBe('erased');
        expect(await store.create(a, 'v1.again.new.key')).toBe('erased');
        expect(await store.get(b)).toBe(raced[0]);
        await store.erase([a, b]); // again, and with another
        expect(await store.get(b)).toBe('erased');
        await expect(store.get('../escape')).rejects.toThrow(TypeError);
      } finally {
        await stop();
      }
    });
  });
}
