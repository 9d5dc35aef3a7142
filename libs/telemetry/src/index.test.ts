import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  extractTraceContext,
  injectTraceContext,
  projectionLag,
  startTelemetry,
  withContext,
  withSpan,
  type Telemetry,
} from './index.ts';

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

/** A stand-in OTLP/HTTP collector on 127.0.0.1 with a random port. */
async function fakeCollector(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: String(req.headers['content-type']),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, server };
}

let telemetry: Telemetry | undefined;
let collector: Awaited<ReturnType<typeof fakeCollector>> | undefined;

beforeEach(() => {
  telemetry = undefined;
  collector = undefined;
});
afterEach(async () => {
  await telemetry?.shutdown();
  if (collector) await new Promise((resolve) => collector!.server.close(resolve));
});

describe('startTelemetry without an endpoint', () => {
  it('is a no-op: nothing recorded, nothing propagated', async () => {
    telemetry = startTelemetry({ serviceName: 'muster-test', env: {} });
    expect(telemetry.enabled).toBe(false);
    const recording = withSpan('noop', (span) => span.isRecording());
    expect(recording).toBe(false);
    expect(withSpan('noop', () => injectTraceContext())).toEqual({});
    projectionLag().record(5, { projection: 'roster' }); // must not throw
    await telemetry.shutdown();
  });

  it('stays off when OTEL_SDK_DISABLED=true even with an endpoint', () => {
    telemetry = startTelemetry({
      serviceName: 'muster-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' },
    });
    expect(telemetry.enabled).toBe(false);
  });
});

describe('startTelemetry with an OTLP endpoint', () => {
  it('exports spans to <endpoint>/v1/traces and the lag histogram to /v1/metrics', async () => {
    collector = await fakeCollector();
    telemetry = startTelemetry({ serviceName: 'muster-test', endpoint: collector.url, env: {} });
    expect(telemetry.enabled).toBe(true);

    const lag = projectionLag();
    await withSpan('roster.sync', async (span) => {
      span.setAttribute('muster.roster', 'r-1');
      await withSpan('roster.sync.child', async () => {});
    });
    lag.record(120, { projection: 'roster' });
    lag.recordSince(new Date(Date.now() - 50), { projection: 'roster' });
    await telemetry.shutdown(); // flushes both pipelines

    const traces = collector.received.filter((r) => r.url === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(traces[0].method).toBe('POST');
    expect(traces[0].contentType).toContain('application/json');
    const body = traces.map((t) => t.body).join('\n');
    expect(body).toContain('roster.sync.child');
    expect(body).toContain('"muster.roster"');
    expect(body).toContain('muster-test'); // service.name resource attribute

    const metricsBody = collector.received.filter((r) => r.url === '/v1/metrics').map((r) => r.body).join('\n');
    expect(metricsBody).toContain('muster.projection.lag');
    expect(metricsBody).toContain('"roster"');
  });

  it('reads OTEL_EXPORTER_OTLP_ENDPOINT and lets OTEL_SERVICE_NAME override the service name', async () => {
    collector = await fakeCollector();
    telemetry = startTelemetry({
      serviceName: 'code-default',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`, OTEL_SERVICE_NAME: 'from-env' },
    });
    withSpan('env-configured', () => {});
    await telemetry.shutdown();
    const body = collector.received.filter((r) => r.url === '/v1/traces').map((r) => r.body).join('\n');
    expect(body).toContain('env-configured');
    expect(body).toContain('from-env');
    expect(body).not.toContain('code-default');
  });

  it('refuses a second concurrent start', async () => {
    telemetry = startTelemetry({ serviceName: 'a', spanExporter: new InMemorySpanExporter(), env: {} });
    expect(() => startTelemetry({ serviceName: 'b', spanExporter: new InMemorySpanExporter(), env: {} })).toThrow(
      /already running/,
    );
  });
});

describe('trace context helpers', () => {
  it('inject/extract round-trips a traceparent and parents later spans on it', async () => {
    const exporter = new InMemorySpanExporter();
    telemetry = startTelemetry({ serviceName: 'muster-test', spanExporter: exporter, env: {} });

    // "append": remember the trace context in event metadata
    const metadata = withSpan('append', (span) => {
      const carrier = injectTraceContext();
      const { traceId, spanId } = span.spanContext();
      expect(carrier.traceparent).toBe(`00-${traceId}-${spanId}-01`);
      return { ...carrier };
    });
    expect(injectTraceContext()).toEqual({}); // outside the span: nothing active

    // "projector": later, elsewhere, restore it
    const restored = extractTraceContext(metadata);
    expect(trace.getSpanContext(restored)).toMatchObject({ isRemote: true });
    await withContext(restored, () => withSpan('project', async () => {}));
    await telemetry.flush();

    const spans = exporter.getFinishedSpans();
    const append = spans.find((s) => s.name === 'append');
    const project = spans.find((s) => s.name === 'project');
    expect(append).toBeDefined();
    expect(project).toBeDefined();
    expect(project!.spanContext().traceId).toBe(append!.spanContext().traceId);
    expect(project!.parentSpanContext?.spanId).toBe(append!.spanContext().spanId);
  });

  it('withSpan records failures and rethrows them (sync and async)', async () => {
    const exporter = new InMemorySpanExporter();
    telemetry = startTelemetry({ serviceName: 'muster-test', spanExporter: exporter, env: {} });
    expect(() =>
      withSpan('sync-fail', () => {
        throw new Error('sync boom');
      }),
    ).toThrow('sync boom');
    await expect(withSpan('async-fail', async () => Promise.reject(new Error('async boom')))).rejects.toThrow(
      'async boom',
    );
    expect(withSpan('ok', () => 42)).toBe(42);
    await telemetry.flush();

    const byName = new Map(exporter.getFinishedSpans().map((s) => [s.name, s]));
    expect(byName.get('sync-fail')?.status).toMatchObject({ code: 2, message: 'sync boom' });
    expect(byName.get('async-fail')?.status).toMatchObject({ code: 2, message: 'async boom' });
    expect(byName.get('async-fail')?.events[0]?.name).toBe('exception');
    expect(byName.get('ok')?.status.code).toBe(0);
  });
});
