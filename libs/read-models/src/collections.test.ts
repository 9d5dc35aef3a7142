import { describe, expect, it } from 'vitest';
import { INDEXES, MEMORY_INDEX_HINTS, READ_MODELS, collectionNames } from './collections.ts';

describe('read-model collections and indexes', () => {
  it('every in-memory hint names an index the read models declare (a renamed index cannot silently lose its hint)', () => {
    const declared = new Set(Object.values(INDEXES).flatMap((specs) => specs!.map((s) => s.name)));
    expect(Object.keys(MEMORY_INDEX_HINTS).filter((name) => !declared.has(name))).toEqual([]);
  });

  it('index names are unique across collections (hints are keyed by index name)', () => {
    const names = Object.values(INDEXES).flatMap((specs) => specs!.map((s) => s.name));
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    // by_org is declared on two small collections with the same meaning and no hint
    expect(dupes.filter((n) => Object.hasOwn(MEMORY_INDEX_HINTS, n))).toEqual([]);
  });

  it('a prefix names every read model again (rebuilds, replays)', () => {
    expect(Object.values(collectionNames('rebuild_'))).toEqual(READ_MODELS.map((m) => `rebuild_${m}`));
  });
});
