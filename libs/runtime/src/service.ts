import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { MusterConfig } from '@muster/config';
import { lazyChildLoggerFactory, loggerOptions } from '@muster/logging';
import { frameworkErrors } from '@muster/http';
import { SpanKind, extractTraceContext, startTelemetry, tracer, type Span } from '@muster/telemetry';
import { openAdapters, type Adapters, type ReadStoreHost } from './adapters.ts';

export interface ServiceDeps {
  adapters: Adapters;
  config: MusterConfig;
  /** print a line for the operator (the generated admin token, say), bypassing log levels */
  announce: (line: string) => void;
}

export interface ServiceInstance {
  name: string;
  /** mount HTTP routes on the shared server (HTTP services only) */
  mount?: (app: FastifyInstance) => Promise<void>;
  /** true when the service can do its work */
  ready: () => boolean;
  /** details shown on /healthz */
  health?: () => Record<string, unknown>;
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
}

export async function runServices(modules: ServiceModule[], config: MusterConfig, opts: RunOptions = {}): Promise<RunningServices> {
  const serviceName = config.telemetry.serviceName ?? (modules.length === 1 ? modules[0].name : 'muster');
  const telemetry = await startTelemetry({ serviceName, endpoint: config.telemetry.otlpEndpoint });
  const adapters = await openAdapters(config, { serviceName, readStoreHost: opts.readStoreHost });
  const announce = opts.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  const services: ServiceInstance[] = [];
  const app = Fastify({ logger: loggerOptions({ name: serviceName, level: config.logLevel }), childLoggerFactory: lazyChildLoggerFactory, genReqId: () => randomUUID(), bodyLimit: 1_048_576, forceCloseConnections: false, frameworkErrors });
  try {
    for (const m of modules) services.push(await m.start({ adapters, config, announce }));
    for (const s of services) if (s.mount) await s.mount(app);
  } catch (err) {
    for (const s of services.reverse()) await s.stop().catch(() => {});
    await adapters.close().catch(() => {});
    throw err;
  }
  installRequestTracing(app, telemetry.enabled);
  app.get('/healthz', async (_req, reply) => {
    const details = Object.fromEntries(services.map((s) => [s.name, { ready: s.ready(), ...(s.health?.() ?? {}) }]));
    const ok = services.every((s) => s.ready());
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'starting', services: details });
  });

  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      await app.close(); // stop accepting, let in-flight requests finish
      for (const s of [...services].reverse()) await s.stop().catch((err) => app.log.error({ err }, `stopping ${s.name}`));
      await adapters.close();
      await telemetry.shutdown().catch(() => {});
    })();
    return closed;
  };

  let url = '';
  if (opts.listen !== false) {
    url = await app.listen({ port: config.port, host: config.host });
  } else {
    await app.ready();
  }
  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => {
      app.log.info(`${sig} received, draining`);
      close().then(() => process.exit(0), (err) => { app.log.error({ err }, 'shutdown failed'); process.exit(1); });
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
