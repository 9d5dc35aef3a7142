/** Type checking and coercion of attribute values against their definitions. */
import { ScimError } from './errors.ts';
import { findAttribute, isPlainObject } from './resolve.ts';
import type { AttributeDefinition } from './schema-types.ts';

// xsd:dateTime as RFC 7643 §2.3.5 requires, e.g. 2008-01-23T04:56:22Z or 2015-06-01T10:00:00.000+02:00
const DATE_TIME_RE = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/;

function invalid(label: string, expected: string, got: unknown): ScimError {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 60 ? `${got.slice(0, 60)}…` : got) : Array.isArray(got) ? 'an array' : isPlainObject(got) ? 'an object' : String(got);
  return ScimError.badRequest('invalidValue', `Attribute "${label}" must be ${expected}; got ${shown}`);
}

/**
 * Check and coerce one value (not an array) of `def`. Returns undefined for null / an empty
 * complex value (unassigned). Booleans also accept "true"/"false" strings in any case (Entra).
 * A bare scalar for a complex attribute with a `value` sub-attribute becomes `{ value }`
 * (Entra's `manager` shape). Sub-attributes that the schema does not define, readOnly ones and
 * null ones are dropped; names are canonicalised to the schema's case.
 */
export function coerceSingle(def: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value !== 'string') throw invalid(label, 'a string', value);
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      throw invalid(label, 'a boolean', value);
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(label, 'an integer', value);
      return value;
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(label, 'a number', value);
      return value;
    case 'dateTime':
      if (typeof value !== 'string' || !DATE_TIME_RE.test(value) || Number.isNaN(Date.parse(value))) {
        throw invalid(label, 'a dateTime such as "2024-01-31T09:00:00Z"', value);
      }
      return value;
    case 'complex': {
      let obj: Record<string, unknown>;
      if (isPlainObject(value)) obj = value;
      else if (!Array.isArray(value) && findAttribute(def.subAttributes, 'value')) obj = { value };
      else throw invalid(label, 'an object', value);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) {
        const sub = findAttribute(def.subAttributes, k);
        if (!sub || sub.mutability === 'readOnly') continue;
        const c = coerceValue(sub, v, `${label}.${sub.name}`);
        if (c !== undefined) out[sub.name] = c;
      }
      return Object.keys(out).length === 0 ? undefined : out;
    }
  }
}

/**
 * Check and coerce a value of `def`, multi-valued or not. For a multi-valued attribute a single
 * value is wrapped in an array; unassigned elements are dropped; an empty result is undefined.
 */
export function coerceValue(def: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (!def.multiValued) {
    if (Array.isArray(value)) throw invalid(label, 'a single value', value);
    return coerceSingle(def, value, label);
  }
  const list = Array.isArray(value) ? value : [value];
  const out: unknown[] = [];
  list.forEach((v, i) => {
    const c = coerceSingle(def, v, `${label}[${i}]`);
    if (c !== undefined) out.push(c);
  });
  return out.length === 0 ? undefined : out;
}

/** More than one `primary: true` in one multi-valued value is a client error (RFC 7643 §2.4). */
export function assertSinglePrimary(def: AttributeDefinition, list: unknown, label: string): void {
  if (!def.multiValued || def.type !== 'complex' || !Array.isArray(list)) return;
  const primaries = list.filter((el) => isPlainObject(el) && el['primary'] === true).length;
  if (primaries > 1) throw ScimError.badRequest('invalidValue', `Attribute "${label}" has ${primaries} values with primary true; at most one is allowed`);
}
