/** a field's value as text: arrays joined, nothing as `empty` */
export const shown = (v: unknown, empty = '(empty)') => (v === null || v === undefined || v === '' ? empty : Array.isArray(v) ? v.join(', ') : String(v));

/** a time in the UK's order, to the second or to the minute; nothing as "—" */
export const when = (t: string | null | undefined, precision: 'second' | 'minute' = 'second') =>
  (t ? new Date(t).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: precision === 'second' ? 'medium' : 'short' }) : '—');

/** the sync providers as the console names them */
export const PROVIDER: Record<string, string> = { scim: 'SCIM', entra: 'Entra ID' };
