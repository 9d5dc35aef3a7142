import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, explain, ok, session } from '../api/client';

type Head = { position: number; digest: string | null; scope?: string };
type Verify = { ok: boolean; eventsChecked: number; firstBreak?: { position: number; streamId: string; reason: string }; scope?: string };

/** Audit: the head position and digest to write down, verifying the hash chain, exporting events as NDJSON. */
export function Audit() {
  const head = useQuery({ queryKey: ['audit-head'], queryFn: async () => ok(await api.GET('/api/v1/audit/head', {})) as Head });
  const lists = useQuery({ queryKey: ['lists'], queryFn: async () => ok(await api.GET('/api/v1/lists', {})) as { items: Array<{ id: string; name: string }> } });
  const verify = useMutation({ mutationFn: async () => ok(await api.GET('/api/v1/audit/verify', {})) as Verify });
  const [note, setNote] = useState('');
  const [filter, setFilter] = useState({ listId: '', personId: '', type: '', from: '', to: '' });
  const [download, setDownload] = useState<{ url: string; name: string; lines: number } | null>(null);
  const exporting = useMutation({
    mutationFn: async () => {
      const q = new URLSearchParams();
      if (filter.listId) q.set('listId', filter.listId);
      if (filter.personId.trim()) q.set('personId', filter.personId.trim());
      for (const t of filter.type.split(',').map((s) => s.trim()).filter(Boolean)) q.append('type', t);
      if (filter.from) q.set('from', new Date(filter.from).toISOString());
      if (filter.to) q.set('to', new Date(filter.to).toISOString());
      const res = await fetch(`/api/v1/audit/events?${q}`, { headers: { authorization: `Bearer ${session.token()}` } });
      if (!res.ok) throw new Error(explain(res.status, await res.json().catch(() => null)));
      const text = await res.text();
      if (download) URL.revokeObjectURL(download.url);
      return { url: URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' })), name: `muster-events-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.ndjson`, lines: text ? text.trimEnd().split('\n').length : 0 };
    },
    onSuccess: (d) => setDownload(d),
  });
  const set = (k: keyof typeof filter) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setFilter({ ...filter, [k]: e.target.value });
  return (
    <main>
      <h1>Audit</h1>
      {[head.error, verify.error, exporting.error].filter(Boolean).map((e) => <p key={e!.message} role="alert" className="error">{e!.message}</p>)}
      <section aria-labelledby="head-heading">
        <h2 id="head-heading">Head of the event log</h2>
        <p>Write these down: recomputing the digest later proves nothing before this position changed.{head.data?.scope === 'organisation' ? ' They cover your organisation\'s events.' : ''}</p>
        {head.data && (
          <dl className="facts">
            <dt>Position</dt><dd data-testid="head-position">{head.data.position}</dd>
            <dt>Digest</dt><dd><code data-testid="head-digest">{head.data.digest}</code> <button type="button" onClick={() => navigator.clipboard?.writeText(`${head.data!.position} ${head.data!.digest}`).then(() => setNote('Position and digest copied'), () => setNote('Select the digest and copy it by hand'))}>Copy</button></dd>
          </dl>
        )}
        <p role="status">{note}</p>
        <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>Verify the hash chain</button>
        {verify.data && <p role="status">{verify.data.ok ? `The chain is intact: ${verify.data.eventsChecked.toLocaleString('en')} events checked.` : `The chain is broken at position ${verify.data.firstBreak?.position} (${verify.data.firstBreak?.streamId}): ${verify.data.firstBreak?.reason}.`}</p>}
      </section>
      <section aria-labelledby="export-heading">
        <h2 id="export-heading">Export events</h2>
        <form className="inline" onSubmit={(e) => { e.preventDefault(); exporting.mutate(); }}>
          <label htmlFor="export-list">List</label>
          <select id="export-list" value={filter.listId} onChange={set('listId')}>
            <option value="">All lists</option>
            {lists.data?.items.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          </select>
          <label htmlFor="export-person">Person id</label><input id="export-person" value={filter.personId} onChange={set('personId')} />
          <label htmlFor="export-type">Event types</label><input id="export-type" value={filter.type} onChange={set('type')} placeholder="e.g. Deactivated" />
          <label htmlFor="export-from">From</label><input id="export-from" type="datetime-local" value={filter.from} onChange={set('from')} />
          <label htmlFor="export-to">To</label><input id="export-to" type="datetime-local" value={filter.to} onChange={set('to')} />
          <button type="submit" disabled={exporting.isPending}>Export NDJSON</button>
        </form>
        {download && <p><a href={download.url} download={download.name}>Download {download.name}</a> ({download.lines.toLocaleString('en')} events)</p>}
      </section>
    </main>
  );
}
