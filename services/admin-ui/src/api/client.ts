import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

const TOKEN_KEY = 'muster.adminToken';

/** the admin token lives in session storage only: gone when the tab closes, never in the URL or local storage */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
};

/** the typed admin API client (paths generated from the API's OpenAPI document) */
export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '' });
api.use(auth);

interface ApiError { error?: { code?: string; message?: string } }

/** an answer's error in words a school office understands (never raw JSON) */
export function explain(status: number, body: unknown): string {
  const e = (body as ApiError | undefined)?.error;
  switch (e?.code) {
    case 'unauthorized': return 'That admin token was not accepted. Check it, or ask the person who runs Muster for a new one.';
    case 'forbidden': return 'Your admin token does not allow this. Ask an owner of your organisation.';
    case 'not_found': return 'This was not found. It may have been removed, or it belongs to another organisation.';
    case 'too_many_failed_attempts': return 'Too many failed sign-ins from this computer. Wait a minute and try again.';
    case 'locked': return `This is managed by the identity provider and cannot be changed here. ${e.message ?? ''}`.trim();
    case 'conflict': return `This clashes with something that already exists. ${e.message ?? ''}`.trim();
    case 'invalid': return `Please check what you entered: ${e.message ?? 'it was not accepted'}.`;
    case 'plan_required': return `Your organisation's plan does not include this. ${e.message ?? ''}`.trim();
    default:
      if (status >= 500) return 'Muster could not do this just now. Try again in a moment; if it keeps happening, tell the person who runs Muster.';
      return e?.message ? `This did not work: ${e.message}.` : 'This did not work. Try again.';
  }
}

/** a thrown API failure, carrying its explanation */
export class ApiFailure extends Error {
  /** the individual problems the API listed (details.errors), if any */
  readonly details: string[];
  constructor(readonly status: number, body: unknown) {
    super(explain(status, body));
    const errors = (body as { error?: { details?: { errors?: unknown } } } | undefined)?.error?.details?.errors;
    this.details = Array.isArray(errors) ? errors.map(String) : [];
  }
}

/** the data of an openapi-fetch answer, or an ApiFailure */
export function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) throw new ApiFailure(r.response.status, r.error);
  return r.data as T;
}
