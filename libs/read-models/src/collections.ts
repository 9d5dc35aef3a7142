/** Read model collection names, in one place. A rebuild writes into the same names with a prefix. */
export const READ_MODELS = ['organisations', 'admin_tokens', 'lists', 'people', 'groups', 'tokens', 'provisioning_log', 'sessions', 'session_people', 'changesets', 'imports', 'entra_runs', 'erasures'] as const;
export type ReadModel = (typeof READ_MODELS)[number];
export type CollectionNames = Record<ReadModel, string>;

export const PROJECTION = 'main';

export function collectionNames(prefix = ''): CollectionNames {
  return Object.fromEntries(READ_MODELS.map((m) => [m, prefix + m])) as CollectionNames;
}

import type { IndexSpec } from '@muster/read-store';
import type { MemoryIndexHints } from '@muster/read-store-memory';
export const INDEXES: Partial<Record<ReadModel, IndexSpec[]>> = {
  lists: [{ key: { orgId: 1 }, name: 'by_org' }],
  people: [
    // roster pages: status filter + default sort (createdAt) or by last name, served in index order
    { key: { listId: 1, status: 1, createdAt: 1 }, name: 'by_list_status_created' },
    { key: { listId: 1, status: 1, 'fields.lastName': 1 }, name: 'by_list_status_last_name' },
    // the lookups IdPs make before every write (userName eq, externalId eq)
    { key: { listId: 1, 'scim.userNameLower': 1 }, name: 'by_list_username' },
    { key: { listId: 1, 'scim.externalId': 1 }, name: 'by_list_external_id' },
    { key: { listId: 1, 'scim.emailsLower': 1 }, name: 'by_list_email' },
    { key: { listId: 1, 'scim.employeeNumber': 1 }, name: 'by_list_employee_number' },
    { key: { listId: 1, linked: 1, createdAt: 1 }, name: 'by_list_linked_created' },
  ],
  groups: [{ key: { listId: 1, displayNameLower: 1 }, name: 'by_list_name' }],
  tokens: [{ key: { listId: 1 }, name: 'by_list' }],
  provisioning_log: [{ key: { listId: 1, position: -1 }, name: 'by_list_position' }],
  admin_tokens: [{ key: { orgId: 1 }, name: 'by_org' }],
  sessions: [{ key: { listId: 1, createdAt: 1 }, name: 'by_list_created' }],
  // a session's people pages, as the roster's
  session_people: [
    { key: { sessionId: 1, status: 1, createdAt: 1 }, name: 'by_session_status_created' },
    { key: { sessionId: 1, status: 1, 'fields.lastName': 1 }, name: 'by_session_status_last_name' },
  ],
  changesets: [{ key: { listId: 1, status: 1, createdAt: 1 }, name: 'changesets_by_list_status' }],
  imports: [{ key: { listId: 1, createdAt: 1 }, name: 'imports_by_list' }, { key: { status: 1 }, name: 'imports_by_status' }],
  entra_runs: [{ key: { listId: 1, startedAt: -1 }, name: 'entra_runs_by_list' }],
  // erased people (ids and times only): the point-in-time roster's index of who was on a list
  erasures: [{ key: { listId: 1, createdAt: 1 }, name: 'erasures_by_list' }],
};

/**
 * How the in-memory engine should keep these indexes (@muster/read-store-memory indexHints; MongoDB
 * takes none): the roster pages' indexes summarise the search text per block so a free-text term
 * (q) skips blocks that cannot hold it; the lookups IdPs make before every write are one hash
 * lookup each.
 */
export const MEMORY_INDEX_HINTS = {
  by_list_status_created: { searchFields: ['search'] },
  by_list_status_last_name: { searchFields: ['search'] },
  by_session_status_created: { searchFields: ['search'] },
  by_session_status_last_name: { searchFields: ['search'] },
  by_list_username: { pointLookups: true },
  by_list_external_id: { pointLookups: true },
} as const satisfies Record<string, MemoryIndexHints>;
