import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { useMe } from '../me';
import { Link, navigate } from '../router';

type ListItem = { id: string; name: string; counts?: { active: number; inactive: number }; sync?: { provider: string } | null; lastSyncAt?: string | null };

/** Lists: every list with its counts and sync provider; create a list. */
export function Lists() {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const lists = useQuery({ queryKey: ['lists'], queryFn: async () => ok(await api.GET('/api/v1/lists', {})) as { items: ListItem[] } });
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: async (n: string) => ok(await api.POST('/api/v1/lists', { body: { name: n } })) as { id: string },
    onSuccess: async (l) => { setName(''); await qc.invalidateQueries({ queryKey: ['lists'] }); navigate(`/lists/${l.id}/people`); },
  });
  return (
    <main>
      <h1>Lists</h1>
      {canWrite && <form className="inline" onSubmit={(e) => { e.preventDefault(); if (name.trim()) create.mutate(name.trim()); }}>
        <label htmlFor="new-list">New list name</label>
        <input id="new-list" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name.trim() || create.isPending}>Create list</button>
      </form>}
      {create.error && <p role="alert" className="error">{create.error.message}</p>}
      {lists.error && <p role="alert" className="error">{lists.error.message}</p>}
      {lists.data && (
        <table>
          <caption>Your lists</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Active</th><th scope="col">Inactive</th><th scope="col">Sync</th></tr></thead>
          <tbody>
            {lists.data.items.map((l) => (
              <tr key={l.id}>
                <td><Link to={`/lists/${l.id}/people`}>{l.name}</Link></td>
                <td>{l.counts?.active ?? 0}</td>
                <td>{l.counts?.inactive ?? 0}</td>
                <td>{l.sync ? (l.sync.provider === 'scim' ? 'Automated User Provisioning (SCIM)' : 'Directory Sync (Entra ID)') : 'None'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {lists.data && lists.data.items.length === 0 && <p>No lists yet.{canWrite ? ' Create one above.' : ''}</p>}
    </main>
  );
}
