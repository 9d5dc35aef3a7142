import { describe, expect, it } from 'vitest';
import { etagMatches, etagOf, ifNoneMatchHits } from './etag.ts';

describe('ETags', () => {
  it('the version is the weak revision; If-Match accepts none, *, or a listed tag with or without W/', () => {
    expect(etagOf(3)).toBe('W/"3"');
    expect(etagMatches(undefined, 3)).toBe(true);
    expect(etagMatches('*', 3)).toBe(true);
    expect(etagMatches('W/"2", W/"3"', 3)).toBe(true);
    expect(etagMatches('"3"', 3)).toBe(true);
    expect(etagMatches('W/"2"', 3)).toBe(false);
  });
  it('If-None-Match hits only when a header names the revision (or is *)', () => {
    expect(ifNoneMatchHits(undefined, 1)).toBe(false);
    expect(ifNoneMatchHits('*', 1)).toBe(true);
    expect(ifNoneMatchHits('W/"0" , W/"1"', 1)).toBe(true);
    expect(ifNoneMatchHits('W/"0"', 1)).toBe(false);
  });
});
