import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openEmbeddedEventStore } from './embedded.ts';
import { lastEventOf } from './port.ts';

describe('lastEventOf', () => {
  it('finds the latest event of the given types however far back it is, and null when there is none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-last-event-'));
    const store = await openEmbeddedEventStore({ dir });
    try {
      const ev = (type: string, n: number) => ({ eventId: randomUUID(), type, data: { n }, metadata: {} });
      await store.appendToStream('s', [ev('Started', 0), ...Array.from({ length: 150 }, (_, i) => ev('Step', i + 1)), ev('Started', 151), ...Array.from({ length: 140 }, (_, i) => ev('Step', i + 152))], { expectedRevision: 'no_stream' });
      expect((await lastEventOf(store, 's', ['Started'], 16))?.revision).toBe(151);
      expect((await lastEventOf(store, 's', ['Step', 'Started']))?.revision).toBe(291);
      expect(await lastEventOf(store, 's', ['Finished'], 16)).toBeNull();
      expect(await lastEventOf(store, 'missing', ['Started'])).toBeNull();
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
