import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, ok } from '../api/client';
import { useMe } from '../me';
import { Link, navigate } from '../router';
import { Dialog } from '../components/Dialog';
import { PROVIDER, shown, when } from '../format';
import { useList } from '../list';

type Change = { field: string; old: unknown; new: unknown };
type Detail = {
  id: string; status: 'active' | 'inactive'; fields: Record<string, unknown>; linked: boolean; lockedFields: string[]; syncedBy: string | null;
  groups: Array<{ id: string; displayName: unknown }>;
  timeline: Array<{ position: number; type: string; at: string; actor: { kind?: string; id?: string } | null; source: { kind?: string; idp?: string; method?: string } | null; fieldChanges: Change[]; cause?: string | null }>;
};

const EVENT = { PersonProvisioned: 'Created by the identity provider', PersonCreated: 'Added', AttributesChanged: 'Changed', Deactivated: 'Deactivated', Reactivated: 'Reactivated', PersonUnlinked: 'Removed by the identity provider', PersonRelinked: 'Provisioned again', PersonErased: 'Erased' } as Record<string, string>;
const who = (t: Detail['timeline'][number]) => t.source?.kind === 'scim' ? `${t.source.idp ?? 'identity provider'} (SCIM ${t.source.method ?? ''})`.trim()
  : t.source?.kind === 'entra' ? 'Entra ID sync' : t.source?.kind === 'remap' ? 'Mapping change' : t.actor?.kind === 'admin' ? 'An admin' : t.source?.kind ?? 'Muster';

/** A person: fields (locked where a sync owns them), local fields editable, status, groups and the timeline. */
export function Person({ listId, personId }: { listId: string; personId: string }) {
  const qc = useQueryClient();
  const { canWrite, isOwner } = useMe();
  const [erasing, setErasing] = useState(false);
  const [reason, setReason] = useState('');
  const list = useList(listId);
  const person = useQuery({ queryKey: ['person', listId, personId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/people/{personId}', { params: { path: { id: listId, personId } } })) as Detail, refetchInterval: 3_000 });
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => { setDraft({}); }, [personId]);
  const save = useMutation({
    mutationFn: async (body: { fields?: Record<string, unknown>; status?: 'active' | 'inactive' }) => ok(await api.PATCH('/api/v1/lists/{id}/people/{personId}', { params: { path: { id: listId, personId } }, body })) as { warning?: string },
    onSuccess: async (r) => { setDraft({}); setNotice(r.warning ?? 'Saved.'); await qc.invalidateQueries({ queryKey: ['person', listId, personId] }); await qc.invalidateQueries({ queryKey: ['people', listId] }); },
  });
  // erasure (owners): the data key is deleted, the person leaves every read model; back to the roster
  const erase = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/people/{personId}/erase', { params: { path: { id: listId, personId } }, body: { reason } })),
    onSuccess: async () => { await qc.invalidateQueries({ queryKey: ['people', listId] }); navigate(`/lists/${listId}/people`); },
  });
  const p = person.data;
  const fields = list.data?.fields ?? [];
  const locked = new Set(p?.lockedFields ?? []);
  const provider = p?.syncedBy ? PROVIDER[p.syncedBy] ?? p.syncedBy : null;
  const name = p ? shown(p.fields.displayName ?? [p.fields.firstName, p.fields.lastName].filter(Boolean).join(' ')) : '';
  const changed = Object.keys(draft).length > 0;
  return (
    <section aria-labelledby="person-heading">
      <p><Link to={`/lists/${listId}/people`}>Back to people</Link></p>
      <h2 id="person-heading">{name || 'Person'}</h2>
      {(person.error || save.error) && <p role="alert" className="error">{(person.error ?? save.error)!.message}</p>}
      {notice && <p role="status">{notice}</p>}
      {p && (
        <>
          <p>Status: <strong>{p.status === 'active' ? 'Active' : 'Inactive'}</strong>{' '}
            {canWrite && p.status === 'inactive' && <button type="button" onClick={() => save.mutate({ status: 'active' })}>Reactivate</button>}
            {canWrite && p.status === 'active' && !(p.linked && list.data?.sync) && <button type="button" className="danger" onClick={() => save.mutate({ status: 'inactive' })}>Deactivate</button>}
          </p>
          <form onSubmit={(e) => { e.preventDefault(); save.mutate({ fields: Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, v === '' ? null : v])) }); }}>
            <table className="fields">
              <caption>Fields</caption>
              <tbody>
                {fields.map((f) => (
                  <tr key={f.key}>
                    <th scope="row"><label htmlFor={`field-${f.key}`}>{f.label}</label></th>
                    <td>{locked.has(f.key) || !canWrite
                      ? <><span id={`field-${f.key}`}>{shown(p.fields[f.key])}</span>{locked.has(f.key) && <span className="badge" title="Change it in the identity provider">Synced by {provider}</span>}</>
                      : <input id={`field-${f.key}`} value={draft[f.key] ?? shown(p.fields[f.key]).replace('(empty)', '')} onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {canWrite && fields.some((f) => !locked.has(f.key)) && <button type="submit" disabled={!changed || save.isPending}>Save</button>}
          </form>
          {isOwner && (
            <p><button type="button" className="danger" onClick={() => { setReason(''); setErasing(true); }}>Erase personal data</button></p>
          )}
          {erasing && (
            <Dialog title="Erase this person's personal data?" onClose={() => setErasing(false)}>
              <p>Their data key is deleted: everything they held reads [erased] in the log for good, and they leave the roster. This cannot be undone.</p>
              <form onSubmit={(e) => { e.preventDefault(); erase.mutate(); }}>
                <label htmlFor="erase-reason">Reason (recorded with the erasure)</label>
                <textarea id="erase-reason" value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
                {erase.error && <p role="alert" className="error">{erase.error.message}</p>}
                <button type="button" onClick={() => setErasing(false)}>Cancel</button>{' '}
                <button type="submit" className="danger" disabled={!reason.trim() || erase.isPending}>Erase</button>
              </form>
            </Dialog>
          )}
          <h3>Groups</h3>
          {p.groups.length ? <ul>{p.groups.map((g) => <li key={g.id}>{shown(g.displayName)}</li>)}</ul> : <p>None.</p>}
          <h3>Timeline</h3>
          <ol className="timeline" reversed>
            {[...p.timeline].reverse().map((t) => (
              <li key={t.position}>
                <strong>{EVENT[t.type] ?? t.type}</strong> by {who(t)}, {when(t.at)}
                {t.fieldChanges.length > 0 && <ul className="changes">{t.fieldChanges.map((c) => <li key={c.field}>{c.field}: {shown(c.old)} → {shown(c.new)}</li>)}</ul>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
