/**
 * Case-insensitive matching that both adapters execute identically.
 *
 * There is no collation anywhere in the read store. A field that must be looked up or kept unique
 * without regard to case gets a folded shadow field written next to it, and the index and the
 * query use the shadow field:
 *
 *   doc:    { userName: 'Alice', userNameLower: foldCase('Alice') }
 *   index:  { key: { userNameLower: 1 }, name: 'userNameLower_1', unique: true }
 *   lookup: people.findOne({ userNameLower: foldCase(input) })
 *
 * That is a plain equality on a plain index: the server and the in-memory adapter agree on it
 * byte for byte, and unlike a collation index it cannot be silently bypassed by a query that
 * forgets to pass the same collation.
 */

/** the folded form stored in `*Lower` shadow fields: Unicode NFC, then locale-independent lower case */
export function foldCase(value: string): string {
  return value.normalize('NFC').toLowerCase();
}

/** escapes a string for use as a literal inside a Mongo/JS regular expression */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `{ $regex: '^<prefix>' }` for a folded shadow field: case-insensitive "starts with" that an index
 * on the shadow field can serve (an anchored, case-sensitive regex is a range scan in both adapters).
 */
export function foldedPrefix(prefix: string): { $regex: string } {
  return { $regex: `^${escapeRegex(foldCase(prefix))}` };
}

/**
 * `{ $regex: '<text>', $options: 'i' }`: case-insensitive "contains" on an ordinary field. It cannot
 * use an index (in either adapter); combine it with indexed equality conditions that narrow the
 * candidates, e.g. `{ listId, status: 'active', $or: [{ 'fields.lastName': containsIgnoreCase(q) }, ...] }`.
 */
export function containsIgnoreCase(text: string): { $regex: string; $options: 'i' } {
  return { $regex: escapeRegex(text), $options: 'i' };
}
