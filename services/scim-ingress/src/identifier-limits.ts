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

/**
 * Longest string any attribute of a resource may hold. Names, titles and addresses are far shorter;
 * the cap keeps one resource's stored size (and every event carrying it) sane. The body limit
 * (MUSTER_SCIM_MAX_BODY_BYTES) bounds the resource as a whole.
 */
export const MAX_STRING_LENGTH = 2_048;

/** a C0 control character or DEL: never part of a name or an identifier */
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * 400 invalidValue when an identifier this write sets is blank (only whitespace) or holds a control
 * character (NUL included): such a value cannot be typed into a filter, and two of them look alike.
 */
export function checkIdentifierText(values: ReadonlyArray<readonly [label: string, value: unknown, before?: unknown]>): void {
  for (const [label, value, before] of values) {
    if (typeof value !== 'string' || value === before) continue;
    if (value.trim() === '') throw ScimError.badRequest('invalidValue', `${label} must not be empty or only whitespace`);
    if (CONTROL.test(value)) throw ScimError.badRequest('invalidValue', `${label} holds a control character (such as NUL); identifiers are printable text`);
  }
}

/**
 * 400 invalidValue naming the first string attribute longer than MAX_STRING_LENGTH that this write
 * sets (a value stored before, left as it was, does not block the write).
 */
export function checkStringLengths(resource: unknown, before?: unknown): void {
  const visit = (v: unknown, old: unknown, path: string): void => {
    if (typeof v === 'string') {
      if (v.length > MAX_STRING_LENGTH && v !== old) throw ScimError.badRequest('invalidValue', `${path} is ${v.length} characters long; an attribute may hold at most ${MAX_STRING_LENGTH}`);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, Array.isArray(old) ? old[i] : undefined, `${path}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      const o = (old !== null && typeof old === 'object' ? old : {}) as Record<string, unknown>;
      for (const [k, x] of Object.entries(v)) visit(x, o[k], path ? `${path}.${k}` : k);
    }
  };
  visit(resource, before, '');
}
