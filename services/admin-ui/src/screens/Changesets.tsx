import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { useMe } from '../me';
import { Link, navigate } from '../router';
import { shown } from '../format';

type CField = { field: string; base: unknown; master: unknown; proposed: unknown; conflict: boolean; locked: boolean; choice: 'proposed' | 'master' | 'skip' | null };
type Change = { id: string; personId: string; kind: string; decision: 'pending' | 'approved' | 'rejected'; applied: boolean; reverted?: boolean; fields: CField[] };
type Changeset = { id: string; origin?: { kind: string; id?: string } | string; status: string; counts?: Record<string, number>; progress?: { done?: number; total?: number } | null; changes?: Change[]; total?: number; createdAt?: string };
const ORIGIN = { session: 'Session', csv: 'CSV import', 'entra-run': 'Entra ID sync (held)' } as Record<string, string>;
const STATUS = { open: 'Open for review', applying: 'Applying', applied: 'Applied', rolling_back: 'Rolling back', rolled_back: 'Rolled back', discarded: 'Discarded' } as Record<string, string>;

/** The Changesets tab: start a session from a filter, and the list's changesets to review. */
export function Changesets({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const list = useQuery({ queryKey: ['changesets', listId], refetchInterval: 2_000, queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/changesets', { params: { path: { id: listId } } })) as { items: Changeset[] } });
  const [name, setName] = useState('');
  const [status, setStatus] = useState('active');
  const [q, setQ] = useState('');
  const session = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sessions', { params: { path: { id: listId } }, body: { name: name.trim(), filter: { status, ...(q.trim() ? { q: q.trim() } : {}) } } })) as unknown as { id: string; people?: number },
    onSuccess: async () => { setName(''); await qc.invalidateQueries({ queryKey: ['sessions', listId] }); },
  });
  const sessions = useQuery({ queryKey: ['sessions', listId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/sessions', { params: { path: { id: listId } } })) as { items: Array<{ id: string; name?: string; people?: number }> } });
  return (
    <section aria-labelledby="changesets-heading">
      <h2 id="changesets-heading">Changesets</h2>
      {(list.error || session.error) && <p role="alert" className="error">{(list.error ?? session.error)!.message}</p>}
      {canWrite && (
        <form className="inline" onSubmit={(e) => { e.preventDefault(); session.mutate(); }} aria-label="New session">
          <label htmlFor="session-name">Session name</label><input id="session-name" value={name} onChange={(e) => setName(e.target.value)} required />
          <label htmlFor="session-status">People</label>
          <select id="session-status" value={status} onChange={(e) => setStatus(e.target.value)}><option value="active">Active</option><option value="inactive">Inactive</option><option value="all">All</option></select>
          <label htmlFor="session-q">Matching</label><input id="session-q" value={q} onChange={(e) => setQ(e.target.value)} />
          <button type="submit" disabled={!name.trim() || session.isPending}>Start session</button>
        </form>
      )}
      {session.data && <p role="status">Session started with {session.data.people ?? 0} people. Edit their copies through the API (or a photo session's tools), then push it to make a changeset.</p>}
      {sessions.data && sessions.data.items.length > 0 && <p>Sessions: {sessions.data.items.map((s) => `${s.name ?? s.id} (${s.people ?? 0} people)`).join(', ')}</p>}
      {list.data && (list.data.items.length ? (
        <table>
          <caption>Changesets of this list, newest first</caption>
          <thead><tr><th scope="col">Changeset</th><th scope="col">From</th><th scope="col">Status</th><th scope="col">Changes</th></tr></thead>
          <tbody>{list.data.items.map((c) => (
            <tr key={c.id}><td><Link to={`/lists/${listId}/changesets/${c.id}`}>{c.id.slice(0, 8)}</Link></td><td>{ORIGIN[typeof c.origin === 'string' ? c.origin : c.origin?.kind ?? ''] ?? 'Session'}</td><td>{STATUS[c.status] ?? c.status}</td>
              <td>{c.counts ? Object.entries(c.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ') : '—'}</td></tr>
          ))}</tbody>
        </table>
      ) : <p>No changesets yet.</p>)}
    </section>
  );
}

/** One changeset: field by field (base / master / incoming), conflicts side by side with a choice, decisions, apply, roll back. */
export function ChangesetReview({ listId, changesetId }: { listId: string; changesetId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const cs = useQuery({ queryKey: ['changeset', changesetId], refetchInterval: (q) => (q.state.data && ['applying', 'rolling_back'].includes(q.state.data.status) ? 500 : 3_000),
    queryFn: async () => ok(await api.GET('/api/v1/changesets/{cid}', { params: { path: { cid: changesetId }, query: { limit: 500 } } })) as Changeset });
  const [choices, setChoices] = useState<Record<string, Record<string, 'proposed' | 'master' | 'skip'>>>({});
  const refresh = () => qc.invalidateQueries({ queryKey: ['changeset', changesetId] });
  const decide = useMutation({ mutationFn: async (body: unknown) => ok(await api.POST('/api/v1/changesets/{cid}/decisions', { params: { path: { cid: changesetId } }, body: body as never })), onSuccess: refresh });
  const apply = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/changesets/{cid}/apply', { params: { path: { cid: changesetId } } })), onSuccess: async () => { await refresh(); await qc.invalidateQueries({ queryKey: ['people', listId] }); } });
  const rollback = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/changesets/{cid}/rollback', { params: { path: { cid: changesetId } }, body: {} as never })), onSuccess: refresh });
  const c = cs.data;
  const failure = [cs.error, decide.error, apply.error, rollback.error].find(Boolean);
  const open = c?.status === 'open' && canWrite;
  const choose = (change: string, field: string, value: 'proposed' | 'master' | 'skip') => setChoices({ ...choices, [change]: { ...choices[change], [field]: value } });
  return (
    <section aria-labelledby="review-heading">
      <p><Link to={`/lists/${listId}/changesets`}>All changesets</Link></p>
      <h2 id="review-heading">Changeset {changesetId.slice(0, 8)}</h2>
      {failure && <p role="alert" className="error">{failure.message}</p>}
      {c && (
        <>
          <p>Status: <strong>{STATUS[c.status] ?? c.status}</strong>{c.progress?.total ? <> — {c.progress.done ?? 0} of {c.progress.total} <progress max={c.progress.total} value={c.progress.done ?? 0} /></> : null}</p>
          {open && (
            <p className="actions">
              <button type="button" className="secondary" onClick={() => decide.mutate({ all: 'approve' })}>Approve all</button>
              <button type="button" className="secondary" onClick={() => decide.mutate({ all: 'reject' })}>Reject all</button>
              <button type="button" onClick={() => apply.mutate()} disabled={apply.isPending}>Apply</button>
            </p>
          )}
          {c.status === 'applied' && canWrite && <p><button type="button" className="danger" onClick={() => rollback.mutate()} disabled={rollback.isPending}>Roll back</button></p>}
          {(c.changes ?? []).map((ch) => {
            const conflicts = ch.fields.filter((f) => f.conflict);
            return (
              <article key={ch.id} className="change" aria-labelledby={`change-${ch.id}`}>
                <h3 id={`change-${ch.id}`}><Link to={`/lists/${listId}/people/${ch.personId}`}>{ch.kind} {ch.personId.slice(0, 8)}</Link> — {ch.decision}{ch.applied ? ', applied' : ''}{ch.reverted ? ', rolled back' : ''}</h3>
                <table>
                  <thead><tr><th scope="col">Field</th><th scope="col">Base</th><th scope="col">Roster now</th><th scope="col">Incoming</th><th scope="col">Keep</th></tr></thead>
                  <tbody>{ch.fields.map((f) => (
                    <tr key={f.field} className={f.conflict ? 'conflict' : undefined}>
                      <th scope="row">{f.field}{f.conflict ? ' (conflict)' : ''}{f.locked ? ' (locked by the sync)' : ''}</th>
                      <td>{shown(f.base)}</td><td>{shown(f.master)}</td><td>{shown(f.proposed)}</td>
                      <td>{f.conflict && open ? (
                        <fieldset className="choice-row"><legend className="visually-hidden">Keep for {f.field}</legend>
                          {(['proposed', 'master'] as const).map((v) => (
                            <span key={v}><input type="radio" id={`${ch.id}-${f.field}-${v}`} name={`${ch.id}-${f.field}`} checked={(choices[ch.id]?.[f.field] ?? f.choice) === v} onChange={() => choose(ch.id, f.field, v)} />
                              <label htmlFor={`${ch.id}-${f.field}-${v}`}>{v === 'proposed' ? 'Incoming' : 'Roster'}</label></span>
                          ))}
                        </fieldset>
                      ) : f.choice ?? '—'}</td>
                    </tr>
                  ))}</tbody>
                </table>
                {open && (
                  <p className="actions">
                    <button type="button" className="secondary" disabled={conflicts.some((f) => !(choices[ch.id]?.[f.field] ?? f.choice))}
                      onClick={() => decide.mutate({ changes: [{ changeId: ch.id, decision: 'approve', ...(conflicts.length ? { fields: Object.fromEntries(conflicts.map((f) => [f.field, choices[ch.id]?.[f.field] ?? f.choice])) } : {}) }] })}>Approve</button>
                    <button type="button" className="secondary" onClick={() => decide.mutate({ changes: [{ changeId: ch.id, decision: 'reject' }] })}>Reject</button>
                  </p>
                )}
              </article>
            );
          })}
        </>
      )}
    </section>
  );
}

export const openChangeset = (listId: string, id: string) => navigate(`/lists/${listId}/changesets/${id}`);
