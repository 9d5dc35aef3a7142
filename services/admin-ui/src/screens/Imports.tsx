import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, explain, ok, session } from '../api/client';
import { useMe } from '../me';
import { Link } from '../router';
import { useList } from '../list';

type Summary = { rows: number; create: number; update: number; unchanged: number; deactivate: number; reactivate: number; invalid: number; duplicateInFile: number };
type Import = {
  id: string; status: string; fileName?: string | null; columns?: string[]; rows?: number; summary?: Summary | null; errors?: number; changesetId?: string | null;
  progress?: { done?: number; total?: number; applied?: number } | null; failure?: string | null; suggestedMapping?: Record<string, string | null>;
};
type RowError = { row: number; column: string | null; field: string | null; code: string; message: string; value?: string | null };
const TRANSFORMS = ['direct', 'lowercase', 'uppercase', 'trim'] as const;
const DONE = new Set(['ready', 'failed', 'applied']);

/** The CSV import wizard: upload (drag and drop), map columns to fields, the validation report, apply with progress. */
export function Imports({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const list = useList(listId);
  const [current, setCurrent] = useState<Import | null>(null);
  const [mapping, setMapping] = useState<Record<string, { field: string; transform: string }>>({});
  const [uidColumn, setUidColumn] = useState('');
  const [missing, setMissing] = useState<'keep' | 'deactivate'>('keep');
  const [dragging, setDragging] = useState(false);
  const fields = list.data?.fields ?? [];

  const upload = useMutation({
    mutationFn: async (file: File) => {
      const res = await fetch(`/api/v1/lists/${encodeURIComponent(listId)}/imports?fileName=${encodeURIComponent(file.name)}`, { method: 'POST', headers: { authorization: `Bearer ${session.token()}`, 'content-type': 'text/csv' }, body: file });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(explain(res.status, body));
      return { ...(body as Import), fileName: (body as Import).fileName ?? file.name };
    },
    onSuccess: (imp) => {
      setCurrent(imp);
      const suggested = imp.suggestedMapping ?? {};
      setMapping(Object.fromEntries((imp.columns ?? []).map((c) => [c, { field: suggested[c] ?? '', transform: 'direct' }])));
      setUidColumn((imp.columns ?? [])[0] ?? '');
    },
  });
  const status = useQuery({
    queryKey: ['import', listId, current?.id], enabled: !!current && current.status !== 'uploaded',
    queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/imports/{importId}', { params: { path: { id: listId, importId: current!.id } } })) as Import,
    refetchInterval: (q) => (q.state.data && DONE.has(q.state.data.status) ? false : 500),
  });
  const imp = status.data ?? current;
  const errors = useQuery({
    queryKey: ['import-errors', listId, imp?.id, imp?.status], enabled: !!imp && imp.status === 'ready' && (imp.errors ?? 0) > 0,
    queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/imports/{importId}/errors', { params: { path: { id: listId, importId: imp!.id }, query: { limit: 200 } } })) as { items: RowError[]; total: number },
  });
  const validate = useMutation({
    mutationFn: async () => ok(await api.PUT('/api/v1/lists/{id}/imports/{importId}/mapping', { params: { path: { id: listId, importId: current!.id } }, body: {
      uniqueIdentifier: { column: uidColumn, ...(mapping[uidColumn]?.field ? { field: mapping[uidColumn].field } : {}) },
      columns: Object.fromEntries(Object.entries(mapping).filter(([, m]) => m.field).map(([c, m]) => [c, { field: m.field, transform: m.transform }])),
      missing,
    } as never })) as Import,
    onSuccess: (r) => { setCurrent(r); void qc.invalidateQueries({ queryKey: ['import', listId] }); },
  });
  const apply = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/imports/{importId}/apply', { params: { path: { id: listId, importId: current!.id } }, body: { approveAll: true } })) as Import,
    onSuccess: (r) => { setCurrent(r); void qc.invalidateQueries({ queryKey: ['import', listId] }); void qc.invalidateQueries({ queryKey: ['people', listId] }); },
  });
  const failure = [upload.error, validate.error, apply.error, status.error].find(Boolean);
  const choose = (files: FileList | null) => { if (files?.[0]) upload.mutate(files[0]); };
  const s = imp?.summary;
  const progress = imp?.progress;

  if (!canWrite) return <section><h2>Imports</h2><p>Importing needs an owner or admin token.</p></section>;
  return (
    <section aria-labelledby="imports-heading">
      <h2 id="imports-heading">Import a CSV file</h2>
      {failure && <p role="alert" className="error">{failure.message}</p>}
      <div className={`dropzone${dragging ? ' over' : ''}`} onDragOver={(e) => { e.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)}
        onDrop={(e) => { e.preventDefault(); setDragging(false); choose(e.dataTransfer.files); }}>
        <p>Drop a CSV file here (UTF-8 or UTF-16; comma, semicolon or tab separated), or</p>
        <input id="csv-file" type="file" accept=".csv,text/csv,text/plain" className="visually-hidden" onChange={(e) => choose(e.target.files)} />
        <label htmlFor="csv-file" className="button">Choose a CSV file</label>
        {upload.isPending && <p role="status">Uploading…</p>}
      </div>
      {current && imp && (
        <>
          <h3>1. Columns</h3>
          <p>{imp.fileName ?? current.fileName ?? 'The file'}: {imp.rows ?? current.rows} rows, {(current.columns ?? []).length} columns. Choose the field each column fills (suggestions are preselected) and the column that identifies people.</p>
          <table className="mappings">
            <thead><tr><th scope="col">Column</th><th scope="col">Field</th><th scope="col">Transform</th></tr></thead>
            <tbody>
              {(current.columns ?? []).map((c, i) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  <td><label htmlFor={`col-field-${i}`} className="visually-hidden">Field for column {c}</label>
                    <select id={`col-field-${i}`} value={mapping[c]?.field ?? ''} onChange={(e) => setMapping({ ...mapping, [c]: { ...mapping[c], field: e.target.value } })}>
                      <option value="">— leave out —</option>
                      {fields.map((f) => <option key={f.key} value={f.key}>{f.label}</option>)}
                    </select></td>
                  <td><label htmlFor={`col-transform-${i}`} className="visually-hidden">Transform for column {c}</label>
                    <select id={`col-transform-${i}`} value={mapping[c]?.transform ?? 'direct'} onChange={(e) => setMapping({ ...mapping, [c]: { ...mapping[c], transform: e.target.value } })}>
                      {TRANSFORMS.map((t) => <option key={t} value={t}>{t}</option>)}
                    </select></td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="toolbar">
            <label htmlFor="uid-column">Column that identifies people</label>
            <select id="uid-column" value={uidColumn} onChange={(e) => setUidColumn(e.target.value)}>{(current.columns ?? []).map((c) => <option key={c} value={c}>{c}</option>)}</select>
            {!list.data?.sync && <><label htmlFor="missing">People not in the file</label>
              <select id="missing" value={missing} onChange={(e) => setMissing(e.target.value as 'keep' | 'deactivate')}><option value="keep">Keep them</option><option value="deactivate">Deactivate them</option></select></>}
            <button type="button" onClick={() => validate.mutate()} disabled={!uidColumn || validate.isPending}>Validate</button>
          </div>
          {imp.status === 'validating' && <p role="status">Checking every row…</p>}
          {imp.status === 'failed' && <p role="alert" className="error">The file could not be checked: {imp.failure}</p>}
          {s && (
            <>
              <h3>2. Report</h3>
              <ul className="counts" aria-label="What the import would do">
                <li>{s.create} to create</li><li>{s.update} to update</li><li>{s.unchanged} unchanged</li><li>{s.reactivate} to reactivate</li><li>{s.deactivate} to deactivate</li>
                <li className={s.invalid ? 'error' : undefined}>{s.invalid} with errors</li><li className={s.duplicateInFile ? 'error' : undefined}>{s.duplicateInFile} duplicated in the file</li>
              </ul>
              {errors.data && errors.data.items.length > 0 && (
                <table>
                  <caption>Rows with errors (left out when the import is applied){errors.data.total > errors.data.items.length ? `: the first ${errors.data.items.length} of ${errors.data.total}` : ''}</caption>
                  <thead><tr><th scope="col">Row</th><th scope="col">Column</th><th scope="col">Problem</th><th scope="col">Value</th></tr></thead>
                  <tbody>{errors.data.items.map((e) => <tr key={e.row}><td>{e.row}</td><td>{e.column ?? '—'}</td><td>{e.message}</td><td>{e.value ?? ''}</td></tr>)}</tbody>
                </table>
              )}
              <h3>3. Apply</h3>
              {imp.changesetId && <p><Link to={`/lists/${listId}/changesets/${imp.changesetId}`}>Review it as a changeset</Link> (every change, field by field, before it is applied)</p>}
              {imp.status === 'ready' && <button type="button" onClick={() => apply.mutate()} disabled={apply.isPending}>Apply the import</button>}
              {imp.status === 'applying' && <p role="status">Applying: {progress?.done ?? progress?.applied ?? 0} of {progress?.total ?? '…'} <progress max={progress?.total ?? 1} value={progress?.done ?? progress?.applied ?? 0} /></p>}
              {imp.status === 'applied' && <p role="status">Applied. The list now holds the file's people.</p>}
            </>
          )}
        </>
      )}
    </section>
  );
}
