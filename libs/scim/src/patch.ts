/**
 * PATCH engine (RFC 7644 §3.5.2) with the leniencies real IdPs need:
 * case-insensitive op names ("Replace"), string booleans ("False"), dotted and URN-qualified
 * keys inside a path-less value, a filtered path that matches nothing creating the element for
 * add/replace, a bare id for `manager`, and remove of `members` with a value array removing only
 * the listed members. Atomic: works on a copy; the input is never mutated.
 */
import { ScimError } from './errors.ts';
import { evaluateInScope, validateElementFilter, type Scope } from './evaluate.ts';
import { parsePatchPath, type FilterNode, type PatchPath } from './filter.ts';
import {
  computeSchemas,
  deleteCI,
  findAttribute,
  findExtension,
  findKey,
  formatPath,
  getCI,
  getContainer,
  isPlainObject,
  resolvePath,
  setCI,
  type ResolvedPath,
} from './resolve.ts';
import type { AttributeDefinition, ResourceSchema, ScimResource } from './schema-types.ts';
import { cloneJson, deepEqual } from './util.ts';
import { assertSinglePrimary, coerceSingle, coerceValue } from './values.ts';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

interface NormalizedOp {
  op: PatchOpName;
  path: string | undefined;
  value: unknown;
  hasValue: boolean;
  label: string;
}

/**
 * Validate a PATCH request body and return its operations. The `schemas` member may be missing
 * (some clients omit it) but if present must contain the PatchOp URN. Throws 400 invalidSyntax.
 */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isPlainObject(body)) throw ScimError.badRequest('invalidSyntax', 'PATCH body must be a JSON object');
  const schemas = getCI(body, 'schemas');
  if (schemas !== undefined) {
    if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
      throw ScimError.badRequest('invalidSyntax', `PATCH body "schemas" must contain "${PATCH_OP_SCHEMA}"`);
    }
  }
  const ops = getCI(body, 'Operations');
  if (!Array.isArray(ops) || ops.length === 0) throw ScimError.badRequest('invalidSyntax', 'PATCH body must have a non-empty "Operations" array');
  ops.forEach((op, i) => normalizeOperation(op, i));
  return ops as PatchOperation[];
}

function normalizeOperation(raw: unknown, index: number): NormalizedOp {
  const label = `Operations[${index}]`;
  if (!isPlainObject(raw)) throw ScimError.badRequest('invalidSyntax', `${label} must be an object`);
  const opRaw = getCI(raw, 'op');
  const op = typeof opRaw === 'string' ? opRaw.trim().toLowerCase() : undefined;
  if (op !== 'add' && op !== 'replace' && op !== 'remove') {
    throw ScimError.badRequest('invalidSyntax', `${label}.op must be "add", "replace" or "remove"; got ${JSON.stringify(opRaw)}`);
  }
  const pathRaw = getCI(raw, 'path');
  if (pathRaw !== undefined && pathRaw !== null && typeof pathRaw !== 'string') {
    throw ScimError.badRequest('invalidPath', `${label}.path must be a string`);
  }
  const path = typeof pathRaw === 'string' && pathRaw.trim() !== '' ? pathRaw.trim() : undefined;
  const valueKey = findKey(raw, 'value');
  const hasValue = valueKey !== undefined && raw[valueKey] !== undefined;
  if (op !== 'remove' && !hasValue) throw ScimError.badRequest('invalidSyntax', `${label} (${op}) needs a "value"`);
  return { op, path, value: hasValue ? raw[valueKey!] : undefined, hasValue, label: path ? `${label} "${path}"` : label };
}

/** Apply PATCH operations; returns a new resource or throws ScimError with nothing applied. */
export function applyPatch(resource: ScimResource, operations: readonly unknown[], schema: ResourceSchema): ScimResource {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw ScimError.badRequest('invalidSyntax', 'PATCH needs a non-empty list of operations');
  }
  const doc = cloneJson(resource);
  const engine = new PatchEngine(doc, schema);
  operations.forEach((raw, i) => engine.apply(normalizeOperation(raw, i)));
  doc['schemas'] = computeSchemas(doc, schema);
  return doc;
}

function asArray(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? [...v] : [v];
}

function equalScalar(def: AttributeDefinition | undefined, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string' && def && !def.caseExact && def.type === 'string') {
    return a.toLowerCase() === b.toLowerCase();
  }
  return deepEqual(a, b);
}

class PatchEngine {
  constructor(
    private readonly doc: ScimResource,
    private readonly schema: ResourceSchema,
  ) {}

  apply(op: NormalizedOp): void {
    if (op.path === undefined) {
      if (op.op === 'remove') throw ScimError.badRequest('noTarget', `${op.label}: remove needs a "path"`);
      if (!isPlainObject(op.value)) {
        throw ScimError.badRequest('invalidValue', `${op.label}: without a "path", "value" must be an object of attributes`);
      }
      this.applyValueObject(op, op.value, undefined);
      return;
    }
    this.applyPath(op, parsePatchPath(op.path), op.value, op.hasValue);
  }

  /**
   * Keys of a path-less value (or of a whole-extension value): plain names, dotted names
   * (`name.givenName`), URN-qualified names (`urn:…:User:department`) and extension objects.
   * readOnly attributes are skipped silently, except an `id` that differs from the resource's.
   */
  private applyValueObject(op: NormalizedOp, value: Record<string, unknown>, inExtension: string | undefined): void {
    for (const [key, v] of Object.entries(value)) {
      if (inExtension === undefined && key.toLowerCase() === 'schemas') continue;
      const ext = inExtension === undefined ? findExtension(this.schema, key) : undefined;
      if (ext) {
        if (v === null) {
          if (op.op === 'replace') deleteCI(this.doc, ext.id);
          continue;
        }
        if (!isPlainObject(v)) throw ScimError.badRequest('invalidValue', `${op.label}: "${key}" must be an object`);
        this.applyValueObject(op, v, ext.id);
        continue;
      }
      const path = parsePatchPath(key);
      if (inExtension !== undefined) {
        if (path.uri !== undefined) throw ScimError.badRequest('invalidPath', `${op.label}: "${key}" inside "${inExtension}" must not carry a URN`);
        path.uri = inExtension;
      }
      const r = resolvePath(this.schema, path);
      if (r && !r.knownExtension && r.extensionId !== undefined && !r.sub && !path.filter && isPlainObject(v) && inExtension === undefined) {
        // An extension this schema does not know: keep its object as sent, for later mapping.
        const existing = getCI(this.doc, key);
        setCI(this.doc, key, op.op === 'add' && isPlainObject(existing) ? { ...existing, ...cloneJson(v) } : cloneJson(v));
        continue;
      }
      if (r?.def) {
        const target = r.sub?.def ?? r.def;
        if (r.def.mutability === 'readOnly' || target.mutability === 'readOnly') {
          if (!r.extensionId && r.name === 'id' && v !== this.doc['id']) {
            throw ScimError.badRequest('mutability', `${op.label}: "id" is readOnly and differs from the resource's id`);
          }
          continue;
        }
      }
      this.applyPath(op, path, v, true);
    }
  }

  private applyPath(op: NormalizedOp, path: PatchPath, value: unknown, hasValue: boolean): void {
    const label = formatPath(path);
    const r = resolvePath(this.schema, path);
    if (!r) throw ScimError.badRequest('invalidPath', `${op.label}: unknown attribute "${label}"`);

    if (r.wholeExtension) {
      if (path.filter) throw ScimError.badRequest('invalidPath', `${op.label}: a value filter cannot apply to an extension`);
      if (op.op === 'remove' || value === null) {
        deleteCI(this.doc, r.extensionId!);
        return;
      }
      if (!isPlainObject(value)) throw ScimError.badRequest('invalidValue', `${op.label}: value must be an object`);
      this.applyValueObject(op, value, r.extensionId);
      this.prune(r.extensionId);
      return;
    }

    if (!r.def) {
      this.applySchemaless(op, r, path, value);
      this.prune(r.extensionId);
      return;
    }
    const def = r.def;
    const target = r.sub?.def ?? def;
    if (def.mutability === 'readOnly' || target.mutability === 'readOnly') {
      throw ScimError.badRequest('mutability', `${op.label}: attribute "${label}" is readOnly`);
    }
    if (def.mutability === 'writeOnly' || target.mutability === 'writeOnly') return; // never stored (password)

    const container = op.op === 'remove' ? getContainer(this.doc, r.extensionId) : this.ensureContainer(r.extensionId);
    if (!container) return;
    const removing = op.op === 'remove' || value === null;

    if (path.filter) {
      if (!def.multiValued || def.type !== 'complex') {
        throw ScimError.badRequest('invalidPath', `${op.label}: a value filter needs a multi-valued complex attribute; "${def.name}" is not`);
      }
      this.applyFiltered(op, container, def, r.sub?.def, path.filter, removing, value);
    } else if (def.multiValued) {
      if (r.sub) {
        throw ScimError.badRequest(
          'invalidPath',
          `${op.label}: "${label}" names a sub-attribute of every value of "${def.name}"; select values with a filter, e.g. ${def.name}[type eq "work"].${r.sub.name}`,
        );
      }
      this.applyMulti(op, container, def, removing, value, hasValue && value !== null);
    } else if (r.sub?.def) {
      this.applySubOfSingular(op, container, def, r.sub.def, removing, value);
    } else {
      this.applySingular(op, container, def, removing, value);
    }
    this.prune(r.extensionId);
  }

  private ensureContainer(extensionId: string | undefined): Record<string, unknown> {
    if (extensionId === undefined) return this.doc;
    const existing = getContainer(this.doc, extensionId);
    if (existing) return existing;
    const created: Record<string, unknown> = {};
    setCI(this.doc, extensionId, created);
    return created;
  }

  private prune(extensionId: string | undefined): void {
    if (extensionId === undefined) return;
    const c = getContainer(this.doc, extensionId);
    if (c && Object.keys(c).length === 0) deleteCI(this.doc, extensionId);
  }

  /** Attributes of an extension the schema does not know: stored as sent. */
  private applySchemaless(op: NormalizedOp, r: ResolvedPath, path: PatchPath, value: unknown): void {
    if (path.filter) throw ScimError.badRequest('invalidPath', `${op.label}: value filters need an attribute the schema defines`);
    const removing = op.op === 'remove' || value === null;
    const container = removing ? getContainer(this.doc, r.extensionId) : this.ensureContainer(r.extensionId);
    if (!container) return;
    if (r.sub) {
      const parent = getCI(container, r.name);
      if (removing) {
        if (isPlainObject(parent)) deleteCI(parent, r.sub.name);
        return;
      }
      const obj = isPlainObject(parent) ? parent : {};
      setCI(obj, r.sub.name, cloneJson(value));
      setCI(container, r.name, obj);
      return;
    }
    if (removing) {
      deleteCI(container, r.name);
      return;
    }
    const existing = getCI(container, r.name);
    if (op.op === 'add' && Array.isArray(existing)) setCI(container, r.name, [...existing, ...asArray(cloneJson(value))]);
    else setCI(container, r.name, cloneJson(value));
  }

  private assertRemovable(op: NormalizedOp, def: AttributeDefinition, existing: unknown): void {
    if (existing === undefined) return;
    if (def.required) throw ScimError.badRequest('invalidValue', `${op.label}: "${def.name}" is required and cannot be removed`);
    if (def.mutability === 'immutable') throw ScimError.badRequest('mutability', `${op.label}: "${def.name}" is immutable and already set`);
  }

  private applySingular(op: NormalizedOp, container: Record<string, unknown>, def: AttributeDefinition, removing: boolean, value: unknown): void {
    const existing = getCI(container, def.name);
    const coerced = removing ? undefined : coerceValue(def, value, def.name);
    if (coerced === undefined) {
      this.assertRemovable(op, def, existing);
      deleteCI(container, def.name);
      return;
    }
    let next = coerced;
    // RFC 7644 §3.5.2.1/.3: add/replace of a complex attribute sets the given sub-attributes and
    // leaves the others. A bare scalar (Entra's manager id) replaces the whole complex value.
    if (def.type === 'complex' && isPlainObject(value) && isPlainObject(existing) && isPlainObject(coerced)) {
      next = { ...existing, ...coerced };
    }
    if (def.mutability === 'immutable' && existing !== undefined && !deepEqual(existing, next)) {
      throw ScimError.badRequest('mutability', `${op.label}: "${def.name}" is immutable and already set`);
    }
    setCI(container, def.name, next);
  }

  private applySubOfSingular(
    op: NormalizedOp,
    container: Record<string, unknown>,
    def: AttributeDefinition,
    subDef: AttributeDefinition,
    removing: boolean,
    value: unknown,
  ): void {
    const parent = getCI(container, def.name);
    const label = `${def.name}.${subDef.name}`;
    const existing = isPlainObject(parent) ? getCI(parent, subDef.name) : undefined;
    const coerced = removing ? undefined : coerceValue(subDef, value, label);
    if (def.mutability === 'immutable' && isPlainObject(parent)) {
      throw ScimError.badRequest('mutability', `${op.label}: "${def.name}" is immutable and already set`);
    }
    if (coerced === undefined) {
      if (!isPlainObject(parent)) return;
      if (subDef.mutability === 'immutable' && existing !== undefined) {
        throw ScimError.badRequest('mutability', `${op.label}: "${label}" is immutable and already set`);
      }
      deleteCI(parent, subDef.name);
      if (Object.keys(parent).length === 0) deleteCI(container, def.name);
      return;
    }
    if (subDef.mutability === 'immutable' && existing !== undefined && !deepEqual(existing, coerced)) {
      throw ScimError.badRequest('mutability', `${op.label}: "${label}" is immutable and already set`);
    }
    const obj = isPlainObject(parent) ? parent : {};
    setCI(obj, subDef.name, coerced);
    setCI(container, def.name, obj);
  }

  private applyMulti(
    op: NormalizedOp,
    container: Record<string, unknown>,
    def: AttributeDefinition,
    removing: boolean,
    value: unknown,
    hasValue: boolean,
  ): void {
    const list = asArray(getCI(container, def.name));
    if (removing) {
      if (op.op === 'remove' && hasValue) {
        // Entra: {"op":"Remove","path":"members","value":[{"value":"id"}]} removes only those.
        const listed = asArray(value);
        this.write(container, def, list.filter((el) => !listed.some((rm) => this.sameElement(def, el, rm))));
      } else {
        deleteCI(container, def.name);
      }
      return;
    }
    const coerced = coerceValue(def, value, def.name) as unknown[] | undefined;
    if (coerced === undefined) {
      if (op.op === 'replace') deleteCI(container, def.name);
      return;
    }
    assertSinglePrimary(def, coerced, def.name);
    if (op.op === 'replace') {
      this.write(container, def, coerced);
      return;
    }
    const touched: unknown[] = [];
    for (const el of coerced) {
      const idx = list.findIndex((x) => this.sameElement(def, x, el));
      if (idx < 0) {
        list.push(el);
        touched.push(el);
      } else if (isPlainObject(el) && isPlainObject(list[idx])) {
        const merged = { ...(list[idx] as Record<string, unknown>), ...el };
        list[idx] = merged;
        touched.push(merged);
      }
    }
    this.enforcePrimary(list, touched);
    this.write(container, def, list);
  }

  private applyFiltered(
    op: NormalizedOp,
    container: Record<string, unknown>,
    def: AttributeDefinition,
    subDef: AttributeDefinition | undefined,
    filter: FilterNode,
    removing: boolean,
    value: unknown,
  ): void {
    const scope: Scope = { kind: 'element', parent: def.name, subAttributes: def.subAttributes };
    validateElementFilter(filter, scope);
    let list = asArray(getCI(container, def.name));
    const matches = list.filter((el) => isPlainObject(el) && evaluateInScope(filter, el, scope)) as Record<string, unknown>[];
    const label = subDef ? `${def.name}[…].${subDef.name}` : `${def.name}[…]`;

    const coerced = removing ? undefined : subDef ? coerceValue(subDef, value, label) : coerceSingle(def, value, label);
    if (coerced === undefined) {
      if (subDef) {
        for (const m of matches) {
          if (subDef.mutability === 'immutable' && getCI(m, subDef.name) !== undefined) {
            throw ScimError.badRequest('mutability', `${op.label}: "${def.name}.${subDef.name}" is immutable`);
          }
          deleteCI(m, subDef.name);
        }
        list = list.filter((el) => !(matches.includes(el as Record<string, unknown>) && this.isHollow(def, el as Record<string, unknown>)));
      } else {
        list = list.filter((el) => !matches.includes(el as Record<string, unknown>));
      }
      this.write(container, def, list);
      return;
    }

    let touched: Record<string, unknown>[];
    if (matches.length === 0) {
      // IdPs expect add/replace on `emails[type eq "work"].value` to create the missing value.
      const created = this.elementFromFilter(op, def, filter);
      if (subDef) setCI(created, subDef.name, coerced);
      else Object.assign(created, coerced as Record<string, unknown>);
      list.push(created);
      touched = [created];
    } else if (subDef) {
      for (const m of matches) {
        const existing = getCI(m, subDef.name);
        if (subDef.mutability === 'immutable' && existing !== undefined && !deepEqual(existing, coerced)) {
          throw ScimError.badRequest('mutability', `${op.label}: "${def.name}.${subDef.name}" is immutable`);
        }
        setCI(m, subDef.name, coerced);
      }
      touched = matches;
    } else if (op.op === 'replace') {
      const base = this.tryElementFromFilter(def, filter) ?? {};
      touched = [];
      list = list.map((el) => {
        if (!matches.includes(el as Record<string, unknown>)) return el;
        const replacement = { ...base, ...(coerced as Record<string, unknown>) };
        touched.push(replacement);
        return replacement;
      });
    } else {
      for (const m of matches) Object.assign(m, coerced as Record<string, unknown>);
      touched = matches;
    }
    if (touched.filter((t) => t['primary'] === true).length > 1) {
      throw ScimError.badRequest('invalidValue', `${op.label}: would set primary true on more than one value of "${def.name}"`);
    }
    this.enforcePrimary(list, touched);
    this.write(container, def, list);
  }

  /** `type eq "work" and …` → `{ type: "work", … }`; undefined when the filter is not an AND of eq. */
  private tryElementFromFilter(def: AttributeDefinition, filter: FilterNode): Record<string, unknown> | undefined {
    const parts = filter.kind === 'and' ? filter.filters : [filter];
    const out: Record<string, unknown> = {};
    for (const p of parts) {
      if (p.kind !== 'compare' || p.op !== 'eq' || p.value === null || p.path.subAttribute !== undefined) return undefined;
      const sub = findAttribute(def.subAttributes, p.path.attribute);
      if (!sub || sub.type === 'complex') return undefined;
      const raw = sub.type === 'string' || sub.type === 'reference' ? String(p.value) : p.value;
      try {
        out[sub.name] = coerceSingle(sub, raw, `${def.name}.${sub.name}`);
      } catch {
        return undefined;
      }
    }
    return out;
  }

  private elementFromFilter(op: NormalizedOp, def: AttributeDefinition, filter: FilterNode): Record<string, unknown> {
    const el = this.tryElementFromFilter(def, filter);
    if (!el) {
      throw ScimError.badRequest(
        'noTarget',
        `${op.label}: no value of "${def.name}" matches the filter, and a value can only be created from a filter of "eq" conditions joined by "and"`,
      );
    }
    return el;
  }

  /** An element left with no value after removing a sub-attribute is dropped. */
  private isHollow(def: AttributeDefinition, el: Record<string, unknown>): boolean {
    if (findAttribute(def.subAttributes, 'value')) {
      const v = getCI(el, 'value');
      return v === undefined || v === null || v === '';
    }
    return Object.entries(el).every(([k, v]) => ['type', 'primary'].includes(k.toLowerCase()) || v === undefined || v === null || v === '');
  }

  /** Same value (by `value`, and by `type` when both have one), else same given sub-attributes. */
  private sameElement(def: AttributeDefinition, existing: unknown, candidate: unknown): boolean {
    if (def.type !== 'complex') return equalScalar(def, existing, candidate);
    if (!isPlainObject(existing)) return false;
    if (!isPlainObject(candidate)) {
      // bare id in a remove list
      return findAttribute(def.subAttributes, 'value') !== undefined && equalScalar(findAttribute(def.subAttributes, 'value'), getCI(existing, 'value'), candidate);
    }
    const valueDef = findAttribute(def.subAttributes, 'value');
    const cv = getCI(candidate, 'value');
    if (valueDef && cv !== undefined && cv !== null) {
      if (!equalScalar(valueDef, getCI(existing, 'value'), cv)) return false;
      const ct = getCI(candidate, 'type');
      const et = getCI(existing, 'type');
      return ct === undefined || ct === null || et === undefined || equalScalar(findAttribute(def.subAttributes, 'type'), et, ct);
    }
    const given = Object.entries(candidate).filter(([, v]) => v !== null && v !== undefined);
    return given.length > 0 && given.every(([k, v]) => equalScalar(findAttribute(def.subAttributes, k), getCI(existing, k), v));
  }

  /** RFC 7643 §2.4: at most one `primary: true`; the value just set wins. */
  private enforcePrimary(list: unknown[], touched: unknown[]): void {
    if (!touched.some((t) => isPlainObject(t) && t['primary'] === true)) return;
    for (const el of list) {
      if (isPlainObject(el) && !touched.includes(el) && el['primary'] === true) el['primary'] = false;
    }
  }

  private write(container: Record<string, unknown>, def: AttributeDefinition, list: unknown[]): void {
    if (list.length === 0) deleteCI(container, def.name);
    else setCI(container, def.name, list);
  }
}
