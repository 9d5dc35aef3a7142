import { describe, expect, it } from 'vitest';
import { ScimError } from '@muster/scim';
import { MAX_IDENTIFIER_LENGTH, checkIdentifierLengths } from './identifier-limits.ts';

describe('checkIdentifierLengths', () => {
  const long = 'x'.repeat(MAX_IDENTIFIER_LENGTH + 1);

  it('refuses a value longer than the limit with 400 invalidValue naming the attribute', () => {
    let err: unknown;
    try { checkIdentifierLengths([['userName', 'ok'], ['externalId', long]]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ScimError);
    expect((err as ScimError).status).toBe(400);
    expect((err as ScimError).scimType).toBe('invalidValue');
    expect((err as ScimError).detail).toMatch(/^externalId is 1025 characters long/);
  });

  it('accepts values up to the limit, and non-strings (their type is checked elsewhere)', () => {
    expect(() => checkIdentifierLengths([['userName', 'x'.repeat(MAX_IDENTIFIER_LENGTH)], ['externalId', undefined], ['displayName', 5]])).not.toThrow();
  });

  it('lets a long value stored before the limit stay as it is, but not change to another long one', () => {
    expect(() => checkIdentifierLengths([['userName', long, long]])).not.toThrow();
    expect(() => checkIdentifierLengths([['userName', `${long}y`, long]])).toThrow(/userName/);
  });
});
