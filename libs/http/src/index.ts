import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '@muster/domain';
import { ReadStoreUnavailableError, type ReadStore } from '@muster/read-store';

export const DOMAIN_STATUS: Record<DomainError['code'], number> = {
  not_found: 404, conflict: 409, invalid: 400, forbidden: 403, locked: 409, gone: 410,
};

export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
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
      return reply.status(fe.statusCode).send({ error: { code: fe.code ?? 'bad_request', message: fe.message } });
    }
    req.log.error({ err }, 'unhandled error');
    if (err instanceof ReadStoreUnavailableError) return reply.status(503).header('Retry-After', '5').send({ error: { code: 'unavailable', message: `reads are unavailable for now (${err.message}); try again shortly` } });
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));
}

/**
 * Read-your-writes: wait (bounded) until a projection's checkpoint reaches `position`.
 * Works across processes: it polls the checkpoint the projector writes with its read models.
 */
export async function waitForCheckpoint(readStore: ReadStore, projection: string, position: number, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const cp = await readStore.getCheckpoint(projection);
    if (cp !== null && cp >= position) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 20);
  }
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
  if (url.startsWith('/scim/')) {
    reply.code(status).header('content-type', 'application/scim+json; charset=utf-8').send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(status === 400 ? { scimType: 'invalidSyntax' } : {}), detail });
    return;
  }
  reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ error: { code: 'bad_request', message: detail } });
}
