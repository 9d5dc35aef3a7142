/**
 * The mappable Entra ID (Microsoft Graph) user properties: ids are their Graph property paths, so
 * what an admin maps is what the sync selects. Directory extensions are top-level properties named
 * `extension_<appIdWithoutDashes>_<name>`; a list can map those its Entra connection names.
 */
import type { AttributeGroup } from './catalogue.ts';

export interface EntraCatalogueEntry { id: string; label: string; group: AttributeGroup; source: 'entra'; graphPath: string }

type Res = Record<string, unknown>;
const isObj = (v: unknown): v is Res => !!v && typeof v === 'object' && !Array.isArray(v);

const plain: Array<[string, string, AttributeGroup]> = [
  ['givenName', 'Given name', 'Name'], ['surname', 'Surname', 'Name'], ['displayName', 'Display name', 'Name'],
  ['mail', 'Mail', 'Contact'], ['userPrincipalName', 'User principal name', 'Account'], ['employeeId', 'Employee ID', 'Organisation'],
  ['jobTitle', 'Job title', 'Organisation'], ['department', 'Department', 'Organisation'], ['companyName', 'Company name', 'Organisation'],
  ['officeLocation', 'Office location', 'Organisation'], ['mobilePhone', 'Mobile phone', 'Contact'],
  ['businessPhones', 'Business phone (the first)', 'Contact'], ['employeeType', 'Employee type', 'Organisation'],
  ['city', 'City', 'Address'], ['country', 'Country', 'Address'],
];

export const entraCatalogue: EntraCatalogueEntry[] = [
  ...plain.map(([id, label, group]) => ({ id, label, group, source: 'entra' as const, graphPath: id })),
  ...Array.from({ length: 15 }, (_, i) => {
    const id = `onPremisesExtensionAttributes.extensionAttribute${i + 1}`;
    return { id, label: `Extension attribute ${i + 1}`, group: 'Custom' as const, source: 'entra' as const, graphPath: id };
  }),
];

const known = new Set(entraCatalogue.map((e) => e.id));

/** a directory extension's full Graph name: extension_<32 hex digits of the app id>_<name> */
export const DIRECTORY_EXTENSION = /^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]{1,100}$/;

/** the Graph property names a sync selects for the mapped sources (plus what it needs itself) */
export const ENTRA_BASE_SELECT = ['id', 'accountEnabled', ...plain.map(([id]) => id), 'onPremisesExtensionAttributes'];

/** whether `id` is an Entra source (a catalogue entry, or one of the connection's directory extensions) */
export function isEntraSource(id: string, extensions: readonly string[] = []): boolean {
  return known.has(id) || extensions.includes(id);
}

/** the value of an Entra source in a Graph user object (businessPhones: the first) */
export function extractEntraAttribute(user: Res, id: string): unknown {
  if (id === 'businessPhones') {
    const phones = user.businessPhones;
    return Array.isArray(phones) ? phones.find((p) => typeof p === 'string' && p.trim() !== '') : undefined;
  }
  const dot = id.indexOf('.');
  if (dot < 0) return user[id];
  const outer = user[id.slice(0, dot)];
  return isObj(outer) ? outer[id.slice(dot + 1)] : undefined;
}

/** the Entra entries, and a list's directory extensions, as catalogue entries */
export function entraCatalogueView(extensions: readonly string[] = []) {
  return [
    ...entraCatalogue,
    ...extensions.map((id) => ({ id, label: id.replace(/^extension_[0-9a-fA-F]{32}_/, ''), group: 'Custom' as const, source: 'entra' as const, graphPath: id })),
  ];
}
