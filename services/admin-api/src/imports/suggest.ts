/**
 * The mapping an upload suggests: each column to the list's field whose key, label or a common
 * alias matches its header (case, spaces and punctuation aside). A field is suggested for one
 * column at most (the first); a column nothing matches is null.
 */
import type { SchemaField } from '@muster/contracts';

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** what spreadsheets and SIS/HR exports call the default fields */
const ALIASES: Record<string, string[]> = {
  firstName: ['firstname', 'givenname', 'forename', 'first', 'fname', 'christianname'],
  lastName: ['lastname', 'surname', 'familyname', 'last', 'lname'],
  email: ['email', 'emailaddress', 'mail', 'workemail'],
  primaryEmail: ['primaryemail', 'primarymail'],
  displayName: ['displayname', 'fullname', 'name', 'preferredname'],
  employeeNumber: ['employeenumber', 'employeeid', 'employeeno', 'staffid', 'staffnumber', 'staffno', 'personnelnumber', 'payrollnumber', 'studentid', 'studentnumber', 'pupilid', 'upn'],
  phone: ['phone', 'phonenumber', 'telephone', 'tel', 'mobile', 'mobilephone', 'cell'],
  jobTitle: ['jobtitle', 'title', 'position', 'role'],
  department: ['department', 'dept', 'division', 'team', 'faculty'],
};

export function suggestMapping(columns: string[], fields: SchemaField[]): Record<string, string | null> {
  const candidates = fields.map((f) => ({ key: f.key, names: new Set([norm(f.key), norm(f.label), ...(ALIASES[f.key] ?? [])]) }));
  const taken = new Set<string>();
  const out: Record<string, string | null> = {};
  for (const column of columns) {
    const n = norm(column);
    const hit = candidates.find((c) => !taken.has(c.key) && c.names.has(n));
    out[column] = hit ? hit.key : null;
    if (hit) taken.add(hit.key);
  }
  return out;
}
