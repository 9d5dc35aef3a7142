import type { UniqueIdentifier } from '@muster/contracts';
import type { ListState } from './list.ts';

/** SCIM's enterprise User extension, where the employee number lives */
export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export type ScimUser = Record<string, unknown>;

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

/**
 * The visible unique identifier a list chose (employee number, username or email), read from a SCIM
 * user, or from an Entra user (a Graph object): email ← mail, else userPrincipalName; userName ←
 * userPrincipalName; employeeNumber ← employeeId.
 */
export function uniqueIdOf(resource: ScimUser | null | undefined, choice: UniqueIdentifier | undefined, provider: 'scim' | 'entra' = 'scim'): string | undefined {
  if (!resource) return undefined;
  if (provider === 'entra') {
    switch (choice) {
      case 'employeeNumber': return text(resource.employeeId);
      case 'userName': return text(resource.userPrincipalName);
      case 'email': return text(resource.mail) ?? text(resource.userPrincipalName);
      default: return undefined;
    }
  }
  switch (choice) {
    case 'employeeNumber': return text((resource[ENTERPRISE_USER_URN] as Record<string, unknown> | undefined)?.employeeNumber);
    case 'userName': return text(resource.userName);
    case 'email': {
      const emails = Array.isArray(resource.emails) ? (resource.emails as Array<Record<string, unknown>>) : [];
      const e = emails.find((x) => x.primary === true) ?? emails.find((x) => String(x.type).toLowerCase() === 'work') ?? emails[0];
      return text(e?.value);
    }
    default: return undefined;
  }
}

/** What a list's people are told apart by, each reserved per list (reservations.ts). */
export type ReservationKind = 'userName' | 'uid' | 'externalId' | 'groupName';

/** how a reserved kind is named in a conflict message */
export const RESERVATION_LABEL: Record<ReservationKind, string> = { userName: 'userName', uid: 'unique identifier', externalId: 'externalId', groupName: 'displayName' };

export type Identifier = readonly [kind: ReservationKind, value: string];

/**
 * Identifiers that must be unique on a list: userName (RFC 7643 uniqueness=server) and the
 * list's unique identifier. externalId is not unique (RFC 7643: uniqueness none); it is
 * reserved only when a person is deprovisioned, as the anchor a later create relinks to.
 */
export function identifiersOf(resource: ScimUser, list: Pick<ListState, 'sync'>): Identifier[] {
  const keys: Identifier[] = [];
  if (typeof resource.userName === 'string' && resource.userName) keys.push(['userName', resource.userName]);
  const uid = uniqueIdOf(resource, list.sync?.uniqueIdentifier);
  if (uid && list.sync?.uniqueIdentifier !== 'userName') keys.push(['uid', uid]);
  return keys;
}

export const externalIdOf = (r: ScimUser): string | undefined => (typeof r.externalId === 'string' && r.externalId ? r.externalId : undefined);
