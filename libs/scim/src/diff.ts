/**
 * Leaf-level differences between two versions of a resource, for the provisioning log.
 *
 * Path format (a SCIM path that `parsePatchPath` accepts):
 *  - simple attributes: `userName`, `active`
 *  - sub-attributes: `name.givenName`
 *  - extension attributes: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`,
 *    `urn:…:User:manager.value`
 *  - multi-valued complex attributes whose values all carry distinct `type`s are keyed by type,
 *    down to the sub-attribute: `emails[type eq "work"].value`
 *  - otherwise, when all values carry distinct `value`s (members, roles …), by value:
 *    an added or removed value is one change `members[value eq "u1"]` with the whole value
 *    object as newValue / oldValue; a change inside it is `members[value eq "u1"].display`
 *  - anything else (simple multi-valued, duplicate keys): one change for the whole attribute.
 *
 * Absent, null and empty arrays are the same state (RFC 7643 §2.5): absent is reported as null.
 * `meta` and `schemas` are not compared. Changes are sorted by path.
 */
import { isPlainObject } from './resolve.ts';
import { deepEqual } from './util.ts';

export interface AttributeChange {
  path: string;
  /** null when the attribute had no value */
  oldValue: unknown;
  /** null when the attribute has no value now */
  newValue: unknown;
}

const IGNORED = new Set(['meta', 'schemas']);

function absent(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

function distinctKeys(list: unknown[], key: string): string[] | undefined {
  const keys: string[] = [];
  for (const el of list) {
    if (!isPlainObject(el)) return undefined;
    const k = el[key];
    if (typeof k !== 'string' || k === '') return undefined;
    const lower = k.toLowerCase();
    if (keys.some((x) => x.toLowerCase() === lower)) return undefined;
    keys.push(k);
  }
  return keys;
}

export function diffResources(before: Record<string, unknown> | null | undefined, after: Record<string, unknown> | null | undefined): AttributeChange[] {
  const changes: AttributeChange[] = [];

  const push = (path: string, a: unknown, b: unknown): void => {
    changes.push({ path, oldValue: absent(a) ? null : a, newValue: absent(b) ? null : b });
  };

  const walkObject = (a: Record<string, unknown>, b: Record<string, unknown>, child: (key: string) => string, top: boolean): void => {
    const keys = new Map<string, string>();
    for (const k of [...Object.keys(b), ...Object.keys(a)]) if (!keys.has(k.toLowerCase())) keys.set(k.toLowerCase(), k);
    for (const [lower, name] of keys) {
      if (top && IGNORED.has(lower)) continue;
      const ka = Object.keys(a).find((k) => k.toLowerCase() === lower);
      const kb = Object.keys(b).find((k) => k.toLowerCase() === lower);
      const va = ka === undefined ? undefined : a[ka];
      const vb = kb === undefined ? undefined : b[kb];
      if (top && /^urn:/i.test(name) && (isPlainObject(va) || isPlainObject(vb))) {
        walkObject(isPlainObject(va) ? va : {}, isPlainObject(vb) ? vb : {}, (k) => `${name}:${k}`, false);
      } else {
        walk(child(name), va, vb);
      }
    }
  };

  const walkArray = (path: string, a: unknown[], b: unknown[]): void => {
    for (const key of ['type', 'value']) {
      const ka = distinctKeys(a, key);
      const kb = distinctKeys(b, key);
      if (!ka || !kb) continue;
      const find = (list: unknown[], k: string): Record<string, unknown> | undefined =>
        list.find((el) => isPlainObject(el) && String(el[key]).toLowerCase() === k.toLowerCase()) as Record<string, unknown> | undefined;
      const all = [...kb, ...ka.filter((k) => !kb.some((x) => x.toLowerCase() === k.toLowerCase()))];
      for (const k of all) {
        const ea = find(a, k);
        const eb = find(b, k);
        const elPath = `${path}[${key} eq ${JSON.stringify(k)}]`;
        if (key === 'value' && (!ea || !eb)) push(elPath, ea, eb);
        else walkObject(ea ?? {}, eb ?? {}, (sub) => `${elPath}.${sub}`, false);
      }
      return;
    }
    if (!deepEqual(a, b)) push(path, a, b);
  };

  const walk = (path: string, a: unknown, b: unknown): void => {
    if (absent(a) && absent(b)) return;
    if ((isPlainObject(a) || absent(a)) && (isPlainObject(b) || absent(b)) && (isPlainObject(a) || isPlainObject(b))) {
      walkObject(isPlainObject(a) ? a : {}, isPlainObject(b) ? b : {}, (k) => `${path}.${k}`, false);
      return;
    }
    if ((Array.isArray(a) || absent(a)) && (Array.isArray(b) || absent(b))) {
      walkArray(path, Array.isArray(a) ? a : [], Array.isArray(b) ? b : []);
      return;
    }
    if (!deepEqual(a, b)) push(path, a, b);
  };

  walkObject(before ?? {}, after ?? {}, (k) => k, true);
  return changes.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}
