import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ApiFailure, api, ok } from '../api/client';
import { useMe } from '../me';
import { Link } from '../router';
import { useList } from '../list';

type Mapping = { source: string; field: string; enabled?: boolean; transform?: 'direct' | 'lowercase' | 'uppercase' | 'trim'; fallback?: string };
type Attr = { id: string; label: string; group: string; source: 'scim' | 'entra' };
type Current = { mappings: Mapping[]; groupRules: unknown[]; customAttributes?: string[]; remap?: { pending: boolean; progress?: { done: number; total: number } } };
const GROUPS = ['Name', 'Contact', 'Organisation', 'Account', 'Address', 'Custom'];
const TRANSFORMS = ['direct', 'lowercase', 'uppercase', 'trim'] as const;

/** mapping errors as the API words them ("mappings[3]: unknown field …"), by the row they are about */
function errorsByRow(err: unknown): { rows: Map<number, string[]>; other: string[] } {
  const rows = new Map<number, string[]>();
  const other: string[] = [];
  if (!(err instanceof ApiFailure)) return { rows, other: err ? [(err as Error).message] : [] };
  for (const e of err.details) {
    const m = /^mappings\[(\d+)\](?:\.\w+)?:\s*(.*)$/.exec(e);
    if (m) rows.set(Number(m[1]), [...(rows.get(Number(m[1])) ?? []), m[2]]);
    else other.push(e);
  }
  if (!err.details.length) other.push(err.message);
  return { rows, other };
}

/** Configure Mappings: the full-screen editor, IdP attributes grouped by category; a toggle, a target field and a transform each. */
export function Mappings({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const list = useList(listId);
  const catalogue = useQuery({ queryKey: ['catalogue'], queryFn: async () => ok(await api.GET('/api/v1/mappings/catalogue', {})) as { attributes: Attr[] } });
  const [watchRemap, setWatchRemap] = useState(false);
  const current = useQuery({ queryKey: ['mappings', listId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/mappings', { params: { path: { id: listId } } })) as Current, refetchInterval: watchRemap ? 500 : false });
  const [rows, setRows] = useState<Mapping[] | null>(null);
  useEffect(() => { if (current.data && rows === null) setRows(current.data.mappings.map((m) => ({ ...m }))); }, [current.data]);
  useEffect(() => { if (watchRemap && current.data && !current.data.remap?.pending) setWatchRemap(false); }, [current.data, watchRemap]);
  const save = useMutation({
    mutationFn: async (mappings: Mapping[]) => ok(await api.PUT('/api/v1/lists/{id}/mappings', { params: { path: { id: listId } }, body: { mappings, groupRules: current.data!.groupRules } as never })) as Current,
    onSuccess: async (r) => { if (r.remap?.pending) setWatchRemap(true); await qc.invalidateQueries({ queryKey: ['mappings', listId] }); await qc.invalidateQueries({ queryKey: ['people', listId] }); },
  });
  const provider = list.data?.sync?.provider === 'entra' ? 'entra' : 'scim';
  const attrs = (catalogue.data?.attributes ?? []).filter((a) => a.source === provider);
  const custom = [...new Set([...(current.data?.customAttributes ?? []), ...(rows ?? []).map((r) => r.source).filter((s) => !attrs.some((a) => a.id === s))])];
  const fields = list.data?.fields ?? [];
  const problems = errorsByRow(save.error);
  const update = (i: number, change: Partial<Mapping>) => setRows((rs) => rs!.map((r, j) => (j === i ? { ...r, ...change } : r)));
  const progress = current.data?.remap?.progress;

  const row = (source: string, label: string) => {
    const indexes = (rows ?? []).map((r, i) => (r.source === source ? i : -1)).filter((i) => i >= 0);
    if (!indexes.length) {
      return (
        <tr key={source}>
          <th scope="row">{label}</th>
          <td><input type="checkbox" id={`map-${source}`} checked={false} disabled={!canWrite} onChange={() => setRows((rs) => [...rs!, { source, field: fields.find((f) => !rs!.some((r) => r.field === f.key))?.key ?? '', enabled: true, transform: 'direct' }])} />
            <label htmlFor={`map-${source}`} className="visually-hidden">Map {label}</label></td>
          <td colSpan={2}>Not mapped</td>
        </tr>
      );
    }
    return indexes.map((i, n) => {
      const r = rows![i];
      const id = `${source}-${n}`;
      return (
        <tr key={id} className={problems.rows.has(i) ? 'invalid' : undefined}>
          <th scope="row">{n === 0 ? label : ''}</th>
          <td><input type="checkbox" id={`map-${id}`} checked={r.enabled !== false} disabled={!canWrite} onChange={(e) => update(i, { enabled: e.target.checked })} />
            <label htmlFor={`map-${id}`} className="visually-hidden">Map {label}{n ? ` (${n + 1})` : ''}</label></td>
          <td>
            <label htmlFor={`field-${id}`} className="visually-hidden">Target field for {label}</label>
            <select id={`field-${id}`} value={r.field} disabled={!canWrite} onChange={(e) => update(i, { field: e.target.value })} aria-invalid={problems.rows.has(i)} aria-describedby={problems.rows.has(i) ? `err-${id}` : undefined}>
              <option value="">— choose a field —</option>
              {fields.map((f) => <option key={f.key} value={f.key}>{f.label}</option>)}
            </select>
            {problems.rows.has(i) && <div id={`err-${id}`} className="error">{problems.rows.get(i)!.join('; ')}</div>}
          </td>
          <td>
            <label htmlFor={`transform-${id}`} className="visually-hidden">Transform for {label}</label>
            <select id={`transform-${id}`} value={r.transform ?? 'direct'} disabled={!canWrite} onChange={(e) => update(i, { transform: e.target.value as Mapping['transform'] })}>
              {TRANSFORMS.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </td>
        </tr>
      );
    });
  };

  return (
    <main className="fullscreen">
      <p><Link to={`/lists/${listId}/sync`}>Back to Sync</Link></p>
      <h1>Configure Mappings{list.data ? `: ${list.data.name}` : ''}</h1>
      <p>Which attribute of the identity provider fills which field of the list. A field filled by a mapping is locked on the people the identity provider sends; turn a mapping off to make its field local.</p>
      {problems.other.map((e) => <p key={e} role="alert" className="error">{e}</p>)}
      {problems.rows.size > 0 && <p role="alert" className="error">Some mappings need attention: see the marked rows.</p>}
      {(watchRemap || progress) && (
        <p role="status">Updating the people already on the list{progress ? `: ${progress.done} of ${progress.total}` : '…'} <progress max={progress?.total ?? 1} value={progress?.done ?? 0} /></p>
      )}
      {save.isSuccess && !watchRemap && <p role="status">Saved. Everyone on the list now follows these mappings.</p>}
      {rows && GROUPS.map((g) => {
        const inGroup = g === 'Custom' ? [...attrs.filter((a) => a.group === g).map((a) => [a.id, a.label] as const), ...custom.map((c) => [c, c.split(':').pop() ?? c] as const)] : attrs.filter((a) => a.group === g).map((a) => [a.id, a.label] as const);
        if (!inGroup.length) return null;
        return (
          <table key={g} className="mappings">
            <caption>{g}</caption>
            <thead><tr><th scope="col">Attribute</th><th scope="col">On</th><th scope="col">Field</th><th scope="col">Transform</th></tr></thead>
            <tbody>{inGroup.map(([id, label]) => row(id, label))}</tbody>
          </table>
        );
      })}
      {canWrite && <button type="button" onClick={() => save.mutate(rows!)} disabled={!rows || save.isPending}>Save</button>}
    </main>
  );
}
