import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok } from '../api/client';
import { Dialog } from '../components/Dialog';
import { SetupGuides } from '../components/SetupGuides';
import { useMe } from '../me';
import { Link } from '../router';
import { when as at } from '../format';

type Scim = { connected: boolean; provider: string | null; uniqueIdentifier: string | null; scimBaseUrl: string | null };
type Token = { id: string; prefix: string; label: string | null; createdAt: string; lastUsedAt: string | null; expiresAt: string | null; status: 'active' | 'expired' | 'revoked' };
type Issued = { token: string; scimBaseUrl: string };

const UIDS = [
  { value: 'employeeNumber', label: 'Employee Number', example: 'EMP001', bestFor: 'Organisations with stable employee or student IDs' },
  { value: 'userName', label: 'Username', example: 'jsmith', bestFor: "When employee numbers aren't available" },
  { value: 'email', label: 'Email', example: 'jane@example.com', bestFor: 'Simple setups where email is the primary identifier' },
] as const;

const when = (t: string | null) => at(t, 'minute');

function copy(text: string, setNote: (s: string) => void, what: string) {
  navigator.clipboard?.writeText(text).then(() => setNote(`${what} copied`), () => setNote(`Select the ${what.toLowerCase()} and copy it by hand`));
}

/** the token, shown once: closing the dialog unmounts it, so it is gone from the page */
function TokenDialog({ issued, onDone }: { issued: Issued; onDone: () => void }) {
  const [note, setNote] = useState('');
  return (
    <Dialog title="Bearer token" onClose={onDone}>
      <p className="warning"><strong>This token will not be shown again.</strong> Copy it now and paste it into your identity provider with the SCIM base URL.</p>
      <dl className="secret">
        <dt>SCIM Base URL</dt><dd><code data-testid="dialog-base-url">{issued.scimBaseUrl}</code> <button type="button" onClick={() => copy(issued.scimBaseUrl, setNote, 'Base URL')}>Copy base URL</button></dd>
        <dt>Bearer Token</dt><dd><code data-testid="dialog-token">{issued.token}</code> <button type="button" onClick={() => copy(issued.token, setNote, 'Token')}>Copy token</button></dd>
      </dl>
      <p role="status">{note}</p>
      <button type="button" onClick={onDone}>Done</button>
    </Dialog>
  );
}

function Confirm({ title, children, action, onCancel, onConfirm, busy }: { title: string; children: React.ReactNode; action: string; onCancel: () => void; onConfirm: () => void; busy?: boolean }) {
  return (
    <Dialog title={title} onClose={onCancel}>
      {children}
      <div className="actions">
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
        <button type="button" onClick={onConfirm} disabled={busy}>{action}</button>
      </div>
    </Dialog>
  );
}

function ScimCard({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const scim = useQuery({ queryKey: ['scim', listId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/sync/scim', { params: { path: { id: listId } } })) as Scim });
  const tokens = useQuery({
    queryKey: ['tokens', listId], enabled: scim.data?.connected === true,
    queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/sync/scim/tokens', { params: { path: { id: listId } } })) as { items: Token[] },
  });
  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: ['scim', listId] }), qc.invalidateQueries({ queryKey: ['tokens', listId] }), qc.invalidateQueries({ queryKey: ['list', listId] })]);
  const [dialog, setDialog] = useState<null | { kind: 'connect' } | { kind: 'disconnect' } | { kind: 'revoke' | 'rotate'; token: Token } | { kind: 'issued'; issued: Issued }>(null);
  const [uid, setUid] = useState<string>('employeeNumber');
  const close = () => setDialog(null);

  const connect = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sync/scim', { params: { path: { id: listId } }, body: { uniqueIdentifier: uid as 'employeeNumber' } })), onSuccess: async () => { close(); await refresh(); } });
  const disconnect = useMutation({ mutationFn: async () => ok(await api.DELETE('/api/v1/lists/{id}/sync/scim', { params: { path: { id: listId } } })), onSuccess: async () => { close(); await refresh(); } });
  const generate = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sync/scim/tokens', { params: { path: { id: listId } }, body: {} })) as Issued, onSuccess: async (issued) => { setDialog({ kind: 'issued', issued }); await refresh(); } });
  const revoke = useMutation({ mutationFn: async (t: Token) => { const r = await api.DELETE('/api/v1/lists/{id}/sync/scim/tokens/{tokenId}', { params: { path: { id: listId, tokenId: t.id } } }); if (!r.response.ok) ok(r); }, onSuccess: async () => { close(); await refresh(); } });
  const rotate = useMutation({ mutationFn: async (t: Token) => ok(await api.POST('/api/v1/lists/{id}/sync/scim/tokens/{tokenId}/rotate', { params: { path: { id: listId, tokenId: t.id } }, body: { overlapHours: 24 } })) as Issued, onSuccess: async (issued) => { setDialog({ kind: 'issued', issued }); await refresh(); } });
  const failure = [scim.error, tokens.error, connect.error, disconnect.error, generate.error, revoke.error, rotate.error].find(Boolean);

  return (
    <section className="card" aria-labelledby="scim-card">
      <h3 id="scim-card">Automated User Provisioning</h3>
      <p>Okta, Microsoft Entra ID, OneLogin, JumpCloud, PingOne or any SCIM 2.0 client pushes joiners, changes and leavers to this list within seconds.</p>
      {failure && <p role="alert" className="error">{failure.message}</p>}
      {scim.data && !scim.data.connected && (scim.data.provider
        ? <p>This list is synced by another provider; disconnect it first.</p>
        : canWrite && <button type="button" onClick={() => setDialog({ kind: 'connect' })}>Connect</button>)}
      {scim.data?.connected && (
        <>
          <dl className="facts">
            <dt>Unique identifier</dt><dd>{UIDS.find((u) => u.value === scim.data!.uniqueIdentifier)?.label ?? scim.data.uniqueIdentifier}</dd>
            <dt>SCIM base URL</dt><dd><code data-testid="scim-base-url">{scim.data.scimBaseUrl}</code></dd>
          </dl>
          <h4>Bearer Tokens</h4>
          {canWrite && <button type="button" onClick={() => generate.mutate()} disabled={generate.isPending}>Generate Token</button>}
          {tokens.data && tokens.data.items.length > 0 && (
            <table>
              <caption>Tokens of this list (the tokens themselves are never shown again)</caption>
              <thead><tr><th scope="col">Prefix</th><th scope="col">Label</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Status</th>{canWrite && <th scope="col">Actions</th>}</tr></thead>
              <tbody>
                {tokens.data.items.map((t) => (
                  <tr key={t.id}>
                    <td><code>{t.prefix}…</code></td><td>{t.label ?? '—'}</td><td>{when(t.createdAt)}</td><td>{when(t.lastUsedAt)}</td><td>{t.expiresAt ? when(t.expiresAt) : 'Never'}</td>
                    <td>{t.status === 'active' ? 'Active' : t.status === 'expired' ? 'Expired' : 'Revoked'}</td>
                    {canWrite && <td>{t.status === 'active' && <span className="actions"><button type="button" className="secondary" onClick={() => setDialog({ kind: 'rotate', token: t })}>Rotate</button> <button type="button" className="danger" onClick={() => setDialog({ kind: 'revoke', token: t })}>Revoke</button></span>}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {scim.data.scimBaseUrl && <SetupGuides baseUrl={scim.data.scimBaseUrl} />}
          <p className="actions">
            <Link to={`/lists/${listId}/mappings`} className="button">Configure Mappings</Link>
            {canWrite && <button type="button" className="danger" onClick={() => setDialog({ kind: 'disconnect' })}>Disconnect</button>}
          </p>
        </>
      )}
      {dialog?.kind === 'connect' && (
        <Confirm title="Connect Automated User Provisioning" action="Connect" onCancel={close} onConfirm={() => connect.mutate()} busy={connect.isPending}>
          <fieldset>
            <legend>Unique Identifier</legend>
            {UIDS.map((u) => (
              <div key={u.value} className="choice">
                <input type="radio" id={`uid-${u.value}`} name="uid" value={u.value} checked={uid === u.value} onChange={() => setUid(u.value)} />
                <label htmlFor={`uid-${u.value}`}><strong>{u.label}</strong> (e.g. <code>{u.example}</code>): {u.bestFor}</label>
              </div>
            ))}
          </fieldset>
          <p className="warning">Choose it carefully: it should be <strong>stable and unique</strong> across your organisation, and it is the visible ID of each person on the list. If you are unsure, Employee Number is usually the safest choice. Muster also keeps the identity provider's own identifier as a sync anchor, so people are matched even if their visible ID changes.</p>
          <p>Connecting adds 9 fields to the list: First Name, Last Name, Email, Display Name, Employee Number, Primary Email, Phone, Job Title and Department.</p>
        </Confirm>
      )}
      {dialog?.kind === 'disconnect' && (
        <Confirm title="Disconnect Automated User Provisioning?" action="Disconnect" onCancel={close} onConfirm={() => disconnect.mutate()} busy={disconnect.isPending}>
          <p>Every bearer token of this list is revoked: the identity provider's next call is refused. Everyone stays on the list with their details, and the fields the identity provider filled become editable here.</p>
        </Confirm>
      )}
      {dialog?.kind === 'revoke' && (
        <Confirm title="Revoke this token?" action="Revoke" onCancel={close} onConfirm={() => revoke.mutate(dialog.token)} busy={revoke.isPending}>
          <p>The identity provider holding <code>{dialog.token.prefix}…</code> is refused from its next call. Generate a new token first if it should keep provisioning.</p>
        </Confirm>
      )}
      {dialog?.kind === 'rotate' && (
        <Confirm title="Rotate this token?" action="Rotate" onCancel={close} onConfirm={() => rotate.mutate(dialog.token)} busy={rotate.isPending}>
          <p>A new token is made now; <code>{dialog.token.prefix}…</code> keeps working for 24 hours, time to paste the new one into the identity provider.</p>
        </Confirm>
      )}
      {dialog?.kind === 'issued' && <TokenDialog issued={dialog.issued} onDone={close} />}
    </section>
  );
}

type Run = { runId: string; status: 'running' | 'succeeded' | 'held' | 'failed'; trigger: string; mode?: string; startedAt: string; finishedAt: string | null; summary?: { created: number; updated: number; deactivated: number; reactivated: number; unchanged: number; errors: number } | null; error?: { message: string } | null };
type Entra = { connected: boolean; provider: string | null; tenantId: string | null; clientId: string | null; groupIds: string[]; uniqueIdentifier: string | null; schedule: { intervalMinutes: number } | null; lastRun: Run | null; nextRunAt: string | null };

/** "116 created, 3 updated, 2 deactivated" */
export function summaryText(s: NonNullable<Run['summary']>): string {
  const parts = ([['created', s.created], ['updated', s.updated], ['deactivated', s.deactivated], ['reactivated', s.reactivated]] as const).filter(([, n]) => n > 0).map(([w, n]) => `${n} ${w}`);
  return [...(parts.length ? parts : ['no changes']), ...(s.errors ? [`${s.errors} failed`] : [])].join(', ');
}
const RUN_STATUS = { running: 'Running', succeeded: 'Succeeded', held: 'Held for review (too many deactivations)', failed: 'Failed' } as Record<string, string>;

function EntraCard({ listId }: { listId: string }) {
  const qc = useQueryClient();
  const { canWrite } = useMe();
  const entra = useQuery({ queryKey: ['entra', listId], queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/sync/entra', { params: { path: { id: listId } } })) as Entra, refetchInterval: 2_000 });
  const runs = useQuery({ queryKey: ['entra-runs', listId], enabled: entra.data?.connected === true, refetchInterval: 2_000, queryFn: async () => ok(await api.GET('/api/v1/lists/{id}/sync/entra/runs', { params: { path: { id: listId }, query: { limit: 20 } } })) as { items: Run[] } });
  const [form, setForm] = useState({ tenantId: '', clientId: '', clientSecret: '', groupIds: '', uniqueIdentifier: 'email', interval: '40' });
  const [open, setOpen] = useState(false);
  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: ['entra', listId] }), qc.invalidateQueries({ queryKey: ['entra-runs', listId] }), qc.invalidateQueries({ queryKey: ['list', listId] }), qc.invalidateQueries({ queryKey: ['scim', listId] })]);
  const connect = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sync/entra', { params: { path: { id: listId } }, body: {
      tenantId: form.tenantId.trim(), clientId: form.clientId.trim(), clientSecret: form.clientSecret, groupIds: form.groupIds.split(/[\s,]+/).filter(Boolean),
      uniqueIdentifier: form.uniqueIdentifier, schedule: form.interval === 'off' ? null : { intervalMinutes: Number(form.interval) },
    } as never })),
    onSuccess: async () => { setOpen(false); setForm((f) => ({ ...f, clientSecret: '' })); await refresh(); },
  });
  const test = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sync/entra/test', { params: { path: { id: listId } } })) as { ok: boolean; groups: Array<{ id: string; displayName: string | null; found: boolean }> } });
  const run = useMutation({ mutationFn: async () => ok(await api.POST('/api/v1/lists/{id}/sync/entra/runs', { params: { path: { id: listId } } })), onSuccess: refresh });
  const failure = [entra.error, runs.error, connect.error, test.error, run.error].find(Boolean);
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setForm({ ...form, [k]: e.target.value });
  const e = entra.data;
  return (
    <section className="card" aria-labelledby="entra-card">
      <h3 id="entra-card">Directory Sync (Entra ID)</h3>
      <p>Muster reads the members of chosen Entra ID groups by delta queries, on a schedule or when you run it.</p>
      {failure && <p role="alert" className="error">{failure.message}</p>}
      {e && !e.connected && (e.provider
        ? <p>This list is synced by another provider; disconnect it first.</p>
        : canWrite && <button type="button" onClick={() => setOpen(true)}>Connect</button>)}
      {e?.connected && (
        <>
          <dl className="facts">
            <dt>Tenant</dt><dd>{e.tenantId}</dd>
            <dt>Application (client) id</dt><dd>{e.clientId}</dd>
            <dt>Groups</dt><dd>{e.groupIds.join(', ')}</dd>
            <dt>Schedule</dt><dd>{e.schedule ? `every ${e.schedule.intervalMinutes} minutes` : 'Only when run by hand'}</dd>
            <dt>Next run</dt><dd>{e.nextRunAt ? when(e.nextRunAt) : '—'}</dd>
          </dl>
          {canWrite && (
            <p className="actions">
              <button type="button" className="secondary" onClick={() => test.mutate()} disabled={test.isPending}>Test connection</button>
              <button type="button" onClick={() => run.mutate()} disabled={run.isPending || runs.data?.items[0]?.status === 'running'}>Run now</button>
            </p>
          )}
          {test.data && <p role="status">Connection works. Groups: {test.data.groups.map((g) => `${g.displayName ?? g.id}${g.found ? '' : ' (not found)'}`).join(', ')}.</p>}
          <h4>Runs</h4>
          {runs.data && (runs.data.items.length ? (
            <table>
              <caption>Newest first</caption>
              <thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Summary</th></tr></thead>
              <tbody>{runs.data.items.map((r) => (
                <tr key={r.runId}><td>{when(r.startedAt)}</td><td>{r.trigger === 'manual' ? 'Run now' : 'Schedule'}</td><td>{RUN_STATUS[r.status] ?? r.status}</td>
                  <td>{r.summary ? summaryText(r.summary) : r.status === 'running' ? 'In progress' : '—'}{r.error && <div className="error">{r.error.message}</div>}</td></tr>
              ))}</tbody>
            </table>
          ) : <p>No runs yet.</p>)}
        </>
      )}
      {open && (
        <Dialog title="Connect Directory Sync (Entra ID)" onClose={() => setOpen(false)}>
          <form className="stack" onSubmit={(ev) => { ev.preventDefault(); connect.mutate(); }}>
            <p>Register an application in Entra ID with the Microsoft Graph application permissions <code>User.Read.All</code> and <code>GroupMember.Read.All</code> (admin consent), create a client secret, then fill in:</p>
            <label htmlFor="entra-tenant">Directory (tenant) id</label><input id="entra-tenant" value={form.tenantId} onChange={set('tenantId')} required />
            <label htmlFor="entra-client">Application (client) id</label><input id="entra-client" value={form.clientId} onChange={set('clientId')} required />
            <label htmlFor="entra-secret">Client secret</label><input id="entra-secret" type="password" autoComplete="off" value={form.clientSecret} onChange={set('clientSecret')} required />
            <label htmlFor="entra-groups">Group object ids (comma or space separated)</label><input id="entra-groups" value={form.groupIds} onChange={set('groupIds')} required />
            <label htmlFor="entra-uid">Unique identifier</label>
            <select id="entra-uid" value={form.uniqueIdentifier} onChange={set('uniqueIdentifier')}><option value="email">Email</option><option value="userName">Username (user principal name)</option><option value="employeeNumber">Employee Number (employeeId)</option></select>
            <label htmlFor="entra-schedule">Schedule</label>
            <select id="entra-schedule" value={form.interval} onChange={set('interval')}><option value="40">Every 40 minutes</option><option value="60">Every hour</option><option value="1440">Once a day</option><option value="off">Only when run by hand</option></select>
            {connect.error && <p role="alert" className="error">{connect.error.message}</p>}
            <div className="actions"><button type="button" className="secondary" onClick={() => setOpen(false)}>Cancel</button><button type="submit" disabled={connect.isPending}>Connect</button></div>
          </form>
        </Dialog>
      )}
    </section>
  );
}

/** The Sync tab: the two provider cards, as in the product's admin guide. */
export function Sync({ listId }: { listId: string }) {
  return (
    <section aria-labelledby="sync-heading">
      <h2 id="sync-heading">Sync</h2>
      <div className="cards"><ScimCard listId={listId} /><EntraCard listId={listId} /></div>
    </section>
  );
}
