import { ScimError } from '@muster/scim';

/**
 * Longest identifier (userName, externalId, the list's unique identifier, a group's displayName)
 * a write may set. IdPs find people and groups again by filtering on these (`userName eq "…"`
 * before every create), and a filter is at most 4,096 characters: a longer identifier would be
 * stored but never found, and the IdP would keep trying to create the person. Real ones are far
 * shorter (Entra's userPrincipalName: 113, Okta's login: 100).
 */
export const MAX_IDENTIFIER_LENGTH = 1_024;

/**
 * 400 invalidValue when one of `values` (label, value, and the value before this write) is a
 * string longer than the limit that this write sets. A value stored before the limit existed and
 * left as it is does not block other changes (deactivating such a person, say).
 */
export function checkIdentifierLengths(values: ReadonlyArray<readonly [label: string, value: unknown, before?: unknown]>): void {
  for (const [label, value, before] of values) {
    if (typeof value === 'string' && value.length > MAX_IDENTIFIER_LENGTH && value !== before) {
      throw ScimError.badRequest('invalidValue', `${label} is ${value.length} characters long; identifiers may hold at most ${MAX_IDENTIFIER_LENGTH}`);
    }
  }
}
