import { describe, expect, it } from 'vitest';
import { update as mingoUpdate } from 'mingo/updater';
import { fastUpdate } from './memory.ts';
import type { Doc } from '@muster/read-store/port';

/** Small deterministic PRNG so a failure is reproducible. */
function rng(seed: number) {
  return () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
}

describe('copy-on-write fast update path agrees with mingo', () => {
  it('on 3,000 random $set/$unset/$inc/$max/$min updates, and never mutates the input', () => {
    const r = rng(42);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const paths = ['a', 'b', 'c.d', 'c.e', 'c.f.g', 'h.i', 'n'];
    const values = () => pick<unknown>([1, 2, 5, -3, 'x', 'y', null, { z: 1 }, true, 0]);
    let fastHandled = 0;
    for (let i = 0; i < 3000; i++) {
      const doc: Doc = { _id: 'd', a: pick([1, 'a', undefined]), n: pick([0, 7]), c: pick([{ d: 1, f: { g: 2 } }, undefined, { e: 'q' }]) } as Doc;
      for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
      const modifier: Record<string, Record<string, unknown>> = {};
      const used = new Set<string>();
      for (let j = 0; j < 1 + Math.floor(r() * 3); j++) {
        const op = pick(['$set', '$unset', '$inc', '$max', '$min']);
        const path = pick(paths);
        if ([...used].some((u) => u === path || u.startsWith(`${path}.`) || path.startsWith(`${u}.`))) continue;
        used.add(path);
        (modifier[op] ??= {})[path] = op === '$inc' ? pick([1, -2, 3]) : op === '$unset' ? '' : values();
      }
      const before = JSON.stringify(doc);
      const fast = fastUpdate(doc, modifier);
      expect(JSON.stringify(doc)).toBe(before);
      if (!fast) continue;
      fastHandled++;
      const viaMingo = structuredClone(doc);
      let mingoChanged: boolean;
      try {
        mingoChanged = mingoUpdate(viaMingo, modifier, undefined, undefined, { cloneMode: 'deep' }).length > 0;
      } catch (err) {
        throw new Error(`mingo refused an update the compiled updater accepted: ${JSON.stringify({ doc, modifier })}: ${(err as Error).message}`);
      }
      expect(fast.doc, JSON.stringify({ doc, modifier })).toEqual(viaMingo);
      expect(fast.changed, JSON.stringify({ doc, modifier })).toBe(mingoChanged);
    }
    expect(fastHandled).toBeGreaterThan(1500);
  });
});
