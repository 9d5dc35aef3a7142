/**
 * The mappable IdP attributes. Ids are stable strings stored in mappings.
 * Custom extension attributes are addressed by their full URN path
 * ("urn:example:params:scim:schemas:extension:acme:2.0:User:badgeColour").
 */
import { entraCatalogueView } from './entra-catalogue.ts';

export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export type AttributeGroup = 'Name' | 'Contact' | 'Organisation' | 'Account' | 'Address' | 'Custom';
export interface CatalogueEntry { id: string; label: string; group: AttributeGroup; scimPath: string }

type Res = Record<string, unknown>;
const obj = (v: unknown): Res | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Res) : undefined);
const arr = (v: unknown): Res[] => (Array.isArray(v) ? v.filter((x): x is Res => !!obj(x)) : []);
/** Attribute names are case-insensitive in SCIM: find a key ignoring case. */
function key(o: Res | undefined, name: string): unknown {
  if (!o) return undefined;
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}
const path = (o: Res, ...names: string[]): unknown => names.reduce<unknown>((cur, n) => key(obj(cur), n), o);
function typed(o: Res, attr: string, type: string, sub = 'value'): unknown {
  const items = arr(key(o, attr));
  const hit = items.find((i) => String(key(i, 'type') ?? '').toLowerCase() === type);
  return hit ? key(hit, sub) : undefined;
}
function primary(o: Res, attr: string): unknown {
  const items = arr(key(o, attr));
  const hit = items.find((i) => key(i, 'primary') === true || key(i, 'primary') === 'true') ?? items[0];
  return hit ? key(hit, 'value') : undefined;
}
const ent = (o: Res, ...names: string[]) => path(o, ENTERPRISE, ...names);

const entries: Array<CatalogueEntry & { get: (r: Res) => unknown }> = [
  { id: 'userName', label: 'Username', group: 'Account', scimPath: 'userName', get: (r) => key(r, 'userName') },
  { id: 'name.givenName', label: 'Given name', group: 'Name', scimPath: 'name.givenName', get: (r) => path(r, 'name', 'givenName') },
  { id: 'name.familyName', label: 'Family name', group: 'Name', scimPath: 'name.familyName', get: (r) => path(r, 'name', 'familyName') },
  { id: 'name.middleName', label: 'Middle name', group: 'Name', scimPath: 'name.middleName', get: (r) => path(r, 'name', 'middleName') },
  { id: 'name.honorificPrefix', label: 'Honorific prefix', group: 'Name', scimPath: 'name.honorificPrefix', get: (r) => path(r, 'name', 'honorificPrefix') },
  { id: 'name.honorificSuffix', label: 'Honorific suffix', group: 'Name', scimPath: 'name.honorificSuffix', get: (r) => path(r, 'name', 'honorificSuffix') },
  { id: 'displayName', label: 'Display name', group: 'Name', scimPath: 'displayName', get: (r) => key(r, 'displayName') },
  { id: 'nickName', label: 'Nickname', group: 'Name', scimPath: 'nickName', get: (r) => key(r, 'nickName') },
  { id: 'emails.work', label: 'Work email', group: 'Contact', scimPath: 'emails[type eq "work"].value', get: (r) => typed(r, 'emails', 'work') },
  { id: 'emails.home', label: 'Home email', group: 'Contact', scimPath: 'emails[type eq "home"].value', get: (r) => typed(r, 'emails', 'home') },
  { id: 'emails.other', label: 'Other email', group: 'Contact', scimPath: 'emails[type eq "other"].value', get: (r) => typed(r, 'emails', 'other') },
  { id: 'emails.primary', label: 'Primary email', group: 'Contact', scimPath: 'emails[primary eq true].value', get: (r) => primary(r, 'emails') },
  { id: 'phoneNumbers.work', label: 'Work phone', group: 'Contact', scimPath: 'phoneNumbers[type eq "work"].value', get: (r) => typed(r, 'phoneNumbers', 'work') },
  { id: 'phoneNumbers.mobile', label: 'Mobile phone', group: 'Contact', scimPath: 'phoneNumbers[type eq "mobile"].value', get: (r) => typed(r, 'phoneNumbers', 'mobile') },
  { id: 'phoneNumbers.other', label: 'Other phone', group: 'Contact', scimPath: 'phoneNumbers[type eq "other"].value', get: (r) => typed(r, 'phoneNumbers', 'other') },
  { id: 'addresses.work.streetAddress', label: 'Work street address', group: 'Address', scimPath: 'addresses[type eq "work"].streetAddress', get: (r) => typed(r, 'addresses', 'work', 'streetAddress') },
  { id: 'addresses.work.locality', label: 'Work city', group: 'Address', scimPath: 'addresses[type eq "work"].locality', get: (r) => typed(r, 'addresses', 'work', 'locality') },
  { id: 'addresses.work.region', label: 'Work region', group: 'Address', scimPath: 'addresses[type eq "work"].region', get: (r) => typed(r, 'addresses', 'work', 'region') },
  { id: 'addresses.work.postalCode', label: 'Work postal code', group: 'Address', scimPath: 'addresses[type eq "work"].postalCode', get: (r) => typed(r, 'addresses', 'work', 'postalCode') },
  { id: 'addresses.work.country', label: 'Work country', group: 'Address', scimPath: 'addresses[type eq "work"].country', get: (r) => typed(r, 'addresses', 'work', 'country') },
  { id: 'title', label: 'Job title', group: 'Organisation', scimPath: 'title', get: (r) => key(r, 'title') },
  { id: 'userType', label: 'User type', group: 'Account', scimPath: 'userType', get: (r) => key(r, 'userType') },
  { id: 'preferredLanguage', label: 'Preferred language', group: 'Account', scimPath: 'preferredLanguage', get: (r) => key(r, 'preferredLanguage') },
  { id: 'locale', label: 'Locale', group: 'Account', scimPath: 'locale', get: (r) => key(r, 'locale') },
  { id: 'timezone', label: 'Time zone', group: 'Account', scimPath: 'timezone', get: (r) => key(r, 'timezone') },
  { id: 'active', label: 'Active', group: 'Account', scimPath: 'active', get: (r) => key(r, 'active') },
  { id: 'externalId', label: 'External id', group: 'Account', scimPath: 'externalId', get: (r) => key(r, 'externalId') },
  { id: 'employeeNumber', label: 'Employee number', group: 'Organisation', scimPath: `${ENTERPRISE}:employeeNumber`, get: (r) => ent(r, 'employeeNumber') },
  { id: 'costCenter', label: 'Cost center', group: 'Organisation', scimPath: `${ENTERPRISE}:costCenter`, get: (r) => ent(r, 'costCenter') },
  { id: 'organization', label: 'Organization', group: 'Organisation', scimPath: `${ENTERPRISE}:organization`, get: (r) => ent(r, 'organization') },
  { id: 'division', label: 'Division', group: 'Organisation', scimPath: `${ENTERPRISE}:division`, get: (r) => ent(r, 'division') },
  { id: 'department', label: 'Department', group: 'Organisation', scimPath: `${ENTERPRISE}:department`, get: (r) => ent(r, 'department') },
  { id: 'manager.value', label: 'Manager id', group: 'Organisation', scimPath: `${ENTERPRISE}:manager.value`, get: (r) => ent(r, 'manager', 'value') },
  { id: 'manager.displayName', label: 'Manager name', group: 'Organisation', scimPath: `${ENTERPRISE}:manager.displayName`, get: (r) => ent(r, 'manager', 'displayName') },
];

const byId = new Map(entries.map((e) => [e.id, e]));

export const catalogue: CatalogueEntry[] = entries.map(({ get: _get, ...rest }) => rest);

const CUSTOM = /^urn:[^\s]+:[A-Za-z_][\w$-]*(\.[A-Za-z_][\w$-]*)?$/;

/** A custom source is a URN-qualified attribute of an extension schema other than the enterprise one. */
export function isCustomSource(id: string): boolean {
  return CUSTOM.test(id) && !id.startsWith(`${ENTERPRISE}:`) && !id.startsWith('urn:ietf:params:scim:schemas:core:');
}

export function isKnownSource(id: string): boolean {
  return byId.has(id) || isCustomSource(id);
}

/** Split "urn:...:Schema:attr.sub" into the schema URN and the attribute path. */
function splitCustom(id: string): { urn: string; attr: string[] } {
  const lastColon = id.lastIndexOf(':');
  return { urn: id.slice(0, lastColon), attr: id.slice(lastColon + 1).split('.') };
}

export function extractAttribute(resource: Res, id: string): unknown {
  const entry = byId.get(id);
  if (entry) return entry.get(resource);
  if (isCustomSource(id)) {
    const { urn, attr } = splitCustom(id);
    return path(resource, urn, ...attr);
  }
  return undefined;
}

/** Custom extension attributes present on a resource, as mappable source ids. */
export function customSourcesOf(resource: Res): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(resource)) {
    if (!k.startsWith('urn:') || k === ENTERPRISE || k.startsWith('urn:ietf:params:scim:schemas:core:')) continue;
    const o = obj(v);
    if (!o) continue;
    for (const [a, av] of Object.entries(o)) {
      if (obj(av)) for (const s of Object.keys(obj(av)!)) out.push(`${k}:${a}.${s}`);
      else out.push(`${k}:${a}`);
    }
  }
  return out;
}

/**
 * The attribute catalogue, flat and grouped (Name, Contact, Organisation, Account, Address, Custom):
 * SCIM attributes (`source: "scim"`) and Entra ID properties (`source: "entra"`, ids are Graph
 * paths), plus the directory extensions a list's Entra connection names when given.
 */
export function catalogueView(entraExtensions: readonly string[] = []) {
  const order: AttributeGroup[] = ['Name', 'Contact', 'Organisation', 'Account', 'Address', 'Custom'];
  const all: Array<{ id: string; label: string; group: AttributeGroup; source: 'scim' | 'entra' }> = [
    ...catalogue.map((c) => ({ ...c, source: 'scim' as const })),
    ...entraCatalogueView(entraExtensions),
  ];
  return {
    count: all.length,
    attributes: all,
    groups: order.map((name) => ({ name, attributes: all.filter((c) => c.group === name) })),
    custom: 'custom extension attributes are addressed by their URN path, e.g. "urn:example:params:scim:schemas:extension:acme:2.0:User:badge"; those a list\'s people carry are listed by GET /lists/{id}/mappings (customAttributes)',
  };
}
