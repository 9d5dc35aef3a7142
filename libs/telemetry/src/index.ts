/**
 * OpenTelemetry for Muster processes.
 *
 * `startTelemetry()` turns the SDK on only when there is somewhere to send data
 * (OTEL_EXPORTER_OTLP_ENDPOINT or the `endpoint` argument, OTLP over HTTP/JSON);
 * otherwise it registers nothing and every helper below stays a cheap no-op
 * (no spans, no metrics, no context propagation: `injectTraceContext` adds nothing).
 *
 * Helpers only use `@opentelemetry/api`, so libraries can call them whether or
 * not the SDK is running.
 */
import {
  context,
  metrics,
  propagation,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Span,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export { SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';

// ------------------------------------------------------------------ setup

export interface TelemetryOptions {
  /** `service.name` of the exported data; OTEL_SERVICE_NAME overrides it */
  serviceName: string;
  /** OTLP/HTTP base URL (e.g. http://otel-collector:4318); default OTEL_EXPORTER_OTLP_ENDPOINT */
  endpoint?: string;
  /** where OTEL_* variables are read from (default process.env) */
  env?: Record<string, string | undefined>;
  /** extra span exporter, fed span by span (tests: InMemorySpanExporter); turns the SDK on */
  spanExporter?: SpanExporter;
  /** extra metric reader (tests: a PeriodicExportingMetricReader over an in-memory exporter); turns the SDK on */
  metricReader?: IMetricReader;
  /** how often metrics are pushed to the OTLP endpoint (default OTEL_METRIC_EXPORT_INTERVAL or 60000 ms) */
  metricExportIntervalMs?: number;
}

export interface Telemetry {
  /** false when nothing was configured and the SDK was not started */
  readonly enabled: boolean;
  /** exports whatever spans/metrics are pending, keeps running */
  flush(): Promise<void>;
  /** flushes pending spans/metrics and unregisters the SDK; safe to call twice */
  shutdown(): Promise<void>;
}

let running = false;

/**
 * Starts the OpenTelemetry Node SDK (traces + metrics, no auto-instrumentation,
 * no log export) when an OTLP endpoint is configured; a no-op otherwise.
 * One at a time per process.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  const endpoint = (options.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT)?.trim().replace(/\/+$/, '') || undefined;
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  if (disabled || (!endpoint && !options.spanExporter && !options.metricReader)) {
    return { enabled: false, flush: async () => {}, shutdown: async () => {} };
  }
  if (running) throw new Error('startTelemetry: telemetry is already running in this process');

  const spanProcessors: SpanProcessor[] = [];
  const metricReaders: IMetricReader[] = [];
  if (endpoint) {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` })));
    const interval = options.metricExportIntervalMs ?? (Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000);
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(30_000, interval),
      }),
    );
  }
  if (options.spanExporter) spanProcessors.push(new SimpleSpanProcessor(options.spanExporter));
  if (options.metricReader) metricReaders.push(options.metricReader);

  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || options.serviceName,
    spanProcessors,
    metricReaders,
    logRecordProcessors: [], // logs go to stdout via pino, not OTLP
    instrumentations: [],
  });
  sdk.start();
  running = true;

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    flush: async () => {
      type Flushable = { forceFlush?: () => Promise<void>; getDelegate?: () => unknown };
      const tracerProvider = trace.getTracerProvider() as Flushable;
      const sdkTracerProvider = (tracerProvider.getDelegate?.() ?? tracerProvider) as Flushable;
      const meterProvider = metrics.getMeterProvider() as Flushable;
      await Promise.all([sdkTracerProvider.forceFlush?.(), meterProvider.forceFlush?.()]);
    },
    shutdown: () =>
      (stopping ??= (async () => {
        try {
          await sdk.shutdown();
        } finally {
          // unregister the globals so a later start (tests) begins from scratch
          trace.disable();
          metrics.disable();
          propagation.disable();
          context.disable();
          running = false;
        }
      })()),
  };
}

// --------------------------------------------------------------- tracing

/** A tracer; safe to create before startTelemetry (the trace API delegates). */
export function tracer(name = 'muster'): Tracer {
  return trace.getTracer(name);
}

export interface WithSpanOptions {
  tracer?: Tracer;
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` inside a new active span (a child of the active one). A thrown or
 * rejected error is recorded on the span, marks it failed, and is rethrown.
 */
export function withSpan<T>(name: string, fn: (span: Span) => T, options: WithSpanOptions = {}): T {
  const t = options.tracer ?? tracer();
  return t.startActiveSpan(name, { kind: options.kind, attributes: options.attributes }, (span) => {
    const fail = (err: unknown) => {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      span.end();
    };
    let result: T;
    try {
      result = fn(span);
    } catch (err) {
      fail(err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          span.end();
          return value;
        },
        (err: unknown) => {
          fail(err);
          throw err;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

/**
 * Writes the active trace context into `carrier` (W3C `traceparent`, plus
 * `tracestate`/`baggage` when present) and returns it. Put the result into
 * event metadata or message headers. Empty when telemetry is off or no span is active.
 */
export function injectTraceContext<C extends Record<string, string>>(carrier: C = {} as C): C {
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context described by a carrier written by injectTraceContext (on top of the active one). */
export function extractTraceContext(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (c, key) => c[key],
    keys: (c) => Object.keys(c),
  });
}

/** Runs `fn` with `ctx` active (e.g. the context restored from event metadata). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

// --------------------------------------------------------------- metrics

/**
 * A meter. Unlike tracers, meters obtained before startTelemetry stay no-ops
 * forever (the metrics API has no delegating provider): get them after
 * starting, or use the lazily bound helpers below.
 */
export function meter(name = 'muster'): Meter {
  return metrics.getMeter(name);
}

/** Histogram buckets (ms) for projection lag: 5 ms … 5 min. */
export const PROJECTION_LAG_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];

export interface ProjectionLag {
  /** record a lag in milliseconds */
  record(lagMs: number, attributes: { projection: string } & Attributes): void;
  /** record the time elapsed since the event was recorded (Date, ISO string or epoch ms) */
  recordSince(eventTime: Date | string | number, attributes: { projection: string } & Attributes): void;
}

/**
 * Histogram `muster.projection.lag` (ms): time from an event being appended to
 * a projection having applied it. Binds to whichever meter provider is
 * registered when a value is recorded, so it can be created at import time.
 */
export function projectionLag(meterName = 'muster'): ProjectionLag {
  let boundTo: MeterProvider | undefined;
  let histogram: Histogram | undefined;
  const current = (): Histogram => {
    const provider = metrics.getMeterProvider();
    if (provider !== boundTo || !histogram) {
      boundTo = provider;
      histogram = provider.getMeter(meterName).createHistogram('muster.projection.lag', {
        description: 'Time from an event being appended to a projection having applied it',
        unit: 'ms',
        advice: { explicitBucketBoundaries: PROJECTION_LAG_BUCKETS_MS },
      });
    }
    return histogram;
  };
  const record: ProjectionLag['record'] = (lagMs, attributes) => {
    if (Number.isFinite(lagMs)) current().record(Math.max(0, lagMs), attributes);
  };
  return {
    record,
    recordSince: (eventTime, attributes) => {
      const at = eventTime instanceof Date ? eventTime.getTime() : new Date(eventTime).getTime();
      record(Date.now() - at, attributes);
    },
  };
}
