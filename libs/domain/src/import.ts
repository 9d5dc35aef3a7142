/**
 * CSV imports: a file uploaded to a list, mapped column by column, validated in the background
 * into a changeset (with origin `csv` and the import's id) that is reviewed and applied like any
 * other. The file itself is kept beside the service, never in events; what was found in it (the
 * faults of each row, the summary) is.
 */
import { List } from 'immutable';
import { isImportEvent, type DomainEvent, type ImportMapping, type ImportRowError, type ImportSummary } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';

export type ImportStatus = 'uploaded' | 'validating' | 'ready' | 'applied' | 'failed';

export interface ImportState {
  exists: boolean;
  importId: string;
  listId: string;
  fileName: string | null;
  bytes: number;
  sha256: string;
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be';
  delimiter: ',' | ';' | '\t';
  columns: string[];
  rows: number;
  status: ImportStatus;
  mapping: ImportMapping | null;
  /** bumped by every mapping: a validation run says which mapping it validated */
  mappingVersion: number;
  summary: ImportSummary | null;
  errors: List<ImportRowError>;
  changesetId: string | null;
  failure: string | null;
}

export interface UploadFacts {
  importId: string; listId: string; fileName: string | null; bytes: number; sha256: string;
  encoding: ImportState['encoding']; delimiter: ImportState['delimiter']; columns: string[]; rows: number;
}

export type ImportCommand =
  | ({ type: 'Upload' } & UploadFacts)
  | { type: 'SetMapping'; mapping: ImportMapping }
  | { type: 'RecordValidation'; mappingVersion: number; summary: ImportSummary; errors: ImportRowError[]; changesetId: string | null }
  | { type: 'Fail'; mappingVersion: number; reason: string }
  | { type: 'Complete' };

/** errors per ImportErrorsFound event */
export const IMPORT_ERRORS_CHUNK = 1000;

export const initialImportState = (): ImportState => ({
  exists: false, importId: '', listId: '', fileName: null, bytes: 0, sha256: '', encoding: 'utf-8', delimiter: ',', columns: [], rows: 0,
  status: 'uploaded', mapping: null, mappingVersion: 0, summary: null, errors: List(), changesetId: null, failure: null,
});

/** the mapping's columns must be the file's; the identifier needs a field to match on */
function checkMapping(s: ImportState, mapping: ImportMapping) {
  const known = new Set(s.columns);
  const unknown = [mapping.uniqueIdentifier.column, ...Object.keys(mapping.columns)].filter((c) => !known.has(c));
  if (unknown.length) throw new DomainError('invalid', `the file has no column ${[...new Set(unknown)].map((c) => `"${c}"`).join(', ')}; its columns are ${s.columns.map((c) => `"${c}"`).join(', ')}`);
  const uidField = mapping.uniqueIdentifier.field ?? mapping.columns[mapping.uniqueIdentifier.column]?.field;
  if (!uidField) throw new DomainError('invalid', `say which field the identifier column "${mapping.uniqueIdentifier.column}" matches: map it in columns, or give uniqueIdentifier.field`);
  const targets = Object.values(mapping.columns).map((c) => c.field);
  const twice = targets.filter((f, i) => targets.indexOf(f) !== i);
  if (twice.length) throw new DomainError('invalid', `field${twice.length > 1 ? 's' : ''} ${[...new Set(twice)].map((f) => `"${f}"`).join(', ')} mapped from more than one column`);
}

export const importDecider: Decider<ImportCommand, ImportState> = {
  initialState: initialImportState,
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'Upload': {
        if (s.exists) throw conflict('import already exists');
        const { type: _t, ...facts } = cmd;
        return [{ type: 'ImportUploaded', data: facts }];
      }
      case 'SetMapping':
        if (!s.exists) throw notFound('import not found');
        if (s.status === 'applied') throw conflict('this import is applied; upload the file again to import it again');
        if (s.status === 'validating') throw conflict('this import is being validated; wait for it to be ready, then map it again');
        checkMapping(s, cmd.mapping);
        return [{ type: 'ImportMappingSet', data: { importId: s.importId, listId: s.listId, mapping: cmd.mapping } }];
      case 'RecordValidation': {
        // a run of an older mapping (superseded, or resumed after a restart) records nothing
        if (s.status !== 'validating' || cmd.mappingVersion !== s.mappingVersion) return [];
        const events: DomainEvent[] = [];
        for (let i = 0; i < cmd.errors.length; i += IMPORT_ERRORS_CHUNK) events.push({ type: 'ImportErrorsFound', data: { importId: s.importId, errors: cmd.errors.slice(i, i + IMPORT_ERRORS_CHUNK) } });
        events.push({ type: 'ImportValidated', data: { importId: s.importId, listId: s.listId, summary: cmd.summary, errors: cmd.errors.length, changesetId: cmd.changesetId } });
        return events;
      }
      case 'Fail':
        if (s.status !== 'validating' || cmd.mappingVersion !== s.mappingVersion) return [];
        return [{ type: 'ImportFailed', data: { importId: s.importId, listId: s.listId, reason: cmd.reason } }];
      case 'Complete':
        if (s.status !== 'ready') throw conflict(`the import is ${s.status}; it is applied once it is ready`);
        if (s.changesetId) throw conflict('this import has changes: apply its changeset');
        return [{ type: 'ImportCompleted', data: { importId: s.importId, listId: s.listId } }];
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): ImportState {
    if (!isImportEvent(e)) return s;
    switch (e.type) {
      case 'ImportUploaded':
        return { ...s, ...e.data, exists: true, status: 'uploaded' };
      case 'ImportMappingSet':
        return { ...s, status: 'validating', mapping: e.data.mapping, mappingVersion: s.mappingVersion + 1, summary: null, errors: List(), changesetId: null, failure: null };
      case 'ImportErrorsFound':
        return { ...s, errors: s.errors.concat(e.data.errors) };
      case 'ImportValidated':
        return { ...s, status: 'ready', summary: e.data.summary, changesetId: e.data.changesetId };
      case 'ImportFailed':
        return { ...s, status: 'failed', failure: e.data.reason };
      case 'ImportCompleted':
        return { ...s, status: 'applied' };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
