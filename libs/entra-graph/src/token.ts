/**
 * Access tokens for Graph by the client-credentials grant. `TokenProvider` is the seam: this one
 * posts the grant's form to `{authority}/{tenantId}/oauth2/v2.0/token` (MUSTER_ENTRA_AUTHORITY_URL:
 * tests, sovereign clouds, a proxy); production against the public cloud uses MSAL behind the same
 * interface. A token is reused until a minute before it expires; a new secret means a new provider.
 */
export interface TokenProvider {
  getToken(): Promise<string>;
  /** forget the cached token (Graph said 401: it may have been revoked) */
  invalidate(): void;
}

/** Entra refused the credentials, or could not be asked: `code` says which (authentication_failed, graph_unreachable) */
export class EntraAuthError extends Error {
  constructor(readonly code: 'authentication_failed' | 'graph_unreachable', message: string, readonly entraError?: string) {
    super(message);
    this.name = 'EntraAuthError';
  }
}

export interface FormTokenOptions {
  authorityUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** default https://graph.microsoft.com/.default (MUSTER_GRAPH_SCOPE for sovereign clouds) */
  scope?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

export class FormTokenProvider implements TokenProvider {
  private cached: { token: string; refreshAt: number } | null = null;

  constructor(private readonly o: FormTokenOptions) {}

  invalidate(): void {
    this.cached = null;
  }

  async getToken(): Promise<string> {
    const now = (this.o.now ?? Date.now)();
    if (this.cached && now < this.cached.refreshAt) return this.cached.token;
    const url = `${this.o.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.o.tenantId)}/oauth2/v2.0/token`;
    const body = new URLSearchParams({
      client_id: this.o.clientId, client_secret: this.o.clientSecret, grant_type: 'client_credentials',
      scope: this.o.scope ?? 'https://graph.microsoft.com/.default',
    });
    let res: Response;
    try {
      res = await (this.o.fetch ?? fetch)(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    } catch (err) {
      throw new EntraAuthError('graph_unreachable', `the token endpoint could not be reached: ${(err as Error).message}`);
    }
    const json = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || !json.access_token) {
      const said = json.error_description ?? json.error ?? `HTTP ${res.status}`;
      throw new EntraAuthError('authentication_failed', `Entra refused the app's credentials: ${said}`, json.error);
    }
    const lifetime = (json.expires_in ?? 3600) * 1000;
    this.cached = { token: json.access_token, refreshAt: now + Math.max(lifetime - 60_000, lifetime / 2) };
    return json.access_token;
  }
}
