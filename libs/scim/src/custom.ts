/**
 * Custom extensions: any `urn:` extension an IdP sends that this service has no schema for is kept
 * on the resource as sent. `/Schemas` must still describe it, so its attributes are inferred from
 * the values seen: JSON type → SCIM type, arrays → multiValued, objects → complex with
 * sub-attributes. Values of different types under one name widen to string.
 */
import type { AttributeDefinition, AttributeType, ResourceSchema, SchemaDefinition } from './schema-types.ts';
import type { CustomExtension } from './schemas.ts';
import { findExtension, isPlainObject } from './resolve.ts';

interface Seen { type: AttributeType; multiValued: boolean; subs?: Map<string, Seen> }

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function typeOf(v: unknown): AttributeType | undefined {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'decimal';
  if (typeof v === 'string') return ISO_DATE.test(v) ? 'dateTime' : 'string';
  if (isPlainObject(v)) return 'complex';
  return undefined;
}

function widen(a: AttributeType, b: AttributeType): AttributeType {
  if (a === b) return a;
  if ((a === 'integer' && b === 'decimal') || (a === 'decimal' && b === 'integer')) return 'decimal';
  if (a === 'complex' || b === 'complex') return 'complex';
  return 'string';
}

function observe(into: Map<string, Seen>, name: string, value: unknown, depth: number): void {
  if (value === null || value === undefined) return;
  const multi = Array.isArray(value);
  const items = multi ? (value as unknown[]) : [value];
  for (const item of items) {
    const t = typeOf(item);
    if (!t) continue;
    const key = [...into.keys()].find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    const prev = into.get(key);
    const seen: Seen = prev ? { ...prev, type: widen(prev.type, t), multiValued: prev.multiValued || multi } : { type: t, multiValued: multi };
    if (seen.type === 'complex' && isPlainObject(item) && depth === 0) {
      seen.subs = prev?.subs ?? new Map();
      for (const [k, v] of Object.entries(item)) if (!Array.isArray(v) && !isPlainObject(v)) observe(seen.subs, k, v, 1);
    }
    into.set(key, seen);
  }
}

function toDefinition(name: string, s: Seen): AttributeDefinition {
  const def: AttributeDefinition = {
    name, type: s.type, multiValued: s.multiValued, description: `Custom attribute "${name}", as sent by the identity provider.`,
    required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none',
  };
  if (s.type === 'complex') {
    const subs = [...(s.subs ?? new Map<string, Seen>())].sort(([a], [b]) => a.localeCompare(b)).map(([n, v]) => toDefinition(n, v));
    return { ...def, subAttributes: subs };
  }
  return def;
}

/** Collects the extension data of resources; `extensions()` describes what was seen. */
export class CustomExtensionCollector {
  private readonly seen = new Map<string, { id: string; attrs: Map<string, Seen> }>();

  constructor(private readonly schema: ResourceSchema) {}

  add(resource: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(resource)) {
      if (!/^urn:/i.test(key) || !isPlainObject(value) || findExtension(this.schema, key)) continue;
      if (key.toLowerCase() === this.schema.core.id.toLowerCase()) continue;
      const lower = key.toLowerCase();
      let entry = this.seen.get(lower);
      if (!entry) { entry = { id: key, attrs: new Map() }; this.seen.set(lower, entry); }
      for (const [name, v] of Object.entries(value)) observe(entry.attrs, name, v, 0);
    }
  }

  extensions(): CustomExtension[] {
    return [...this.seen.values()].sort((a, b) => a.id.localeCompare(b.id)).map((e): CustomExtension => {
      const schema: SchemaDefinition = {
        id: e.id,
        name: e.id.split(':').filter(Boolean).slice(-2).join(' '),
        description: 'Custom extension attributes the identity provider sent; kept as sent and available for mapping.',
        attributes: [...e.attrs].sort(([a], [b]) => a.localeCompare(b)).map(([n, s]) => toDefinition(n, s)),
      };
      return { schema, required: false };
    });
  }
}

/** Describe every unknown `urn:` extension found on `resources`. */
export function inferCustomExtensions(resources: Iterable<Record<string, unknown>>, schema: ResourceSchema): CustomExtension[] {
  const c = new CustomExtensionCollector(schema);
  for (const r of resources) c.add(r);
  return c.extensions();
}
