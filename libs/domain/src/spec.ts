import { expect } from 'vitest';
import type { DomainEvent } from '@muster/contracts';
import type { Decider } from './decider.ts';

/** Given/When/Then for deciders, no I/O. */
export function spec<C, S>(d: Decider<C, S>) {
  return (given: DomainEvent[]) => ({
    when: (command: C) => {
      const run = () => d.decide(command, given.reduce((s, e) => d.evolve(s, e), d.initialState()));
      return {
        then: (expected: DomainEvent[]) => expect(run()).toEqual(expected),
        thenMatches: (check: (events: DomainEvent[]) => void) => check(run()),
        thenThrows: (code: string, message?: RegExp) => {
          let caught: unknown;
          try { run(); } catch (e) { caught = e; }
          expect(caught, 'expected the command to be refused').toBeDefined();
          expect((caught as { code?: string }).code).toBe(code);
          if (message) expect((caught as Error).message).toMatch(message);
        },
      };
    },
  });
}
