import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { session } from './api/client';
import { Link, navigate, usePath } from './router';
import { Lists } from './screens/Lists';
import { People } from './screens/People';
import { Person } from './screens/Person';
import { SignIn } from './screens/SignIn';
import { Sync } from './screens/Sync';
import { Audit } from './screens/Audit';
import { Mappings } from './screens/Mappings';
import { Imports } from './screens/Imports';
import { ChangesetReview, Changesets } from './screens/Changesets';
import { useMe } from './me';
import { Fields } from './screens/Fields';
import { ProvisioningLog } from './screens/ProvisioningLog';
import { useList } from './list';

/** the list tabs, in the seeds' words; the ones not built yet are not shown */
const TABS = [{ slug: 'people', label: 'People' }, { slug: 'fields', label: 'Fields' }, { slug: 'sync', label: 'Sync' }, { slug: 'provisioning-log', label: 'Provisioning log' }, { slug: 'imports', label: 'Imports' }, { slug: 'changesets', label: 'Changesets' }] as const;

function ListScreen({ listId, tab, personId }: { listId: string; tab: string; personId?: string }) {
  const list = useList(listId);
  return (
    <main>
      <p><Link to="/">All lists</Link></p>
      <h1>{list.data?.name ?? 'List'}</h1>
      {list.error && <p role="alert" className="error">{list.error.message}</p>}
      <nav aria-label="List sections" className="tabs">
        {TABS.map((t) => <Link key={t.slug} to={`/lists/${listId}/${t.slug}`} className={t.slug === tab ? 'current' : undefined}>{t.label}</Link>)}
      </nav>
      {tab === 'people' && (personId ? <Person listId={listId} personId={personId} /> : <People listId={listId} />)}
      {tab === 'fields' && <Fields listId={listId} />}
      {tab === 'sync' && <Sync listId={listId} />}
      {tab === 'provisioning-log' && <ProvisioningLog listId={listId} />}
      {tab === 'imports' && <Imports listId={listId} />}
      {tab === 'changesets' && (personId ? <ChangesetReview listId={listId} changesetId={personId} /> : <Changesets listId={listId} />)}
    </main>
  );
}

export function App() {
  const path = usePath();
  const qc = useQueryClient();
  const { canAudit } = useMe();
  const [signedIn, setSignedIn] = useState(() => session.token() !== null);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const listMatch = /^\/lists\/([^/]+)(?:\/([a-z-]+))?(?:\/([^/]+))?\/?$/.exec(path);
  return (
    <>
      <header className="top">
        <nav aria-label="Main" className="main-nav">
          <Link to="/" className="brand">Muster</Link>
          <Link to="/">Lists</Link>
          {canAudit && <Link to="/audit">Audit</Link>}
        </nav>
        <button type="button" onClick={() => { session.signOut(); qc.clear(); setSignedIn(false); navigate('/'); }}>Sign out</button>
      </header>
      {path === '/audit' ? <Audit /> : listMatch && listMatch[2] === 'mappings' ? <Mappings listId={decodeURIComponent(listMatch[1])} /> : listMatch ? <ListScreen listId={decodeURIComponent(listMatch[1])} tab={listMatch[2] ?? 'people'} personId={listMatch[3] ? decodeURIComponent(listMatch[3]) : undefined} /> : <Lists />}
    </>
  );
}
