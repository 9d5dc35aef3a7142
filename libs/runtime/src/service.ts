import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { MusterConfig } from '@muster/config';
import { asyncStdout, createLogger, createRequestLogger, lazyChildLoggerFactory, type Logger } from '@muster/logging';
import { clientErrors, frameworkErrors, installJsonErrorHandler, normalizeScimUrl } from '@muster/http';
import { SpanKind, extractTraceContext, startTelemetry, tracer, type Span } from '@muster/telemetry';
import { openAdapters, type Adapters, type ReadStoreHost } from './adapters.ts';
import { Metrics, type ServiceFigures } from './metrics.ts';
import { operatorRoutes } from './operator.ts';

export interface ServiceDeps {
  adapters: Adapters;
  config: MusterConfig;
  /** print a line for the operator (the generated admin token, say), bypassing log levels */
  announce: (line: string) => void;
  /** this process's Prometheus metrics (GET /metrics) */
  metrics: Metrics;
}

/**
 * A handler run on the shared server before Fastify routes a request: it answers the request
 * entirely and returns true, or returns false having touched nothing (Fastify then handles it).
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpMount {
  /**
   * Adds a fast path. Ignored (so every request goes through Fastify) where Fastify's per-request
   * work is wanted, request tracing (telemetry on), and when MUSTER_HTTP_FAST_PATHS=off. Request
   * log lines do not turn it off: the server writes the same line for a request a fast path answered.
   */
  addFastPath(fastPath: FastPath): void;
  readonly fastPathsEnabled: boolean;
}

export interface ServiceInstance {
  name: string;
  /** mount HTTP routes on the shared server (HTTP services only) */
  mount?: (app: FastifyInstance, http: HttpMount) => Promise<void>;
  /** true when the service can do its work */
  ready: () => boolean;
  /** details shown on /healthz */
  health?: () => Record<string, unknown>;
  /** figures /metrics reads at scrape time (lag, runs) */
  figures?: () => ServiceFigures;
  /**
   * whether a request's Authorization header is an operator's (an install-wide admin token): it may
   * read the details of /healthz and /readyz and scrape /metrics
   */
  authorizeOperator?: (req: FastifyRequest) => Promise<boolean>;
  /** work to do once the server is really listening (or ready, when it does not listen) */
  listening?: () => Promise<void>;
  stop: () => Promise<void>;
}

/** One service. Adding a service = writing one of these and listing it in the launcher. */
export interface ServiceModule {
  name: string;
  start: (deps: ServiceDeps) => Promise<ServiceInstance>;
}

export interface RunningServices {
  app: FastifyInstance;
  adapters: Adapters;
  services: ServiceInstance[];
  url: string;
  close: () => Promise<void>;
}

/**
 * Run service modules in one process on one HTTP port: open the adapters, start each module,
 * mount their routes, serve GET /healthz (200 only when every service is ready), and drain on
 * SIGTERM/SIGINT. Used by each service's own main (one module) and by the launcher (all of them).
 */
export interface RunOptions {
  listen?: boolean;
  handleSignals?: boolean;
  announce?: (line: string) => void;
  /** where the in-memory read store lives on the embedded stack (default: in this thread) */
  readStoreHost?: ReadStoreHost;
  /** how long close() waits for request handlers still running (default DRAIN_TIMEOUT_MS) */
  drainTimeoutMs?: number;
}

/** how long a shutdown waits for request handlers still running before closing the adapters */
export const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Requests whose handlers may still be using the adapters: from onRequest until the reply's
 * payload exists (onSend; a streamed payload until its response is closed) or the response is
 * done (onResponse). Fastify's close() waits for open responses, but not for the handler of a
 * request whose client has gone: that handler still runs and writes (onSend comes when it ends).
 */
export function trackInflight(app: FastifyInstance): { readonly size: number; drained(timeoutMs: number): Promise<number> } {
  // a count and a flag on each request, not a Set of requests: a set that every request enters and
  // leaves is rehashed all the time, and V8 keeps the requests its dropped tables held alive into the
  // old generation (measured: ~3 MB promoted per young collection under GET load)
  let active = 0;
  let idle: Array<() => void> = [];
  const settle = (req: FastifyRequest) => {
    if (!req.musterInflight) return;
    req.musterInflight = false;
    if (--active > 0) return;
    const waiting = idle;
    idle = [];
    for (const w of waiting) w();
  };
  app.decorateRequest('musterInflight', false);
  app.addHook('onRequest', (req, _reply, done) => { req.musterInflight = true; active++; done(); });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (payload !== null && typeof payload === 'object' && typeof (payload as { pipe?: unknown }).pipe === 'function') reply.raw.once('close', () => settle(req));
    else settle(req);
    done(null, payload);
  });
  app.addHook('onResponse', (req, _reply, done) => { settle(req); done(); });
  return {
    get size() { return active; },
    drained: (timeoutMs) => new Promise<number>((resolve) => {
      if (active === 0) { resolve(0); return; }
      const timer = setTimeout(() => resolve(active), timeoutMs);
      idle.push(() => { clearTimeout(timer); resolve(0); });
    }),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** set from onRequest until the handler has produced its reply (trackInflight) */
    musterInflight: boolean;
  }
}

export async function runServices(modules: ServiceModule[], config: MusterConfig, opts: RunOptions = {}): Promise<RunningServices> {
  const serviceName = config.telemetry.serviceName ?? (modules.length === 1 ? modules[0].name : 'muster');
  const telemetry = await startTelemetry({ serviceName, endpoint: config.telemetry.otlpEndpoint });
  const services: ServiceInstance[] = [];
  const metrics = new Metrics(() => services.flatMap((s) => (s.figures ? [{ service: s.name, figures: s.figures() }] : [])));
  const adapters = await openAdapters(config, { serviceName, readStoreHost: opts.readStoreHost, metrics });
  const announce = opts.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fastPaths: FastPath[] = [];
  const stdout = asyncStdout();
  const requests = createRequestLogger({ name: serviceName, level: config.logLevel, destination: stdout });
  const app = Fastify({
    // stdout written asynchronously (buffered, flushed at exit): a log line costs no write call on the request's path
    loggerInstance: createLogger({ name: serviceName, level: config.logLevel, destination: stdout }) as unknown as FastifyBaseLogger,
    childLoggerFactory: lazyChildLoggerFactory, genReqId: () => randomUUID(),
    // one line per request (logRequests below) instead of Fastify's two, written for fast-path answers too
    logController: new LogController({ disableRequestLogging: true }),
    // a client must send its headers and its whole request in bounded time (a trickled body is cut off)
    requestTimeout: config.http.requestTimeoutMs,
    bodyLimit: 1_048_576, forceCloseConnections: false, frameworkErrors, clientErrorHandler: clientErrors,
    // SCIM clients' sloppy URLs (`/users`, `/Users/?filter=`) routed as the endpoints they mean
    rewriteUrl: (req) => normalizeScimUrl(req.url ?? '/'),
    serverFactory: serverWithFastPaths(fastPaths, config.http.headersTimeoutMs, (err) => app.log.error({ err }, 'fast path failed; the request went to Fastify'),
      (req, res, ms) => {
        metrics.request(req.method ?? 'GET', 'fast path', res.statusCode, ms / 1000);
        if (logsInfo(requests)) requests.info(requestLine(req.method, req.url, res.statusCode, ms, 'fast-path'), 'request completed');
      }),
  });
  observeRequests(app, requests, metrics);
  // outside the services' own scopes (an unknown path, a bad body sent to one): the admin API's
  // JSON error shape, never Fastify's default body or an FST_ERR_* code
  installJsonErrorHandler(app);
  const fastPathsEnabled = config.httpFastPaths && !telemetry.enabled;
  const http: HttpMount = { fastPathsEnabled, addFastPath: (f) => { if (fastPathsEnabled) fastPaths.push(f); } };
  const inflight = trackInflight(app);
  try {
    for (const m of modules) services.push(await m.start({ adapters, config, announce, metrics }));
    for (const s of services) if (s.mount) await s.mount(app, http);
  } catch (err) {
    for (const s of services.reverse()) await s.stop().catch(() => {});
    await adapters.close().catch(() => {});
    throw err;
  }
  installRequestTracing(app, telemetry.enabled);
  await app.register(operatorRoutes, { services, metrics, maxLagEvents: config.readyMaxLagEvents, metricsToken: config.metricsToken });

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      // from here every request goes through Fastify, which answers 503 while it closes
      fastPaths.length = 0;
      await app.close(); // stop accepting, let in-flight requests finish
      // handlers of requests their clients gave up on are not awaited by close(): wait for them
      // (bounded) before the adapters they write through go away
      const left = await inflight.drained(opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
      if (left > 0) app.log.warn(`${left} request handler(s) still running after ${opts.drainTimeoutMs ?? DRAIN_TIMEOUT_MS} ms; closing the adapters anyway`);
      for (const s of [...services].reverse()) await s.stop().catch((err) => app.log.error({ err }, `stopping ${s.name}`));
      await adapters.close();
      await telemetry.shutdown().catch(() => {});
    })();
    return closed;
  };

  let url = '';
  try {
    if (opts.listen !== false) {
      url = await app.listen({ port: config.port, host: config.host });
    } else {
      await app.ready();
    }
    for (const s of services) await s.listening?.();
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => {
      app.log.info(`${sig} received, draining`);
      close().then(
        () => { app.log.info('stopped'); process.exit(0); },
        (err) => { app.log.error({ err }, 'shutdown failed'); process.exit(1); },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { app, adapters, services, url, close };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** W3C traceparent of this request's span, copied into the metadata of the events it causes */
    traceparent?: string;
    otelSpan?: Span;
  }
}

const INFO_OR_BELOW = new Set(['info', 'debug', 'trace']);
/** whether the logger writes info lines (request lines are info) */
const logsInfo = (log: { level: string }) => INFO_OR_BELOW.has(log.level);

/** the fields of the one log line written per request */
function requestLine(method: string | undefined, url: string | undefined, statusCode: number, ms: number, answeredBy?: string) {
  return { req: { method, url }, res: { statusCode }, responseTime: Math.round(ms * 100) / 100, ...(answeredBy ? { answeredBy } : {}) };
}

/**
 * Per request Fastify answers, in one hook: its duration in the metrics (by route pattern), and one
 * `request completed` line at info, written by the request logger with the request id as a field
 * (a request's own child logger would be made just for this line).
 */
function observeRequests(app: FastifyInstance, requests: Logger, metrics: Metrics): void {
  app.addHook('onResponse', (req, reply, done) => {
    metrics.request(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    if (logsInfo(requests)) requests.info({ reqId: req.id, ...requestLine(req.method, req.url, reply.statusCode, reply.elapsedTime) }, 'request completed');
    done();
  });
}

/**
 * The HTTP server Fastify would make (same timeouts), running the fast paths before Fastify's
 * own handler. A fast path that throws is logged and the request goes to Fastify, unless it had
 * already started its response (then the connection is closed: no half-written answer is kept).
 * `answered` is told of every request a fast path answered (for its log line).
 */
function serverWithFastPaths(fastPaths: FastPath[], headersTimeoutMs: number, onError: (err: unknown) => void, answered: (req: IncomingMessage, res: ServerResponse, ms: number) => void) {
  return (handler: (req: IncomingMessage, res: ServerResponse) => void, options: { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number }) => {
    // timeouts are checked every second (Node's default, 30 s, would let a slow client overstay them)
    const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
      if (fastPaths.length) {
        const t0 = performance.now();
        for (let i = 0; i < fastPaths.length; i++) {
          try {
            if (fastPaths[i](req, res)) { answered(req, res, performance.now() - t0); return; }
          } catch (err) {
            onError(err);
            if (res.headersSent) { res.destroy(); return; }
          }
        }
      }
      handler(req, res);
    });
    server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
    server.requestTimeout = options.requestTimeout ?? 0;
    server.headersTimeout = Math.min(headersTimeoutMs, server.requestTimeout || headersTimeoutMs);
    server.setTimeout(options.connectionTimeout ?? 0);
    if ((options.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket!;
    return server;
  };
}

/** A server span per request, continuing the caller's trace (traceparent header) when there is one. */
function installRequestTracing(app: FastifyInstance, enabled: boolean): void {
  if (!enabled) return;
  app.addHook('onRequest', async (req) => {
    const parent = extractTraceContext(req.headers as Record<string, string | undefined>);
    const span = tracer('muster.http').startSpan(`${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`, { kind: SpanKind.SERVER }, parent);
    const sc = span.spanContext();
    req.otelSpan = span;
    req.traceparent = `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
  });
  app.addHook('onResponse', async (req, reply) => {
    req.otelSpan?.setAttribute('http.response.status_code', reply.statusCode);
    req.otelSpan?.end();
  });
}
