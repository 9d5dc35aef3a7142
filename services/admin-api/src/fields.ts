import type { SchemaField } from '@muster/contracts';
import { DomainError } from '@muster/domain';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[+()\d][\d\s().-]{2,30}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** YYYY-MM-DD naming a real day (2024-02-31 is refused; Date.parse would roll it over) */
function isCalendarDate(x: string): boolean {
  if (!DATE.test(x)) return false;
  const d = new Date(`${x}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === x;
}

/** Validate admin-entered field values against the list's schema fields. */
export function validateFieldValues(fields: SchemaField[], values: Record<string, unknown>, opts: { partial: boolean }): Record<string, unknown> {
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const errors: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    const f = byKey.get(k);
    if (!f) { errors.push(`unknown field "${k}"`); continue; }
    if (v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
      if (f.required) errors.push(`field "${k}" is required${opts.partial ? " and cannot be cleared" : ""}`);
      else out[k] = null;
      continue;
    }
    const check = (x: unknown): string | null => {
      switch (f.type) {
        case 'text': return typeof x === 'string' ? null : 'must be a string';
        case 'email': return typeof x === 'string' && EMAIL.test(x) ? null : 'must be an email address';
        case 'phone': return typeof x === 'string' && PHONE.test(x) ? null : 'must be a phone number';
        case 'date': return typeof x === 'string' && isCalendarDate(x) ? null : 'must be a date (YYYY-MM-DD)';
        case 'number': return typeof x === 'number' && Number.isFinite(x) ? null : 'must be a number';
        case 'boolean': return typeof x === 'boolean' ? null : 'must be true or false';
        case 'enum': return typeof x === 'string' && (f.enumValues ?? []).includes(x) ? null : `must be one of ${(f.enumValues ?? []).join(', ')}`;
        default: return null;
      }
    };
    const vals = f.multiValued && Array.isArray(v) ? v : [v];
    const problems = vals.map(check).filter(Boolean);
    if (problems.length) errors.push(`field "${k}" ${problems[0]}`);
    else out[k] = v;
  }
  if (!opts.partial) {
    for (const f of fields) if (f.required && (!Object.hasOwn(values, f.key) || values[f.key] === undefined)) errors.push(`field "${f.key}" is required`);
  }
  if (errors.length) throw new DomainError('invalid', errors.join('; '), { errors });
  return out;
}
