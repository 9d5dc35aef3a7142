/** Resource helpers: input normalisation (POST/PUT), attribute projection, sorting. */
import { ScimError } from './errors.ts';
import { tryParseAttributePath } from './filter.ts';
import {
  computeSchemas,
  coreAttributes,
  findAttribute,
  findExtension,
  getCI,
  getContainer,
  isPlainObject,
  resolvePath,
  type ResolvedPath,
} from './resolve.ts';
import type { AttributeDefinition, ResourceSchema, ScimResource } from './schema-types.ts';
import { USER_RESOURCE_SCHEMA } from './schemas.ts';
import { cloneJson, deepEqual } from './util.ts';
import { assertSinglePrimary, coerceValue } from './values.ts';

export interface NormalizeOptions {
  /**
   * The stored resource that a PUT replaces. Immutable attributes must keep their value
   * (→ 400 mutability otherwise) and are carried over when the input leaves them out.
   */
  existing?: ScimResource;
}

function assign(out: Record<string, unknown>, r: ResolvedPath, value: unknown, key: string): void {
  const def = r.def!;
  const target = r.sub?.def ?? def;
  // Client-sent readOnly data (id, meta, groups, manager.displayName) is ignored, as is the
  // password: this service never stores one.
  if (def.mutability === 'readOnly' || target.mutability === 'readOnly') return;
  if (def.mutability === 'writeOnly' || target.mutability === 'writeOnly') return;
  let container = out;
  if (r.extensionId !== undefined) {
    const existing = out[r.extensionId];
    container = isPlainObject(existing) ? existing : {};
    out[r.extensionId] = container;
  }
  if (r.sub) {
    if (def.multiValued) {
      throw ScimError.badRequest('invalidValue', `"${key}" names a sub-attribute of a multi-valued attribute; send "${def.name}" as an array`);
    }
    const c = coerceValue(target, value, `${def.name}.${target.name}`);
    if (c === undefined) return;
    const parent = container[def.name];
    container[def.name] = { ...(isPlainObject(parent) ? parent : {}), [target.name]: c };
    return;
  }
  const c = coerceValue(def, value, r.extensionId ? `${r.extensionId}:${def.name}` : def.name);
  if (c === undefined) return;
  assertSinglePrimary(def, c, def.name);
  const prev = container[def.name];
  container[def.name] = def.type === 'complex' && !def.multiValued && isPlainObject(prev) && isPlainObject(c) ? { ...prev, ...c } : c;
}

/**
 * Validate and canonicalise a POST/PUT body: attribute names take the schema's case (IdPs send
 * `UserName`), values are type-checked (wrong type → 400 invalidValue naming the attribute;
 * "True"/"False" strings become booleans), readOnly input (id, meta, groups) and the password are
 * dropped, dotted and URN-qualified keys are nested, unknown core attributes are ignored, and
 * objects under unknown `urn:` keys are kept as sent. `schemas` is recomputed: the core schema
 * plus each extension holding data (unknown schema URIs without data, e.g. Microsoft's
 * ADSCIM Group URI, are dropped). Required attributes must be present.
 */
export function normalizeResourceInput(json: unknown, schema: ResourceSchema, options: NormalizeOptions = {}): ScimResource {
  if (!isPlainObject(json)) throw ScimError.badRequest('invalidSyntax', 'Request body must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key.toLowerCase() === 'schemas') {
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
        throw ScimError.badRequest('invalidSyntax', '"schemas" must be an array of URI strings');
      }
      continue;
    }
    const ext = findExtension(schema, key);
    if (ext) {
      if (value === null || value === undefined) continue;
      if (!isPlainObject(value)) throw ScimError.badRequest('invalidValue', `"${ext.id}" must be an object`);
      for (const [k2, v2] of Object.entries(value)) {
        const p = tryParseAttributePath(k2);
        if (!p || p.uri !== undefined) continue;
        const r = resolvePath(schema, { ...p, uri: ext.id });
        if (r?.def) assign(out, r, v2, k2);
      }
      continue;
    }
    const path = tryParseAttributePath(key);
    const r = path ? resolvePath(schema, path) : undefined;
    if (!path || !r || r.wholeExtension) continue; // unknown core attribute: ignored
    if (!r.def) {
      // An extension this schema does not know: keep what was sent under its URN.
      if (value === null || value === undefined) continue;
      if (!r.sub && isPlainObject(value)) {
        const prev = out[key];
        out[key] = { ...(isPlainObject(prev) ? prev : {}), ...cloneJson(value) };
      } else {
        const container = isPlainObject(out[r.extensionId!]) ? (out[r.extensionId!] as Record<string, unknown>) : {};
        if (r.sub) {
          const parent = container[r.name];
          container[r.name] = { ...(isPlainObject(parent) ? parent : {}), [r.sub.name]: cloneJson(value) };
        } else {
          container[r.name] = cloneJson(value);
        }
        out[r.extensionId!] = container;
      }
      continue;
    }
    assign(out, r, value, key);
  }
  for (const [k, v] of Object.entries(out)) if (isPlainObject(v) && /^urn:/i.test(k) && Object.keys(v).length === 0) delete out[k];

  if (options.existing) carryImmutable(out, options.existing, schema);

  for (const def of schema.core.attributes) {
    if (!def.required || def.mutability === 'readOnly') continue;
    const v = out[def.name];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) {
      throw ScimError.badRequest('invalidValue', `Attribute "${def.name}" is required`);
    }
  }
  return { schemas: computeSchemas(out, schema), ...out };
}

function carryImmutable(out: Record<string, unknown>, existing: ScimResource, schema: ResourceSchema): void {
  const check = (defs: readonly AttributeDefinition[], extensionId: string | undefined): void => {
    const before = getContainer(existing, extensionId);
    if (!before) return;
    for (const def of defs) {
      if (def.mutability !== 'immutable') continue;
      const old = getCI(before, def.name);
      if (old === undefined) continue;
      let container = out;
      if (extensionId !== undefined) {
        const c = out[extensionId];
        container = isPlainObject(c) ? c : {};
        out[extensionId] = container;
      }
      const now = container[def.name];
      if (now === undefined) container[def.name] = cloneJson(old);
      else if (!deepEqual(now, old)) throw ScimError.badRequest('mutability', `Attribute "${def.name}" is immutable and cannot change`);
    }
  };
  check(coreAttributes(schema), undefined);
  for (const e of schema.extensions) check(e.schema.attributes, e.schema.id);
}

/** normalizeResourceInput for Users (defaults to the core + enterprise User schema). */
export function normalizeUserInput(json: unknown, schema: ResourceSchema = USER_RESOURCE_SCHEMA, options: NormalizeOptions = {}): ScimResource {
  return normalizeResourceInput(json, schema, options);
}

// ---------------------------------------------------------------------------------------------
// Projection (RFC 7644 §3.4.2.5, §3.9)

export interface ProjectionRequest {
  /** Comma-separated string or list: return only these (plus `returned: always`). Wins over excludedAttributes. */
  attributes?: string | readonly string[];
  /** Comma-separated string or list: return the defaults minus these (never removes `returned: always`). */
  excludedAttributes?: string | readonly string[];
}

interface Selection {
  whole: Set<string>;
  subs: Map<string, Set<string>>;
}

function parseSelection(input: string | readonly string[] | undefined, schema: ResourceSchema): Selection | undefined {
  if (input === undefined) return undefined;
  const items = (typeof input === 'string' ? [input] : [...input])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) return undefined;
  const sel: Selection = { whole: new Set(), subs: new Map() };
  for (const item of items) {
    const p = tryParseAttributePath(item);
    const r = p ? resolvePath(schema, p) : undefined;
    if (!r) continue; // unknown attributes are ignored
    const c = (r.extensionId ?? '').toLowerCase();
    if (r.wholeExtension) {
      sel.whole.add(`${c}|*`);
      continue;
    }
    const key = `${c}|${r.name.toLowerCase()}`;
    if (r.sub) {
      const set = sel.subs.get(key) ?? new Set<string>();
      set.add(r.sub.name.toLowerCase());
      sel.subs.set(key, set);
    } else {
      sel.whole.add(key);
    }
  }
  return sel;
}

function keepSubs(value: unknown, def: AttributeDefinition | undefined, keep: (name: string, sub: AttributeDefinition | undefined) => boolean): unknown {
  const one = (v: unknown): unknown => {
    if (!isPlainObject(v)) return cloneJson(v);
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (keep(k, findAttribute(def?.subAttributes, k))) o[k] = cloneJson(x);
    return o;
  };
  return Array.isArray(value) ? value.map(one) : one(value);
}

/** Apply `attributes` / `excludedAttributes` and the `returned` characteristic (never / request / always). */
export function projectAttributes(resource: ScimResource, request: ProjectionRequest, schema: ResourceSchema): ScimResource {
  const include = parseSelection(request.attributes, schema);
  const exclude = include ? undefined : parseSelection(request.excludedAttributes, schema);
  const out: ScimResource = {};

  const project = (target: Record<string, unknown>, key: string, value: unknown, def: AttributeDefinition | undefined, c: string): void => {
    const returned = def?.returned ?? 'default';
    if (returned === 'never') return;
    const aKey = `${c}|${(def?.name ?? key).toLowerCase()}`;
    const selectedSubs = include?.subs.get(aKey);
    const subReturned = (sub: AttributeDefinition | undefined): string => sub?.returned ?? 'default';
    if (include) {
      const whole = include.whole.has(aKey) || include.whole.has(`${c}|*`);
      if (returned === 'always' || whole) {
        target[key] = keepSubs(value, def, (_n, s) => subReturned(s) !== 'never');
      } else if (selectedSubs) {
        const projected = keepSubs(value, def, (n, s) => subReturned(s) !== 'never' && (selectedSubs.has(n.toLowerCase()) || subReturned(s) === 'always'));
        target[key] = projected;
      }
      return;
    }
    if (returned === 'request') return;
    if (exclude && returned !== 'always' && (exclude.whole.has(aKey) || exclude.whole.has(`${c}|*`))) return;
    const excludedSubs = exclude?.subs.get(aKey);
    target[key] = keepSubs(
      value,
      def,
      (n, s) => subReturned(s) !== 'never' && subReturned(s) !== 'request' && (!excludedSubs?.has(n.toLowerCase()) || subReturned(s) === 'always'),
    );
  };

  const core = coreAttributes(schema);
  for (const [key, value] of Object.entries(resource)) {
    if (key.toLowerCase() === 'schemas') {
      out[key] = cloneJson(value);
      continue;
    }
    const ext = findExtension(schema, key);
    if (ext || (/^urn:/i.test(key) && isPlainObject(value))) {
      if (!isPlainObject(value)) continue;
      const projected: Record<string, unknown> = {};
      const c = (ext?.id ?? key).toLowerCase();
      for (const [k, v] of Object.entries(value)) project(projected, k, v, findAttribute(ext?.attributes, k), c);
      if (Object.keys(projected).length > 0) out[key] = projected;
      continue;
    }
    project(out, key, value, findAttribute(core, key), '');
  }
  if (Array.isArray(out['schemas'])) {
    out['schemas'] = (out['schemas'] as unknown[]).filter(
      (s) => typeof s !== 'string' || s.toLowerCase() === schema.core.id.toLowerCase() || getCI(out, s) !== undefined,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sorting (RFC 7644 §3.4.2.3)

export type SortOrder = 'ascending' | 'descending';

function sortKey(resource: ScimResource, r: ResolvedPath): { value: unknown; def: AttributeDefinition | undefined } {
  const container = getContainer(resource, r.extensionId);
  let v = getCI(container, r.name);
  if (Array.isArray(v)) v = v.find((el) => isPlainObject(el) && el['primary'] === true) ?? v[0];
  if (r.sub) return { value: getCI(v, r.sub.name), def: r.sub.def };
  if (r.def?.type === 'complex') {
    const valueDef = findAttribute(r.def.subAttributes, 'value');
    return { value: valueDef ? getCI(v, 'value') : undefined, def: valueDef };
  }
  return { value: v, def: r.def };
}

function normalizedSortValue(value: unknown, def: AttributeDefinition | undefined): string | number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (def?.type === 'dateTime' && typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? value : t;
  }
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') return def?.caseExact ? value : value.toLowerCase();
  return undefined;
}

/**
 * Sort resources by an attribute path (multi-valued: the primary value, else the first). Returns
 * a new array. Resources without a value come last in either order; ties keep a stable order by
 * `id`, then input order, so paging is stable. No sortBy → input order.
 */
export function sortResources<T extends ScimResource>(list: readonly T[], sortBy: string | undefined, sortOrder: string | undefined, schema: ResourceSchema): T[] {
  let descending = false;
  if (sortOrder !== undefined && sortOrder !== '') {
    const o = sortOrder.toLowerCase();
    if (o !== 'ascending' && o !== 'descending') {
      throw ScimError.badRequest('invalidValue', `sortOrder must be "ascending" or "descending"; got ${JSON.stringify(sortOrder)}`);
    }
    descending = o === 'descending';
  }
  if (sortBy === undefined || sortBy.trim() === '') return [...list];
  const p = tryParseAttributePath(sortBy.trim());
  if (!p) throw ScimError.badRequest('invalidPath', `sortBy "${sortBy}" is not an attribute path`);
  const r = resolvePath(schema, p);
  const keyed = list.map((res, index) => {
    const k = r && !r.wholeExtension ? sortKey(res, r) : { value: undefined, def: undefined };
    return { res, index, key: normalizedSortValue(k.value, k.def), id: typeof res['id'] === 'string' ? res['id'] : '' };
  });
  keyed.sort((a, b) => {
    if (a.key === undefined || b.key === undefined) {
      if (a.key !== b.key) return a.key === undefined ? 1 : -1;
    } else if (a.key !== b.key) {
      const cmp = typeof a.key === typeof b.key ? (a.key < b.key ? -1 : 1) : typeof a.key === 'number' ? -1 : 1;
      return descending ? -cmp : cmp;
    }
    if (a.id !== b.id) return a.id < b.id ? -1 : 1;
    return a.index - b.index;
  });
  return keyed.map((k) => k.res);
}
