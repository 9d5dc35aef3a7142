import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Metrics } from './metrics.ts';
import type { ServiceInstance } from './service.ts';

export interface OperatorRoutesOptions {
  services: ServiceInstance[];
  metrics: Metrics;
  /** /readyz is 503 while a projection is further behind the log than this (events) */
  maxLagEvents: number;
  /** a token a Prometheus scraper may present on /metrics (besides install-wide admin tokens) */
  metricsToken?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * The operator endpoints every Muster process serves:
 * - `GET /healthz` (liveness): 200 `{status: "ok"}` once every service of the process has started,
 *   503 `{status: "starting"}` before; the services' details only for an operator (below).
 * - `GET /readyz` (readiness): 200 when every service is ready and no projection is more than
 *   `maxLagEvents` behind the log, else 503; the reasons only for an operator.
 * - `GET /metrics`: Prometheus text (prom-client) for an operator or the scrape token; 401 otherwise.
 * An operator = a request bearing an install-wide admin token (any role) or, for /metrics, the
 * scrape token; the answer to anyone else says nothing about the process's internals.
 */
export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (app, opts) => {
  const { services, metrics } = opts;
  const scrapeHash = opts.metricsToken ? sha256(opts.metricsToken) : null;
  const isOperator = async (req: FastifyRequest) => {
    if (!req.headers.authorization) return false;
    for (const s of services) if (s.authorizeOperator && await s.authorizeOperator(req)) return true;
    return false;
  };
  const isScraper = (req: FastifyRequest) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return scrapeHash !== null && m !== null && timingSafeEqual(sha256(m[1]), scrapeHash);
  };
  const details = () => Object.fromEntries(services.map((s) => [s.name, { ready: s.ready(), ...(s.health?.() ?? {}) }]));

  app.get('/healthz', async (req, reply) => {
    const ok = services.every((s) => s.ready());
    const body = { status: ok ? 'ok' : 'starting' };
    return reply.status(ok ? 200 : 503).send(await isOperator(req) ? { ...body, services: details() } : body);
  });

  app.get('/readyz', async (req, reply) => {
    const reasons: string[] = [];
    for (const s of services) {
      if (!s.ready()) reasons.push(`${s.name} is not ready`);
      const lag = s.figures?.().lagEvents;
      if (typeof lag === 'number' && lag > opts.maxLagEvents) reasons.push(`${s.name} is ${lag} events behind the log (at most ${opts.maxLagEvents})`);
    }
    const ok = reasons.length === 0;
    const body = { status: ok ? 'ready' : 'not_ready' };
    return reply.status(ok ? 200 : 503).send(await isOperator(req) ? { ...body, reasons } : body);
  });

  app.get('/metrics', async (req, reply) => {
    if (!isScraper(req) && !await isOperator(req)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: { code: 'unauthorized', message: 'GET /metrics needs an install-wide admin token or MUSTER_METRICS_TOKEN (Authorization: Bearer <token>)' } });
    }
    return reply.type(metrics.contentType).send(await metrics.text());
  });
};
