import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { useMe } from '../me';
import { PROVIDER } from '../format';

type Field = { key: string; label: string; type: string; required?: boolean; enumValues?: string[]; syncedBy: string | null };
const TYPES = ['text', 'email', 'phone', 'date', 'number', 'boolean', 'enum'] as const;

/** a label as a field key: "Locker number" → "lockerNumber" */
const keyOf = (label: string) => label.trim().replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^[^A-Za-z]+/, '').replace(/^./, (c) => c.toLowerCase());

/** The Fields tab: the list's schema, and adding a field (type, enum values). */
export function Fields({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const fields = useQuery({ queryKey: ['fields', listId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/fields', { params: { path: { id: listId } } })) as { items: Field[] } });
  const [label, setLabel] = useState('');
  const [type, setType] = useState<(typeof TYPES)[number]>('text');
  const [values, setValues] = useState('');
  const [required, setRequired] = useState(false);
  const add = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/fields', { params: { path: { id: listId } }, body: {
      key: keyOf(label), label: label.trim(), type, required, multiValued: false,
      ...(type === 'enum' ? { enumValues: values.split(',').map((v) => v.trim()).filter(Boolean) } : {}),
    } as never })),
    onSuccess: async () => { setLabel(''); setValues(''); setRequired(false); await qc.invalidateQueries({ queryKey: ['fields', listId] }); await qc.invalidateQueries({ queryKey: ['list', listId] }); },
  });
  return (
    <section aria-labelledby="fields-heading">
      <h2 id="fields-heading">Fields</h2>
      {(fields.error || add.error) && <p role="alert" className="error">{(fields.error ?? add.error)!.message}</p>}
      {fields.data && (
        <table>
          <caption>The list's schema</caption>
          <thead><tr><th scope="col">Label</th><th scope="col">Key</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Filled by</th></tr></thead>
          <tbody>
            {fields.data.items.map((f) => (
              <tr key={f.key}>
                <td>{f.label}</td><td><code>{f.key}</code></td><td>{f.type}{f.enumValues?.length ? ` (${f.enumValues.join(', ')})` : ''}</td><td>{f.required ? 'Yes' : 'No'}</td>
                <td>{f.syncedBy ? <span className="badge">Synced by {PROVIDER[f.syncedBy] ?? f.syncedBy}</span> : 'Local (edited here)'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && (
        <form className="inline" onSubmit={(e) => { e.preventDefault(); add.mutate(); }}>
          <label htmlFor="field-label">Field name</label>
          <input id="field-label" value={label} onChange={(e) => setLabel(e.target.value)} required />
          <label htmlFor="field-type">Type</label>
          <select id="field-type" value={type} onChange={(e) => setType(e.target.value as (typeof TYPES)[number])}>
            {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
          {type === 'enum' && <><label htmlFor="field-values">Values (comma-separated)</label><input id="field-values" value={values} onChange={(e) => setValues(e.target.value)} required /></>}
          <input type="checkbox" id="field-required" checked={required} onChange={(e) => setRequired(e.target.checked)} /><label htmlFor="field-required">Required</label>
          <button type="submit" disabled={!keyOf(label) || add.isPending}>Add field</button>
        </form>
      )}
    </section>
  );
}
