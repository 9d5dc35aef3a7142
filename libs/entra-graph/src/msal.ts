/**
 * Tokens from the real Microsoft identity platform through @azure/msal-node (client credentials):
 * MSAL keeps the token cache and knows the public cloud's endpoints without a discovery request.
 * Used when MUSTER_ENTRA_AUTHORITY_URL is not set; the form POST (token.ts) serves tests, proxies
 * and sovereign clouds. Certificate credentials would be one more branch here (clientCertificate).
 */
import { ConfidentialClientApplication, type INetworkModule } from '@azure/msal-node';
import { EntraAuthError, FormTokenProvider, type TokenProvider } from './token.ts';

export interface MsalTokenOptions {
  tenantId: string; clientId: string; clientSecret: string; scope?: string; authority?: string;
  /** MSAL's network seam (tests: send its requests to a fake token endpoint) */
  networkClient?: INetworkModule;
}

export class MsalTokenProvider implements TokenProvider {
  private readonly app: ConfidentialClientApplication;
  private readonly scope: string;
  private forceRefresh = false;

  constructor(o: MsalTokenOptions) {
    this.app = new ConfidentialClientApplication({
      auth: { clientId: o.clientId, clientSecret: o.clientSecret, authority: `${(o.authority ?? 'https://login.microsoftonline.com').replace(/\/+$/, '')}/${o.tenantId}` },
      ...(o.networkClient ? { system: { networkClient: o.networkClient } } : {}),
    });
    this.scope = o.scope ?? 'https://graph.microsoft.com/.default';
  }

  invalidate(): void {
    this.forceRefresh = true;
  }

  async getToken(): Promise<string> {
    try {
      const res = await this.app.acquireTokenByClientCredential({ scopes: [this.scope], skipCache: this.forceRefresh });
      this.forceRefresh = false;
      if (!res?.accessToken) throw new EntraAuthError('authentication_failed', 'Entra gave no access token');
      return res.accessToken;
    } catch (err) {
      if (err instanceof EntraAuthError) throw err;
      const e = err as { errorCode?: string; errorMessage?: string; message?: string; name?: string };
      // MSAL's network failures carry no server answer; refusals carry Entra's code and text
      if (e.errorCode === 'network_error' || e.name === 'ClientAuthError' && /network/i.test(e.message ?? '')) {
        throw new EntraAuthError('graph_unreachable', `the Microsoft identity platform could not be reached: ${e.message}`);
      }
      throw new EntraAuthError('authentication_failed', `Entra refused the app's credentials: ${e.errorMessage ?? e.message ?? String(err)}`, e.errorCode);
    }
  }
}

/** the provider for a connection: the form POST against `authorityUrl` when one is configured, else MSAL against the public cloud */
export function tokenProviderFor(o: { authorityUrl?: string; tenantId: string; clientId: string; clientSecret: string; scope?: string }): TokenProvider {
  if (o.authorityUrl) return new FormTokenProvider({ authorityUrl: o.authorityUrl, tenantId: o.tenantId, clientId: o.clientId, clientSecret: o.clientSecret, scope: o.scope });
  return new MsalTokenProvider(o);
}
