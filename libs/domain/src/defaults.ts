import type { FieldMapping, SchemaField } from '@muster/contracts';

/** The 9 default fields created when SCIM is connected (seeds: captrid-scim-admin-guide). */
export const DEFAULT_FIELDS: SchemaField[] = [
  { key: 'firstName', label: 'First Name', type: 'text', required: false, multiValued: false },
  { key: 'lastName', label: 'Last Name', type: 'text', required: false, multiValued: false },
  { key: 'email', label: 'Email', type: 'email', required: false, multiValued: false },
  { key: 'displayName', label: 'Display Name', type: 'text', required: false, multiValued: false },
  { key: 'employeeNumber', label: 'Employee Number', type: 'text', required: false, multiValued: false },
  { key: 'primaryEmail', label: 'Primary Email', type: 'email', required: false, multiValued: false },
  { key: 'phone', label: 'Phone', type: 'phone', required: false, multiValued: false },
  { key: 'jobTitle', label: 'Job Title', type: 'text', required: false, multiValued: false },
  { key: 'department', label: 'Department', type: 'text', required: false, multiValued: false },
];

export function defaultMappings(): FieldMapping[] {
  return [
    { source: 'name.givenName', field: 'firstName', enabled: true, transform: 'direct' },
    { source: 'name.familyName', field: 'lastName', enabled: true, transform: 'direct' },
    { source: 'emails.work', field: 'email', enabled: true, transform: 'direct' },
    { source: 'displayName', field: 'displayName', enabled: true, transform: 'direct' },
    { source: 'employeeNumber', field: 'employeeNumber', enabled: true, transform: 'direct' },
    { source: 'emails.primary', field: 'primaryEmail', enabled: true, transform: 'direct' },
    { source: 'phoneNumbers.work', field: 'phone', enabled: true, transform: 'direct' },
    { source: 'title', field: 'jobTitle', enabled: true, transform: 'direct' },
    { source: 'department', field: 'department', enabled: true, transform: 'direct' },
  ];
}

/**
 * Default mappings when Entra directory sync is connected: Graph user properties (ids are their
 * Graph paths) into the same 9 default fields. Email falls back to the userPrincipalName, Phone to
 * the first business phone.
 */
export function entraDefaultMappings(): FieldMapping[] {
  return [
    { source: 'givenName', field: 'firstName', enabled: true, transform: 'direct' },
    { source: 'surname', field: 'lastName', enabled: true, transform: 'direct' },
    { source: 'mail', field: 'email', enabled: true, transform: 'direct', fallback: 'userPrincipalName' },
    { source: 'displayName', field: 'displayName', enabled: true, transform: 'direct' },
    { source: 'employeeId', field: 'employeeNumber', enabled: true, transform: 'direct' },
    { source: 'mail', field: 'primaryEmail', enabled: true, transform: 'direct', fallback: 'userPrincipalName' },
    { source: 'mobilePhone', field: 'phone', enabled: true, transform: 'direct', fallback: 'businessPhones' },
    { source: 'jobTitle', field: 'jobTitle', enabled: true, transform: 'direct' },
    { source: 'department', field: 'department', enabled: true, transform: 'direct' },
  ];
}

/** Which list field holds the visible unique identifier for each choice. */
export const UNIQUE_IDENTIFIER_FIELD = { employeeNumber: 'employeeNumber', userName: 'userName', email: 'email' } as const;
