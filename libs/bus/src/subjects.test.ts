import { describe, expect, it } from 'vitest';
import { subjectMatches, validateSubject } from './internal.ts';
import { subjects } from './subjects.ts';

describe('subjects', () => {
  const fixed = (Object.entries(subjects) as Array<[string, unknown]>).filter(
    (e): e is [string, string] => typeof e[1] === 'string',
  );

  it('are valid, unique and live under muster.', () => {
    for (const [, s] of fixed) {
      expect(() => validateSubject(s, true)).not.toThrow();
      expect(s.startsWith('muster.')).toBe(true);
    }
    expect(new Set(fixed.map(([, s]) => s)).size).toBe(fixed.length);
  });

  it('builds per-category event subjects that the any-category pattern matches', () => {
    const s = subjects.eventAppended('roster');
    expect(s).toBe('muster.events.roster.appended');
    expect(subjectMatches(validateSubject(subjects.eventAppendedAny, true), validateSubject(s, false))).toBe(true);
    expect(
      subjectMatches(validateSubject(subjects.eventAppendedAny, true), validateSubject(subjects.projectionAdvanced, false)),
    ).toBe(false);
  });

  it('refuses categories that would change the subject shape', () => {
    for (const bad of ['a.b', '*', '>', '', 'with space']) {
      expect(() => subjects.eventAppended(bad)).toThrow(/invalid event category/);
    }
  });
});
