/** Attribute-path resolution against a ResourceSchema, case-insensitive as RFC 7643 §2.1 requires. */
import type { AttributeDefinition, ResourceSchema, SchemaDefinition } from './schema-types.ts';
import { COMMON_ATTRIBUTES } from './schemas.ts';

/** `[uri ":"] attribute ["." subAttribute]` (RFC 7644 §3.10 attrPath). */
export interface AttributePath {
  uri?: string;
  attribute: string;
  subAttribute?: string;
}

export interface ResolvedPath {
  /** Key of the extension object in the resource; undefined for core and common attributes. */
  extensionId?: string;
  /** True when extensionId is a schema of the ResourceSchema (false for unknown `urn:` extensions kept as-is). */
  knownExtension: boolean;
  /** The path names a whole extension object, e.g. `urn:…:enterprise:2.0:User`. */
  wholeExtension: boolean;
  /** Canonical attribute name ('' when wholeExtension). */
  name: string;
  /** Undefined when the attribute lives in an unknown extension (schemaless). */
  def?: AttributeDefinition;
  sub?: { name: string; def?: AttributeDefinition };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Definitions by lower-cased name, per list of definitions (the first of a name wins, as a search
 * would). Schemas are deep-frozen when built (schemas.ts), so a list never changes after it is indexed.
 */
const byLowerName = new WeakMap<readonly AttributeDefinition[], Map<string, AttributeDefinition>>();

export function findAttribute(defs: readonly AttributeDefinition[] | undefined, name: string): AttributeDefinition | undefined {
  if (!defs) return undefined;
  let index = byLowerName.get(defs);
  if (!index) {
    index = new Map();
    for (const d of defs) {
      const lower = d.name.toLowerCase();
      if (!index.has(lower)) index.set(lower, d);
    }
    byLowerName.set(defs, index);
  }
  return index.get(name.toLowerCase());
}

const coreOf = new WeakMap<ResourceSchema, readonly AttributeDefinition[]>();

/** Core attributes of a resource type plus the RFC 7643 §3.1 common attributes (one list per schema). */
export function coreAttributes(schema: ResourceSchema): readonly AttributeDefinition[] {
  let list = coreOf.get(schema);
  if (!list) {
    list = Object.freeze([...COMMON_ATTRIBUTES, ...schema.core.attributes]);
    coreOf.set(schema, list);
  }
  return list;
}

export function findExtension(schema: ResourceSchema, uri: string): SchemaDefinition | undefined {
  const lower = uri.toLowerCase();
  return schema.extensions.find((e) => e.schema.id.toLowerCase() === lower)?.schema;
}

/** Key of `obj` equal to `name` ignoring case (exact match preferred). */
export function findKey(obj: Record<string, unknown>, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

export function getCI(obj: unknown, name: string): unknown {
  if (!isPlainObject(obj)) return undefined;
  const key = findKey(obj, name);
  return key === undefined ? undefined : obj[key];
}

/** Set `obj[name]`, removing keys that differ from `name` only by case. */
export function setCI(obj: Record<string, unknown>, name: string, value: unknown): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k !== name && k.toLowerCase() === lower) delete obj[k];
  obj[name] = value; // an existing exact key keeps its position
}

export function deleteCI(obj: Record<string, unknown>, name: string): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) delete obj[k];
}

function resolveIn(
  defs: readonly AttributeDefinition[],
  path: AttributePath,
  base: Pick<ResolvedPath, 'extensionId' | 'knownExtension'>,
): ResolvedPath | undefined {
  const def = findAttribute(defs, path.attribute);
  if (!def) return undefined;
  const resolved: ResolvedPath = { ...base, wholeExtension: false, name: def.name, def };
  if (path.subAttribute !== undefined) {
    const sub = findAttribute(def.subAttributes, path.subAttribute);
    if (!sub) return undefined;
    resolved.sub = { name: sub.name, def: sub };
  }
  return resolved;
}

/**
 * Resolve a path. Returns undefined for an unknown attribute of the core schema or of a known
 * extension. Paths under an unknown `urn:` are resolved schemaless (def undefined), so custom
 * extension data an IdP sends can be stored and mapped later.
 */
export function resolvePath(schema: ResourceSchema, path: AttributePath): ResolvedPath | undefined {
  // resolutions are pure in (schema, path): remembered per schema, frozen since they are shared
  let cache = resolutions.get(schema);
  if (!cache) { cache = new Map(); resolutions.set(schema, cache); }
  const key = `${path.uri ?? ''}\u0000${path.attribute}\u0000${path.subAttribute ?? '\u0000'}`;
  let r = cache.get(key);
  if (r === undefined && !cache.has(key)) {
    r = resolveUncached(schema, path);
    if (r) { if (r.sub) Object.freeze(r.sub); Object.freeze(r); }
    // bounded: names an IdP makes up must not grow it without end
    if (cache.size >= MAX_RESOLUTIONS) cache.clear();
    cache.set(key, r);
  }
  return r;
}

const MAX_RESOLUTIONS = 2_000;
const resolutions = new WeakMap<ResourceSchema, Map<string, ResolvedPath | undefined>>();

function resolveUncached(schema: ResourceSchema, path: AttributePath): ResolvedPath | undefined {
  if (path.uri === undefined) return resolveIn(coreAttributes(schema), path, { knownExtension: false });
  const uriLower = path.uri.toLowerCase();
  if (uriLower === schema.core.id.toLowerCase()) return resolveIn(coreAttributes(schema), path, { knownExtension: false });
  const ext = findExtension(schema, path.uri);
  if (ext) return resolveIn(ext.attributes, path, { extensionId: ext.id, knownExtension: true });
  if (path.subAttribute === undefined) {
    const whole = findExtension(schema, `${path.uri}:${path.attribute}`);
    if (whole) return { extensionId: whole.id, knownExtension: true, wholeExtension: true, name: '' };
  }
  const resolved: ResolvedPath = { extensionId: path.uri, knownExtension: false, wholeExtension: false, name: path.attribute };
  if (path.subAttribute !== undefined) resolved.sub = { name: path.subAttribute };
  return resolved;
}

/** Canonical text of a resolved path: `name`, `name.sub`, `urn…:name.sub`, or the extension URN. */
export function formatResolved(r: ResolvedPath): string {
  if (r.wholeExtension) return r.extensionId ?? '';
  const local = r.sub ? `${r.name}.${r.sub.name}` : r.name;
  return r.extensionId ? `${r.extensionId}:${local}` : local;
}

export function formatPath(p: AttributePath): string {
  const local = p.subAttribute !== undefined ? `${p.attribute}.${p.subAttribute}` : p.attribute;
  return p.uri !== undefined ? `${p.uri}:${local}` : local;
}

/** The object holding an attribute: the resource itself, or its extension object. */
export function getContainer(resource: Record<string, unknown>, extensionId: string | undefined): Record<string, unknown> | undefined {
  if (extensionId === undefined) return resource;
  const c = getCI(resource, extensionId);
  return isPlainObject(c) ? c : undefined;
}

/** Known-extension ids and unknown `urn:` object keys present (non-empty) in the resource, canonical case. */
export function extensionKeys(resource: Record<string, unknown>, schema: ResourceSchema): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(resource)) {
    if (!/^urn:/i.test(k) || !isPlainObject(v) || Object.keys(v).length === 0) continue;
    out.push(findExtension(schema, k)?.id ?? k);
  }
  return out;
}

/** `schemas` for a stored resource: the core schema plus each extension that holds data. */
export function computeSchemas(resource: Record<string, unknown>, schema: ResourceSchema): string[] {
  return [schema.core.id, ...extensionKeys(resource, schema)];
}
