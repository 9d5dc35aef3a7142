import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { shown, when } from '../format';

type Change = { field: string; old: unknown; new: unknown };
type Entry = {
  id: string; position: number; at: string; operation: string; status: 'SUCCESS' | 'SKIPPED' | 'FAILED'; resourceName: string | null; resourceId: string | null;
  method: string | null; path: string | null; idp: string | null; source?: string; changes: Change[]; error: { status: string; detail: string } | null;
};

const OPERATIONS = ['CREATE', 'UPDATE', 'DEACTIVATE', 'REACTIVATE', 'DELETE', 'GROUP_CREATE', 'GROUP_UPDATE', 'GROUP_DELETE', 'SYNC'];
const by = (e: Entry) => e.idp ?? (e.source === 'csv' ? 'CSV import' : e.source === 'changeset' ? 'Changeset' : e.source === 'entra' ? 'Entra ID sync' : '—');

/** The provisioning log: what the identity provider (and changesets, imports) did, newest first, live. */
export function ProvisioningLog({ listId }: { listId: string }) {
  const [operation, setOperation] = useState('');
  const [status, setStatus] = useState('');
  const [person, setPerson] = useState('');
  const [from, setFrom] = useState('');
  const log = useInfiniteQuery({
    queryKey: ['log', listId, operation, status, person, from],
    initialPageParam: undefined as number | undefined,
    queryFn: async ({ pageParam }) => ok(await api.GET('/api/v1/lists/{id}/provisioning-log', {
      params: { path: { id: listId }, query: { limit: 100, ...(operation ? { operation } : {}), ...(status ? { status } : {}), ...(person.trim() ? { personId: person.trim() } : {}), ...(from ? { from: new Date(from).toISOString() } : {}), ...(pageParam !== undefined ? { cursor: pageParam } : {}) } as never },
    })) as { items: Entry[]; nextCursor: number | null },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
    refetchInterval: 1_500, // new entries appear without a reload
  });
  const entries = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading">Provisioning log</h2>
      <div className="toolbar">
        <label htmlFor="log-operation">Operation</label>
        <select id="log-operation" value={operation} onChange={(e) => setOperation(e.target.value)}>
          <option value="">Any</option>
          {OPERATIONS.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
        <label htmlFor="log-status">Status</label>
        <select id="log-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">Any</option><option value="SUCCESS">SUCCESS</option><option value="SKIPPED">SKIPPED</option><option value="FAILED">FAILED</option>
        </select>
        <label htmlFor="log-person">Person id</label>
        <input id="log-person" value={person} onChange={(e) => setPerson(e.target.value)} />
        <label htmlFor="log-from">Since</label>
        <input id="log-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </div>
      {log.error && <p role="alert" className="error">{log.error.message}</p>}
      <table className="log">
        <caption>Newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Operation</th><th scope="col">Person</th><th scope="col">Request</th><th scope="col">Changes</th><th scope="col">By</th><th scope="col">Status</th></tr></thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td>{e.operation}</td>
              <td>{e.resourceName ?? e.resourceId ?? '—'}</td>
              <td>{e.method ? <code>{e.method} {e.path}</code> : '—'}</td>
              <td>{e.changes.length ? <ul className="changes">{e.changes.map((c) => <li key={c.field}>{c.field}: {shown(c.old)} → {shown(c.new)}</li>)}</ul> : '—'}</td>
              <td>{by(e)}</td>
              <td>{e.status}{e.error && <div className="error">{e.error.detail}</div>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {log.data && entries.length === 0 && <p>Nothing logged yet{operation || status || person || from ? ' that matches' : ''}.</p>}
      {log.hasNextPage && <button type="button" onClick={() => log.fetchNextPage()} disabled={log.isFetchingNextPage}>Show older</button>}
    </section>
  );
}
