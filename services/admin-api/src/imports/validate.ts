/**
 * Validating an import: the file's rows through the mapping service, checked against each other
 * (duplicates) and against the roster (who they are), into the changes of a changeset, the first
 * fault of each faulty row, and the summary.
 *
 * Per row, the first fault found, in this order: `ragged_row`, `missing_identifier` (an empty
 * identifier is only that, never a duplicate), `duplicate_in_file` (every row of a group sharing an
 * identifier), the cell faults the mapping service finds (`invalid_*`, `too_long`), then the roster
 * checks (`not_on_list` on a synced list, `missing_required`). Faulty rows are left out.
 */
import type { ChangeField, ImportMapping, ImportRowError, ImportSummary, ProposedChange, SchemaField, Transform } from '@muster/contracts';
import { changeIdAt, reviewPerson, syncedFieldKeys, type ListState, type MasterPerson, type Roster } from '@muster/domain';
import { applyTransform, type CsvRowResult } from '@muster/mapping-contract';
import { readRecords, type FileShape } from './parse.ts';

/** rows per request to the mapping service */
const BATCH = 1_000;

export interface RosterPerson extends MasterPerson { personId: string }

export interface ValidationInput {
  path: string;
  shape: FileShape;
  columns: string[];
  list: ListState;
  mapping: ImportMapping;
  /** everyone on the list now, and the log position that was read at */
  roster: { people: RosterPerson[]; position: number };
  mapRows: (rows: string[][]) => Promise<CsvRowResult[]>;
  newId: () => string;
  onProgress?: (done: number) => void;
}

export interface ValidationResult { summary: ImportSummary; errors: ImportRowError[]; changes: ProposedChange[] }

/** one data row as read: its identifier, and its fields or first fault */
interface Row { n: number; uid: string; fields: Record<string, unknown> | null; error: ImportRowError | null }

export function identifierOf(mapping: ImportMapping): { column: string; field: string; transform: Transform } {
  const u = mapping.uniqueIdentifier;
  const mapped = mapping.columns[u.column];
  return { column: u.column, field: (u.field ?? mapped?.field)!, transform: u.transform ?? mapped?.transform ?? 'direct' };
}

const uidText = (v: unknown, t: Transform) => (v === null || v === undefined ? '' : String(applyTransform(String(v), t)).trim());

async function readRows(input: ValidationInput): Promise<Row[]> {
  const { columns, mapping } = input;
  const uid = identifierOf(mapping);
  const uidIndex = columns.indexOf(uid.column);
  const rows: Row[] = [];
  let batch: Array<{ row: Row; cells: string[] }> = [];
  const flush = async () => {
    if (!batch.length) return;
    const results = await input.mapRows(batch.map((b) => b.cells));
    results.forEach((r, i) => {
      const row = batch[i].row;
      if ('fault' in r) row.error = { row: row.n, column: r.fault.column, field: r.fault.field, code: r.fault.code, message: r.fault.message, value: r.fault.value };
      else row.fields = r.fields;
    });
    batch = [];
    input.onProgress?.(rows.length);
  };
  let n = 0;
  let header = true;
  for await (const cells of readRecords(input.path, input.shape)) {
    if (header) { header = false; continue; }
    n++;
    const row: Row = { n, uid: '', fields: null, error: null };
    rows.push(row);
    if (cells.length !== columns.length) {
      row.error = { row: n, column: null, field: null, code: 'ragged_row', message: `the row has ${cells.length} cell${cells.length === 1 ? '' : 's'}; the header has ${columns.length}`, value: null };
      continue;
    }
    row.uid = uidText(cells[uidIndex], uid.transform);
    if (!row.uid) {
      row.error = { row: n, column: uid.column, field: uid.field, code: 'missing_identifier', message: `column "${uid.column}" (the identifier) is empty`, value: cells[uidIndex] };
      continue;
    }
    batch.push({ row, cells });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return rows;
}

/** every row of a group sharing an identifier is a duplicate (which of them is right is the admin's call) */
function markDuplicates(rows: Row[]): number {
  const first = new Map<string, number>();
  const count = new Map<string, number>();
  for (const r of rows) {
    if (!r.uid) continue;
    if (!first.has(r.uid)) first.set(r.uid, r.n);
    count.set(r.uid, (count.get(r.uid) ?? 0) + 1);
  }
  let dup = 0;
  for (const r of rows) {
    if (!r.uid || count.get(r.uid)! < 2) continue;
    dup++;
    r.fields = null;
    r.error = { row: r.n, column: null, field: null, code: 'duplicate_in_file', message: `the identifier "${r.uid}" is on ${count.get(r.uid)} rows (first on row ${first.get(r.uid)})`, value: r.uid, firstRow: first.get(r.uid)! };
  }
  return dup;
}

function missingRequired(fields: Record<string, unknown>, schema: SchemaField[], creating: boolean): SchemaField | undefined {
  return schema.find((f) => f.required && (creating ? !Object.hasOwn(fields, f.key) || fields[f.key] === null : Object.hasOwn(fields, f.key) && fields[f.key] === null));
}

export async function validate(input: ValidationInput): Promise<ValidationResult> {
  const { list, mapping } = input;
  const uid = identifierOf(mapping);
  const rows = await readRows(input);
  const duplicateInFile = markDuplicates(rows);
  const rosterView: Roster = { people: new Map(input.roster.people.map((p) => [p.personId, p])), position: input.roster.position, syncedFields: syncedFieldKeys(list), provider: list.sync?.provider ?? null };
  const byUid = new Map<string, RosterPerson>();
  for (const p of input.roster.people) {
    const key = uidText(p.fields[uid.field], uid.transform);
    if (key && !byUid.has(key)) byUid.set(key, p);
  }
  const summary: ImportSummary = { rows: rows.length, create: 0, update: 0, unchanged: 0, deactivate: 0, reactivate: 0, invalid: 0, duplicateInFile };
  const changes: ProposedChange[] = [];
  const errors: ImportRowError[] = [];
  const seen = new Set<string>();
  const fault = (r: Row, e: Omit<ImportRowError, 'row'>) => { r.error = { row: r.n, ...e }; };
  for (const [i, r] of rows.entries()) {
    if (i % 2_000 === 1_999) await new Promise((res) => setImmediate(res)); // a long file must not hold the event loop
    const match = r.uid ? byUid.get(r.uid) : undefined;
    if (match) seen.add(match.personId);
    if (!r.error && r.fields) {
      const fields = Object.hasOwn(r.fields, uid.field) ? r.fields : { ...r.fields, [uid.field]: r.uid };
      if (!match && list.sync) {
        fault(r, { column: uid.column, field: uid.field, code: 'not_on_list', message: `no one on this ${list.sync.provider.toUpperCase()}-synced list has ${uid.field} "${r.uid}"; people are added by the identity provider`, value: r.uid });
      } else {
        const req = missingRequired(fields, list.fields, !match);
        if (req) fault(r, { column: Object.entries(mapping.columns).find(([, m]) => m.field === req.key)?.[0] ?? null, field: req.key, code: 'missing_required', message: `field "${req.key}" is required`, value: null });
        else if (!match) {
          const cf: ChangeField[] = Object.entries(fields).filter(([, v]) => v !== null).map(([field, v]) => ({ field, base: null, master: null, proposed: v, conflict: false, locked: false, lockedBy: null, choice: null }));
          changes.push({ id: changeIdAt(changes.length), personId: input.newId(), kind: 'create', masterRevision: -1, fields: cf, status: null });
          summary.create++;
        } else {
          const change = reviewPerson(match.personId, { fields: match.fields, status: match.status }, { fields: { ...match.fields, ...fields }, status: 'active' }, match, rosterView);
          if (!change) summary.unchanged++;
          else {
            changes.push({ id: changeIdAt(changes.length), ...change });
            if (change.kind === 'reactivate') summary.reactivate++;
            else summary.update++;
          }
        }
      }
    }
    if (r.error) { errors.push(r.error); summary.invalid++; }
  }
  // people on the list the file leaves out: deactivated when asked (never on a synced list, whose IdP owns status)
  if (mapping.missing === 'deactivate' && !list.sync) {
    for (const p of input.roster.people) {
      if (seen.has(p.personId) || p.status !== 'active') continue;
      const change = reviewPerson(p.personId, { fields: {}, status: 'active' }, { fields: {}, status: 'inactive' }, p, rosterView);
      if (change) { changes.push({ id: changeIdAt(changes.length), ...change }); summary.deactivate++; }
    }
  }
  return { summary, errors, changes };
}
