import type { FieldMapping, GroupRule, SchemaField, Transform } from '@muster/contracts';
import { extractAttribute } from './catalogue.ts';
import { extractEntraAttribute } from './entra-catalogue.ts';

/** which IdP's attributes a list's mappings read: SCIM resources, or Entra (Graph) user objects */
export type SourceKind = 'scim' | 'entra';

export function applyTransform(value: unknown, t: Transform): unknown {
  if (typeof value !== 'string') return value;
  switch (t) {
    case 'direct': return value;
    case 'lowercase': return value.toLowerCase();
    case 'uppercase': return value.toUpperCase();
    case 'trim': return value.trim();
    default: {
      const never: never = t;
      return never;
    }
  }
}

/**
 * Map a SCIM resource to list field values using the enabled mappings. Every mapped field
 * appears in the result (null when the IdP has no value), so a removed attribute clears its field.
 * Fields not mapped are absent: a sync never touches local-only fields.
 */
export function mapResource(resource: Record<string, unknown>, mappings: FieldMapping[], kind: SourceKind = 'scim'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const extract = kind === 'entra' ? extractEntraAttribute : extractAttribute;
  const empty = (v: unknown) => v === undefined || v === null || v === '';
  for (const m of mappings) {
    if (!m.enabled) continue;
    let raw = extract(resource, m.source);
    if (empty(raw) && m.fallback) raw = extract(resource, m.fallback);
    const v = raw === undefined || raw === null ? null : applyTransform(typeof raw === 'object' ? JSON.stringify(raw) : raw, m.transform);
    out[m.field] = v === '' ? null : v;
  }
  return out;
}

/**
 * Group rules: members of a group matching a rule get the rule's value in its field.
 * Several matching rules for one single-valued field: the first rule (rule order) wins;
 * a multi-valued field collects every matching value (in rule order, no duplicates).
 * Every field named by a rule is present in the result (null when no group matches).
 */
export function applyGroupRules(groupNames: string[], rules: GroupRule[], fields: SchemaField[]): Record<string, unknown> {
  const lower = new Set(groupNames.map((g) => g.toLowerCase()));
  const multi = new Set(fields.filter((f) => f.multiValued).map((f) => f.key));
  const out: Record<string, unknown> = {};
  for (const r of rules) if (!Object.hasOwn(out, r.field)) out[r.field] = multi.has(r.field) ? [] : null;
  for (const r of rules) {
    if (!lower.has(r.group.toLowerCase())) continue;
    const value = r.value ?? groupNames.find((g) => g.toLowerCase() === r.group.toLowerCase())!;
    if (multi.has(r.field)) {
      const list = out[r.field] as string[];
      if (!list.includes(value)) list.push(value);
    } else if (out[r.field] === null) {
      out[r.field] = value;
    }
  }
  for (const k of Object.keys(out)) if (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0) out[k] = null;
  return out;
}
