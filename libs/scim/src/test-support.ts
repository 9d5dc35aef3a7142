import { ScimError } from './errors.ts';

/** The ScimError `fn` throws; anything else (or nothing) fails the test. */
export function scimErrorOf(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e;
    throw e;
  }
  throw new Error('expected a ScimError');
}
