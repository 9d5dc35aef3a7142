/** The one contract suite of the secret store port: every adapter runs it. */
import { describe, expect, it } from 'vitest';
import type { SecretStore } from './store.ts';

export function secretStoreContract(name: string, make: () => Promise<{ store: SecretStore; stop: () => Promise<void> }>) {
  describe(`SecretStore contract: ${name}`, () => {
    it('keeps, replaces and deletes a sealed value by key; an unknown key is null; unsafe keys are refused', async () => {
      const { store, stop } = await make();
      try {
        const key = `entra-${Math.random().toString(36).slice(2)}`;
        expect(await store.get(key)).toBeNull();
        await store.put(key, 'v1.a.b.c');
        expect(await store.get(key)).toBe('v1.a.b.c');
        await store.put(key, 'v1.d.e.f');
        expect(await store.get(key)).toBe('v1.d.e.f');
        await store.delete(key);
        expect(await store.get(key)).toBeNull();
        await store.delete(key); // twice is fine
        await expect(store.put('../escape', 'x')).rejects.toThrow(TypeError);
      } finally {
        await stop();
      }
    });
  });
}
