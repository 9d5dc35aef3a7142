/**
 * The people query's parameters (status, q, eq./contains. field filters, sort, order, limit,
 * cursor) and what they mean against a collection of people documents: the roster's people, and a
 * session's copies of them, are asked the same way.
 */
import { z } from 'zod';
import { DomainError } from '@muster/domain';
import { escapeRegex, type Filter, type Sort } from '@muster/read-store';

export const RosterQuery = z.object({
  status: z.enum(['active', 'inactive', 'all']).default('all'),
  q: z.string().max(200).optional(),
  sort: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type RosterQuery = z.infer<typeof RosterQuery>;

/** the query's filter part: what a session's filter may hold */
export const FILTER_PARAM = /^(status|q|(eq|contains)\.[a-zA-Z][a-zA-Z0-9_]*)$/;

/** what the query needs of a list: its field keys */
export interface ListFields { fields: Array<{ key: string }> }

/** The filter the query's status, q and field filters make (field filters: `eq.<field>`, `contains.<field>`). */
export function rosterFilter(list: ListFields, query: Record<string, unknown>, base: Filter): Filter {
  const filter: Filter = { ...base };
  const status = query.status;
  if (status !== undefined && status !== 'all') {
    if (status !== 'active' && status !== 'inactive') throw new DomainError('invalid', 'status must be active, inactive or all');
    filter.status = status;
  }
  if (query.q !== undefined) {
    if (typeof query.q !== 'string' || query.q.length > 200) throw new DomainError('invalid', 'q must be a text of at most 200 characters');
    if (query.q) filter.search = { $regex: escapeRegex(query.q.toLowerCase()) };
  }
  const fieldKeys = new Set(list.fields.map((f) => f.key));
  for (const [k, v] of Object.entries(query)) {
    const m = /^(eq|contains)\.([a-zA-Z][a-zA-Z0-9_]*)$/.exec(k);
    if (!m) continue;
    if (!fieldKeys.has(m[2])) throw new DomainError('invalid', `unknown field "${m[2]}" in filter ${k}`);
    filter[`fields.${m[2]}`] = m[1] === 'eq' ? v : { $regex: escapeRegex(String(v)), $options: 'i' };
  }
  return filter;
}

/** the sort the query names: createdAt, updatedAt, status or a field of the list */
export function rosterSort(list: ListFields, sort: string | undefined, order: 'asc' | 'desc', extra: string[] = ['updatedAt']): Sort {
  if (!sort) return { createdAt: 1, _id: 1 };
  const fieldKeys = new Set(list.fields.map((f) => f.key));
  const key = ['createdAt', 'status', ...extra].includes(sort) ? sort : fieldKeys.has(sort) ? `fields.${sort}` : null;
  if (!key) throw new DomainError('invalid', `cannot sort by unknown field "${sort}"`);
  return { [key]: order === 'asc' ? 1 : -1, _id: 1 };
}

export function decodeCursor(cursor: string | undefined): number {
  if (!cursor) return 0;
  try {
    return z.object({ o: z.number().int().min(0) }).parse(JSON.parse(Buffer.from(cursor, 'base64url').toString())).o;
  } catch {
    throw new DomainError('invalid', 'bad cursor');
  }
}

export function nextCursor(offset: number, count: number, total: number): string | null {
  return offset + count < total ? Buffer.from(JSON.stringify({ o: offset + count })).toString('base64url') : null;
}
