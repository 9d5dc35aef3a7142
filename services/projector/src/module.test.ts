import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { createMemoryBus } from '@muster/bus';
import { loadConfig } from '@muster/config';
import { openEmbeddedEventStore, withHashChain } from '@muster/event-store';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { Metrics, type Adapters, type ServiceInstance } from '@muster/runtime';
import { startTelemetry, type Telemetry } from '@muster/telemetry';
import { PROJECTOR_REBUILD_SUBJECT, type RebuildStatus } from '@muster/read-models';
import { projectorModule } from './module.ts';
import { appendScenario } from './testing/fixtures.ts';

let dir: string;
let adapters: Adapters;
let instance: ServiceInstance;
let telemetry: Telemetry;
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'projector-test', env: {}, metricReader: new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 }) });
  dir = await mkdtemp(join(tmpdir(), 'muster-projector-module-'));
  const rawStore = await openEmbeddedEventStore({ dir });
  const store = withHashChain(rawStore);
  const readStore = createMemoryReadStore();
  const bus = createMemoryBus();
  adapters = { store, rawStore, vault: null, readStore, bus, close: async () => { await bus.close(); await readStore.close(); await rawStore.close(); } };
  await appendScenario(store, 0); // a backlog at start: catch-up, not lag
  instance = await projectorModule.start({ adapters, config: loadConfig({ LOG_LEVEL: 'silent' }), announce: () => {}, metrics: new Metrics(() => []) });
});
afterAll(async () => {
  await instance?.stop();
  await adapters?.close();
  await telemetry?.shutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('projector service', () => {
  it('reports projection lag as the OpenTelemetry histogram muster.projection.lag and on its health details', async () => {
    await until(() => instance.ready());
    expect(instance.health!()).toMatchObject({ lagMs: { samples: 0, p50: null }, lagEvents: 0, error: null, rebuild: null });
    const before = await adapters.store.headPosition();
    await appendScenario(adapters.store, 1);
    const head = await adapters.store.headPosition();
    const appended = head - before;
    await until(() => instance.health!().position === head);
    const health = instance.health!() as { lagMs: { p50: number; p99: number; max: number; samples: number }; lastEventLagMs: number };
    expect(health.lagMs.samples).toBe(appended); // one per event appended after start
    expect(health.lagMs.p50).toBeGreaterThanOrEqual(0);
    expect(health.lagMs.p99).toBeGreaterThanOrEqual(health.lagMs.p50);
    expect(health.lagMs.max).toBeLessThan(5_000);
    expect(health.lastEventLagMs).toEqual(expect.any(Number));

    await telemetry.flush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const lag = metrics.find((m) => m.descriptor.name === 'muster.projection.lag') as HistogramMetricData | undefined;
    expect(lag?.descriptor.unit).toBe('ms');
    const point = lag!.dataPoints.find((d) => d.attributes.projection === 'main');
    expect(point?.value.count).toBe(appended);
  });

  it('runs a rebuild when asked over the bus and reports it', async () => {
    const res = await adapters.bus.request<{ status: RebuildStatus }>(PROJECTOR_REBUILD_SUBJECT, { action: 'start', wait: true }, { timeoutMs: 10_000 });
    const head = await adapters.store.headPosition();
    expect(res.data.status).toMatchObject({ state: 'done', phase: 'done', position: head, events: head + 1, error: null });
    expect(res.data.status.result?.eventsPerSecond).toBeGreaterThan(0);
    const status = await adapters.bus.request<{ status: RebuildStatus }>(PROJECTOR_REBUILD_SUBJECT, { action: 'status' }, { timeoutMs: 1_000 });
    expect(status.data.status.id).toBe(res.data.status.id);
    expect(instance.health!()).toMatchObject({ rebuild: { id: res.data.status.id, state: 'done' }, error: null });
    expect(instance.ready()).toBe(true);
  });
});
