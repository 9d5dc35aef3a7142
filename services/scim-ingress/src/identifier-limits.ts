import { ScimError, type ScimResource } from '@muster/scim';

/**
 * Longest identifier (userName, externalId, the list's unique identifier, a group's displayName)
 * a write may set. IdPs find people and groups again by filtering on these (`userName eq "…"`
 * before every create), and a filter is at most 4,096 characters: a longer identifier would be
 * stored but never found, and the IdP would keep trying to create the person. Real ones are far
 * shorter (Entra's userPrincipalName: 113, Okta's login: 100).
 */
export const MAX_IDENTIFIER_LENGTH = 1_024;

/** 400 invalidValue when one of `values` (label → value) is a string longer than the limit */
export function checkIdentifierLengths(values: ReadonlyArray<readonly [label: string, value: unknown]>): void {
  for (const [label, value] of values) {
    if (typeof value === 'string' && value.length > MAX_IDENTIFIER_LENGTH) {
      throw ScimError.badRequest('invalidValue', `${label} is ${value.length} characters long; identifiers may hold at most ${MAX_IDENTIFIER_LENGTH}`);
    }
  }
}
