/**
 * Graph over plain fetch: GETs with the bearer token, retried on throttling and transient failures,
 * and delta rounds followed link by link, verbatim (nextLink until a deltaLink; the links carry the
 * query the round started with, so nothing is ever appended to them).
 *
 * Retries: 429, 503, 504 and network errors, waiting `Retry-After` (seconds or an HTTP date) when
 * given, else 1, 2, 4 … s with jitter, capped at 60 s, at most `maxAttempts` per request; each wait
 * is counted (`throttledWaits`). A 401 drops the cached token and tries once more. A delta state
 * Graph no longer has (410 Gone, or a 4xx whose code is syncStateNotFound or resyncRequired) is a
 * DeltaResetError: the caller starts a full round (from `location` when Graph gave one).
 */
import type { TokenProvider } from './token.ts';

export class GraphError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'GraphError';
  }
}

/** the stored delta link is no good: run a full round */
export class DeltaResetError extends Error {
  constructor(readonly location: string | null, readonly reason: string) {
    super(`Graph asks for a full sync: ${reason}`);
    this.name = 'DeltaResetError';
  }
}

export interface GraphClientOptions {
  /** MUSTER_GRAPH_URL (default https://graph.microsoft.com); requests go to {baseUrl}/v1.0/... */
  baseUrl?: string;
  tokens: TokenProvider;
  maxAttempts?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeltaPage { value: Array<Record<string, unknown>>; '@odata.nextLink'?: string; '@odata.deltaLink'?: string }

const RESET_CODES = new Set(['syncstatenotfound', 'resyncrequired']);

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const s = Number(header);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

export class GraphClient {
  /** waits for throttling or a transient failure, since the client was made */
  throttledWaits = 0;
  /** pages fetched by delta rounds */
  pages = 0;
  readonly baseUrl: string;

  constructor(private readonly o: GraphClientOptions) {
    this.baseUrl = (o.baseUrl ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
  }

  /** a v1.0 URL of this Graph (for the first request of a round; later ones follow links) */
  url(path: string): string {
    return `${this.baseUrl}/v1.0/${path.replace(/^\/+/, '')}`;
  }

  async get<T = unknown>(url: string, headers: Record<string, string> = {}): Promise<T> {
    const fetcher = this.o.fetch ?? fetch;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const max = this.o.maxAttempts ?? 6;
    let reauthorised = false;
    for (let attempt = 1; ; attempt++) {
      let res: Response | null = null;
      let failure: string;
      try {
        res = await fetcher(url, { headers: { authorization: `Bearer ${await this.o.tokens.getToken()}`, accept: 'application/json', ...headers } });
        failure = `HTTP ${res.status}`;
      } catch (err) {
        if ((err as Error).name === 'EntraAuthError') throw err;
        failure = (err as Error).message;
      }
      if (res?.ok) {
        const text = await res.text();
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new GraphError(res.status, 'bad_answer', `Graph answered ${res.status} with a body that is not JSON (${(res.headers.get('content-type') ?? 'no content type').slice(0, 60)}: ${text.slice(0, 80)})`);
        }
      }
      if (res && res.status === 401 && !reauthorised) { reauthorised = true; this.o.tokens.invalidate(); attempt--; continue; }
      const transient = !res || res.status === 429 || res.status === 503 || res.status === 504;
      if (res && !transient) {
        const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        const code = body.error?.code ?? '';
        if (res.status === 410 || (res.status >= 400 && res.status < 500 && RESET_CODES.has(code.toLowerCase()))) {
          throw new DeltaResetError(res.headers.get('location'), `${res.status} ${code || 'Gone'}`);
        }
        throw new GraphError(res.status, code || `http_${res.status}`, `Graph answered ${res.status}${code ? ` ${code}` : ''}: ${body.error?.message ?? ''}`.trim());
      }
      if (attempt >= max) throw new GraphError(res?.status ?? 0, res ? `http_${res.status}` : 'unreachable', `Graph did not answer after ${max} attempts (${failure})`);
      const wait = retryAfterMs(res?.headers.get('retry-after') ?? null) ?? Math.min(60_000, 1000 * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      this.throttledWaits++;
      await sleep(wait);
    }
  }

  /**
   * One delta round from `startUrl` (the initial query, or the deltaLink of the last round): each
   * page handed to `onPage` in order; resolves with the new deltaLink.
   */
  async deltaRound(startUrl: string, onPage: (page: DeltaPage) => Promise<void> | void, headers: Record<string, string> = {}): Promise<string> {
    let url = startUrl;
    for (;;) {
      const page = await this.get<DeltaPage>(url, headers);
      if (!page || typeof page !== 'object' || !Array.isArray(page.value)) throw new GraphError(200, 'bad_answer', 'a delta page was not a JSON object with a value array');
      this.pages++;
      await onPage(page);
      if (page['@odata.deltaLink']) return page['@odata.deltaLink'];
      if (!page['@odata.nextLink']) throw new GraphError(200, 'no_link', 'a delta page carried neither a nextLink nor a deltaLink');
      url = page['@odata.nextLink'];
    }
  }
}
