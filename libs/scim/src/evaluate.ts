/**
 * Filter evaluation against a resource's JSON (RFC 7644 §3.4.2.2), typed by the schema:
 * caseExact=false strings compare case-insensitively, dateTime compares as instants,
 * booleans and numbers compare as such, and a multi-valued attribute matches if any value does.
 * Comparing a complex attribute that has a `value` sub-attribute compares that sub-attribute
 * (so `emails co "example.com"` means `emails.value co "example.com"`).
 *
 * Absent attributes: `pr` is false, `eq null` is true, `ne` is true, every other operator false.
 */
import { InvalidFilterError } from './errors.ts';
import type { CompareOperator, FilterNode, FilterValue } from './filter.ts';
import { findAttribute, formatPath, getCI, getContainer, isPlainObject, resolvePath, type AttributePath } from './resolve.ts';
import type { AttributeDefinition, AttributeType, ResourceSchema } from './schema-types.ts';

/** Where paths resolve: the resource (top level) or one element of a multi-valued complex attribute. */
export type Scope =
  | { kind: 'resource'; schema: ResourceSchema }
  | { kind: 'element'; parent: string; subAttributes: readonly AttributeDefinition[] | undefined };

interface Lookup {
  values: unknown[];
  def: AttributeDefinition | undefined;
  /** false for an attribute that the scope's schema does not define (non-`urn:` paths only). */
  known: boolean;
}

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.filter((x) => x !== undefined && x !== null) : [v];
}

export function lookup(target: unknown, path: AttributePath, scope: Scope): Lookup {
  if (scope.kind === 'element') {
    const def = findAttribute(scope.subAttributes, path.attribute);
    return { values: asList(getCI(target, path.attribute)), def, known: def !== undefined || scope.subAttributes === undefined };
  }
  const r = resolvePath(scope.schema, path);
  if (!r) {
    const top = asList(getCI(target, path.attribute));
    const values = path.subAttribute === undefined ? top : top.flatMap((el) => asList(getCI(el, path.subAttribute!)));
    return { values, def: undefined, known: false };
  }
  const container = isPlainObject(target) ? getContainer(target, r.extensionId) : undefined;
  if (r.wholeExtension) return { values: asList(container), def: undefined, known: true };
  const top = asList(getCI(container, r.name));
  if (!r.sub) return { values: top, def: r.def, known: true };
  const subName = r.sub.name;
  return { values: top.flatMap((el) => asList(getCI(el, subName))), def: r.sub.def, known: true };
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.every(isEmpty);
  if (isPlainObject(v)) return Object.values(v).every(isEmpty);
  return false;
}

function parseInstant(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function inferType(v: unknown): AttributeType | undefined {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'decimal';
  if (isPlainObject(v)) return 'complex';
  return undefined;
}

/** Reject operator/type combinations that RFC 7644 §3.4.2.2 says fail with invalidFilter. */
function checkOperator(type: AttributeType, op: CompareOperator, value: FilterValue, label: string): void {
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') throw new InvalidFilterError(`"${label} ${op} null": null can only be compared with eq or ne`);
    return;
  }
  const ordering = op === 'gt' || op === 'ge' || op === 'lt' || op === 'le';
  const substring = op === 'co' || op === 'sw' || op === 'ew';
  if ((type === 'boolean' || type === 'binary') && ordering) {
    throw new InvalidFilterError(`"${label}" is ${type}; "${op}" is not defined for it`);
  }
  if ((type === 'boolean' || type === 'integer' || type === 'decimal' || type === 'dateTime') && substring) {
    throw new InvalidFilterError(`"${label}" is ${type}; "${op}" only applies to strings`);
  }
  if ((type === 'string' || type === 'reference' || type === 'binary' || type === 'dateTime') && typeof value !== 'string') {
    throw new InvalidFilterError(`"${label}" is ${type === 'dateTime' ? 'a dateTime' : `a ${type}`}; compare it with a quoted string, not ${JSON.stringify(value)}`);
  }
  if (type === 'dateTime' && parseInstant(value) === undefined) {
    throw new InvalidFilterError(`"${label}" is a dateTime; ${JSON.stringify(value)} is not a valid dateTime`);
  }
  if (type === 'boolean' && typeof value !== 'boolean' && !(typeof value === 'string' && /^(true|false)$/i.test(value))) {
    throw new InvalidFilterError(`"${label}" is boolean; compare it with true or false`);
  }
  if ((type === 'integer' || type === 'decimal') && typeof value !== 'number' && !(typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))) {
    throw new InvalidFilterError(`"${label}" is a number; ${JSON.stringify(value)} is not`);
  }
}

function ordered(cmp: number, op: CompareOperator): boolean {
  switch (op) {
    case 'eq':
      return cmp === 0;
    case 'ne':
      return cmp !== 0;
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
    default:
      return false;
  }
}

function compareOne(actual: unknown, op: CompareOperator, value: FilterValue, type: AttributeType, caseExact: boolean): boolean {
  if (value === null) return false;
  switch (type) {
    case 'boolean': {
      const want = typeof value === 'boolean' ? value : String(value).toLowerCase() === 'true';
      const have = typeof actual === 'boolean' ? actual : typeof actual === 'string' ? actual.toLowerCase() === 'true' : undefined;
      return have !== undefined && ordered(have === want ? 0 : 1, op);
    }
    case 'integer':
    case 'decimal': {
      const a = typeof actual === 'number' ? actual : Number(actual);
      const b = typeof value === 'number' ? value : Number(value);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return ordered(a === b ? 0 : a < b ? -1 : 1, op);
    }
    case 'dateTime': {
      const a = parseInstant(actual);
      const b = parseInstant(value);
      if (a === undefined || b === undefined) return false;
      return ordered(a === b ? 0 : a < b ? -1 : 1, op);
    }
    case 'complex':
      return false;
    default: {
      if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return false;
      let a = String(actual);
      let b = String(value);
      if (!caseExact) {
        a = a.toLowerCase();
        b = b.toLowerCase();
      }
      if (op === 'co') return a.includes(b);
      if (op === 'sw') return a.startsWith(b);
      if (op === 'ew') return a.endsWith(b);
      return ordered(a === b ? 0 : a < b ? -1 : 1, op);
    }
  }
}

/** For a complex attribute compared to a scalar, compare its `value` sub-attribute instead. */
function comparable(l: Lookup): { values: unknown[]; def: AttributeDefinition | undefined } {
  if (l.def?.type !== 'complex') return l;
  const valueDef = findAttribute(l.def.subAttributes, 'value');
  if (!valueDef) return l;
  return { values: l.values.flatMap((el) => asList(getCI(el, 'value'))), def: valueDef };
}

function elementScope(l: Lookup, path: AttributePath): Scope {
  const sub = l.def?.subAttributes;
  return { kind: 'element', parent: formatPath(path), subAttributes: sub };
}

/** Evaluate a parsed filter against a target in a scope (exported for the PATCH engine's value filters). */
export function evaluateInScope(node: FilterNode, target: unknown, scope: Scope): boolean {
  switch (node.kind) {
    case 'and':
      return node.filters.every((f) => evaluateInScope(f, target, scope));
    case 'or':
      return node.filters.some((f) => evaluateInScope(f, target, scope));
    case 'not':
      return !evaluateInScope(node.filter, target, scope);
    case 'present':
      return lookup(target, node.path, scope).values.some((v) => !isEmpty(v));
    case 'valuePath': {
      const l = lookup(target, node.path, scope);
      const inner = elementScope(l, node.path);
      return l.values.some((el) => isPlainObject(el) && evaluateInScope(node.filter, el, inner));
    }
    case 'compare': {
      const { values, def } = comparable(lookup(target, node.path, scope));
      const label = formatPath(node.path);
      if (def) checkOperator(def.type, node.op, node.value, label);
      if (node.value === null) {
        const present = values.some((v) => !isEmpty(v));
        return node.op === 'eq' ? !present : present;
      }
      if (values.length === 0) return node.op === 'ne';
      return values.some((v) => {
        const type = def?.type ?? inferType(v);
        if (type === undefined) return false;
        if (!def) checkOperator(type, node.op, node.value, label);
        return compareOne(v, node.op, node.value, type, def?.caseExact ?? false);
      });
    }
  }
}

/** Does `resource` match `filter`? Throws InvalidFilterError for operator/type mismatches (e.g. `active gt true`). */
export function evaluateFilter(filter: FilterNode, resource: Record<string, unknown>, schema: ResourceSchema): boolean {
  return evaluateInScope(filter, resource, { kind: 'resource', schema });
}

function validateInScope(node: FilterNode, scope: Scope): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      node.filters.forEach((f) => validateInScope(f, scope));
      return;
    case 'not':
      validateInScope(node.filter, scope);
      return;
    case 'present':
    case 'compare':
    case 'valuePath': {
      const l = lookup(undefined, node.path, scope);
      const label = scope.kind === 'element' ? `${scope.parent}.${formatPath(node.path)}` : formatPath(node.path);
      if (!l.known) throw new InvalidFilterError(`Unknown attribute "${label}"`);
      if (node.kind === 'valuePath') {
        if (l.def && l.def.type !== 'complex') throw new InvalidFilterError(`"${label}" is not complex; "[ ]" needs a complex attribute`);
        validateInScope(node.filter, elementScope(l, node.path));
      } else if (node.kind === 'compare') {
        const { def } = comparable(l);
        if (def) checkOperator(def.type, node.op, node.value, label);
      }
      return;
    }
  }
}

/**
 * Check a parsed filter against the schema before running it: unknown attributes (outside
 * `urn:` extensions the schema does not know) and operator/type mismatches throw InvalidFilterError.
 */
export function validateFilter(filter: FilterNode, schema: ResourceSchema): void {
  validateInScope(filter, { kind: 'resource', schema });
}

/** validateFilter for a value filter (`emails[…]`), whose paths are sub-attribute names. */
export function validateElementFilter(filter: FilterNode, scope: Scope): void {
  validateInScope(filter, scope);
}
