import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@muster/domain';
import { ReadStoreUnavailableError } from '@muster/read-store';

export const DOMAIN_STATUS: Record<DomainError['code'], number> = {
  not_found: 404, conflict: 409, invalid: 400, forbidden: 403, locked: 409, gone: 410,
};

/** The token of an `Authorization: Bearer …` header (scheme case-insensitive), or null when there is none. */
export function bearerToken(header: unknown): string | null {
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1] : null;
}

export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/** the body types the admin API reads (an import's file aside, which its own route takes) */
export const ACCEPTED_BODY_TYPES = 'application/json (CSV imports: text/csv or multipart/form-data)';

const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: (req: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: (req) => `Content-Type ${String(req.headers['content-type'] ?? '(none)').slice(0, 100)} is not accepted here; send ${ACCEPTED_BODY_TYPES}` },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request', message: () => 'the Content-Length does not match the body' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: () => 'the request body is larger than this endpoint accepts' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: () => 'the JSON body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: () => 'the request body is not valid JSON' },
};

/**
 * JSON bodies for the admin API: an empty body (a DELETE or a bodiless POST sent with a JSON
 * content type, as many clients do) is no body, not an error; anything else must be JSON.
 */
export function installJsonBodyParser(app: FastifyInstance, bodyLimit?: number): void {
  app.removeContentTypeParser('application/json');
  // JSON sent as text/plain is refused (415 naming the accepted types) rather than read as a string
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string', ...(bodyLimit ? { bodyLimit } : {}) }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try { done(null, JSON.parse(text)); } catch (err) {
      done(new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });
}

/** One error handler for the admin API: JSON errors `{ error: { code, message, details? } }`, never a stack. */
export function installJsonErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | DomainError | HttpError | Error, req, reply) => {
    if (err instanceof DomainError && Object.hasOwn(DOMAIN_STATUS, err.code)) {
      return reply.status(DOMAIN_STATUS[err.code]).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    const fe = err as FastifyError & { validation?: unknown };
    if (fe.validation) {
      return reply.status(400).send({ error: { code: 'invalid', message: fe.message } });
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Fastify's own request errors, in Muster's words and codes (no FST_ERR_* codes leak out)
      const known = FASTIFY_ERRORS[fe.code ?? ''];
      if (known) return reply.status(known.status).send({ error: { code: known.code, message: known.message(req) } });
      return reply.status(fe.statusCode).send({ error: { code: 'bad_request', message: fe.message } });
    }
    req.log.error({ err }, 'unhandled error');
    if (err instanceof ReadStoreUnavailableError) return reply.status(503).header('Retry-After', '5').send({ error: { code: 'unavailable', message: `reads are unavailable for now (${err.message}); try again shortly` } });
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));
}

/**
 * Errors Fastify's router raises before any route runs (a malformed %-escape, an over-long URL):
 * answered in the caller's dialect — SCIM's Error schema under /scim/, the admin API's JSON error
 * elsewhere — instead of Fastify's default body. Pass as the `frameworkErrors` server option.
 */
export function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const url = String(req.url ?? req.raw?.url ?? '');
  const detail = status === 414 ? 'the request URL is too long' : `the request URL cannot be parsed: ${error.message}`;
  const scim = url.startsWith('/scim/');
  reply.code(status).header('content-type', `${scim ? 'application/scim+json' : 'application/json'}; charset=utf-8`).send(dialectError(scim, status, detail));
}

/** a request error before any route ran: SCIM's Error schema for /scim/ callers, the admin API's JSON error otherwise */
function dialectError(scim: boolean, status: number, detail: string): object {
  return scim
    ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(status === 400 ? { scimType: 'invalidSyntax' } : {}), detail }
    : { error: { code: 'bad_request', message: detail } };
}

/**
 * Requests Node's HTTP parser rejects before Fastify sees them (a raw non-ASCII byte in the request
 * target, headers over the size limit, a request that never finishes arriving): answered like
 * frameworkErrors, in SCIM's Error schema when the request line names a /scim/ path and in the
 * admin API's JSON error otherwise, instead of Fastify's default body. The connection is closed
 * afterwards, as Node and Fastify do. Pass as the `clientErrorHandler` server option.
 */
export function clientErrors(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = status === 431 ? 'the request headers are larger than this server accepts'
    : status === 408 ? 'the request did not arrive in time'
    : 'the request cannot be parsed as HTTP (a byte the request line or headers may not hold?)';
  // Node hands the bytes it had read as a Buffer (Fastify's types describe its JSON form)
  const requestLine = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 256).toString('latin1') : '';
  const scim = /^[A-Za-z]+ \/scim\//.test(requestLine);
  const body = JSON.stringify(dialectError(scim, status, detail));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${scim ? 'application/scim+json' : 'application/json'}; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
export * from './auth-failures.ts';

/** SCIM resource endpoints by their lower-case names (RFC 7644 names them; clients are sloppy with case) */
const SCIM_ENDPOINTS: Record<string, string> = {
  users: 'Users', groups: 'Groups', schemas: 'Schemas', resourcetypes: 'ResourceTypes', serviceproviderconfig: 'ServiceProviderConfig', bulk: 'Bulk', '.search': '.search',
};
const SCIM_PATH = /^(\/scim\/v2\/lists\/[^/?]+\/)([^/?]+)((?:\/[^?]*)?)(\?.*)?$/;

/**
 * The URL a SCIM request is routed by (a Fastify `rewriteUrl`): the resource endpoint's name in
 * the case RFC 7644 gives it (`/users` → `/Users`), and no trailing slash before the query
 * (`/Users/?filter=…` is the collection). Everything else is left as it came.
 */
export function normalizeScimUrl(url: string): string {
  if (!url.startsWith('/scim/')) return url;
  const m = SCIM_PATH.exec(url);
  if (!m) return url;
  const name = SCIM_ENDPOINTS[m[2].toLowerCase()] ?? m[2];
  const rest = m[3] === '/' ? '' : m[3].replace(/^\/\.search$/i, '/.search');
  return `${m[1]}${name}${rest}${m[4] ?? ''}`;
}
