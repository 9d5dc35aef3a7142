/** Turn simple filters into equality conditions an index can answer. */
import type { FilterNode, FilterValue } from './filter.ts';
import { findAttribute, formatResolved, resolvePath, type AttributePath } from './resolve.ts';
import { ENTERPRISE_USER_SCHEMA_ID, USER_RESOURCE_SCHEMA } from './schemas.ts';
import type { AttributeDefinition, ResourceSchema } from './schema-types.ts';

export interface EqualityCondition {
  /** Canonical path: `userName`, `emails.value`, `urn:…:enterprise:2.0:User:employeeNumber`. */
  attributePath: string;
  value: string | number | boolean;
  /** true when the attribute is a caseExact=false string: compare case-insensitively. */
  caseInsensitive: boolean;
  /**
   * Only for sub-attributes of multi-valued attributes (`emails.value`): the element holding the
   * value must also have this `type`, compared case-insensitively. Produced by
   * `emails[type eq "work"].value eq "x"` and `emails[type eq "work" and value eq "x"]`.
   */
  typeEquals?: string;
}

export interface FilterToQueryOptions {
  /** Paths an index exists for (canonical, compared case-insensitively). */
  indexable?: readonly string[];
}

export const DEFAULT_INDEXABLE: readonly string[] = [
  'id',
  'userName',
  'externalId',
  'displayName',
  'emails.value',
  `${ENTERPRISE_USER_SCHEMA_ID}:employeeNumber`,
];

function scalar(value: FilterValue, def: AttributeDefinition): string | number | boolean | undefined {
  if (value === null) return undefined;
  if (def.type === 'string' || def.type === 'reference') return String(value);
  if (def.type === 'boolean') return typeof value === 'boolean' ? value : undefined;
  if (def.type === 'integer' || def.type === 'decimal') return typeof value === 'number' ? value : undefined;
  return undefined;
}

/**
 * The filter as an AND of equality conditions, or null when it is anything else (or, ne, co,
 * a non-indexed attribute …). The conditions are exact: a resource matches the filter iff it
 * satisfies every condition (with `typeEquals` honoured). Examples that translate:
 * `userName eq "x"`, `externalId eq x`, `displayName eq "x"`, `emails.value eq "x"`,
 * `emails[value eq "x"]`, `emails[type eq "work"].value eq "x"`, `urn:…:User:employeeNumber eq "x"`,
 * and `and` of those.
 */
export function filterToQuery(
  filter: FilterNode,
  schema: ResourceSchema = USER_RESOURCE_SCHEMA,
  options: FilterToQueryOptions = {},
): EqualityCondition[] | null {
  const indexable = new Set((options.indexable ?? DEFAULT_INDEXABLE).map((p) => p.toLowerCase()));

  const leaf = (path: AttributePath, value: FilterValue): EqualityCondition | null => {
    const r = resolvePath(schema, path);
    if (!r || !r.def || r.wholeExtension) return null;
    let def = r.sub?.def ?? r.def;
    let attributePath = formatResolved(r);
    if (!r.sub && def.type === 'complex') {
      const valueDef = findAttribute(def.subAttributes, 'value');
      if (!valueDef || !def.multiValued) return null;
      def = valueDef;
      attributePath = `${attributePath}.value`;
    }
    if (!def || !indexable.has(attributePath.toLowerCase())) return null;
    const v = scalar(value, def);
    if (v === undefined) return null;
    return { attributePath, value: v, caseInsensitive: def.type === 'string' && !def.caseExact };
  };

  const walk = (node: FilterNode): EqualityCondition[] | null => {
    switch (node.kind) {
      case 'compare': {
        if (node.op !== 'eq') return null;
        const c = leaf(node.path, node.value);
        return c ? [c] : null;
      }
      case 'and': {
        const out: EqualityCondition[] = [];
        for (const f of node.filters) {
          const part = walk(f);
          if (!part) return null;
          out.push(...part);
        }
        return out;
      }
      case 'valuePath': {
        // attr[value eq "x"] or attr[type eq "t" and value eq "x"] (either order)
        const parts = node.filter.kind === 'and' ? node.filter.filters : [node.filter];
        let valueCond: FilterNode | undefined;
        let typeValue: string | undefined;
        for (const p of parts) {
          if (p.kind !== 'compare' || p.op !== 'eq' || p.path.subAttribute !== undefined) return null;
          const name = p.path.attribute.toLowerCase();
          if (name === 'value' && !valueCond) valueCond = p;
          else if (name === 'type' && typeValue === undefined && p.value !== null) typeValue = String(p.value);
          else return null;
        }
        if (!valueCond || valueCond.kind !== 'compare') return null;
        const c = leaf({ ...node.path, subAttribute: 'value' }, valueCond.value);
        if (!c) return null;
        if (typeValue !== undefined) c.typeEquals = typeValue;
        return [c];
      }
      default:
        return null;
    }
  };
  return walk(filter);
}
