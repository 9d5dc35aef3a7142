import { useState } from 'react';
import { api, explain, session } from '../api/client';

/** Sign in with an admin token: checked against the API before it is kept (session storage). */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Muster</h1>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        session.signIn(token.trim());
        const r = await api.GET('/api/v1/whoami', {});
        setBusy(false);
        if (r.response.ok) { setToken(''); onSignedIn(); return; }
        session.signOut();
        setError(explain(r.response.status, r.error));
      }}>
        <label htmlFor="admin-token">Admin token</label>
        <input id="admin-token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required aria-describedby={error ? 'signin-error' : undefined} />
        <button type="submit" disabled={busy || !token.trim()}>Sign in</button>
        {error && <p id="signin-error" role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}
