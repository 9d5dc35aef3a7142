import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** seconds; from a fast-path hit (tens of µs) to a slow changeset apply */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** the service-level figures /metrics reads from a service's health at scrape time */
export interface ServiceFigures {
  /** projector: events behind the head, and the latest event's lag */
  lagEvents?: number;
  lastEventLagMs?: number | null;
  /** mapping: remaps finished and failed */
  remaps?: { finished: number; failed: number };
  /** entra-sync: runs finished and failed */
  runs?: { finished: number; failed: number };
}

/**
 * The Prometheus metrics of one process (`GET /metrics`), made with prom-client: a registry per
 * runServices (so two stacks in one test process count apart), the Node process's default metrics,
 * and Muster's own. Counters kept by services (remaps, sync runs) and the projection's lag are read
 * from the services when scraped, so the services keep one source of truth for /healthz and here.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly scim: Counter<'idp' | 'method' | 'resource' | 'status'>;
  private readonly appends: Histogram<'outcome'>;
  private readonly syncs: Histogram;
  private readonly syncBytes: Counter;

  constructor(figures: () => Array<{ service: string; figures: ServiceFigures }>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'muster_' });
    this.requests = new Histogram({ name: 'muster_http_request_duration_seconds', help: 'HTTP requests by method, route pattern and status code, and how long they took', labelNames: ['method', 'route', 'status'], buckets: REQUEST_BUCKETS, registers: [this.registry] });
    this.scim = new Counter({ name: 'muster_scim_requests_total', help: 'SCIM requests by the identity provider that sent them (from its User-Agent), method, resource type and status code', labelNames: ['idp', 'method', 'resource', 'status'], registers: [this.registry] });
    this.appends = new Histogram({ name: 'muster_event_store_append_seconds', help: 'Appends to the event store (each returns once its events are durable), by outcome', labelNames: ['outcome'], buckets: REQUEST_BUCKETS, registers: [this.registry] });
    this.syncs = new Histogram({ name: 'muster_event_store_sync_seconds', help: 'Durable group writes of the embedded event log (write + data sync in one call)', buckets: SYNC_BUCKETS, registers: [this.registry] });
    this.syncBytes = new Counter({ name: 'muster_event_store_synced_bytes_total', help: 'Bytes written durably to the embedded event log', registers: [this.registry] });
    const of = (pick: (f: ServiceFigures) => number | null | undefined) => figures().flatMap(({ service, figures: f }) => {
      const v = pick(f);
      return typeof v === 'number' ? [{ service, value: v }] : [];
    });
    new Gauge({
      name: 'muster_projection_lag_events', help: 'Events in the log not yet applied to the read models', labelNames: ['service'], registers: [this.registry],
      collect() { this.reset(); for (const { service, value } of of((f) => f.lagEvents)) this.set({ service }, value); },
    });
    new Gauge({
      name: 'muster_projection_last_event_lag_seconds', help: 'Time from the latest applied event\'s append to its projection', labelNames: ['service'], registers: [this.registry],
      collect() { this.reset(); for (const { service, value } of of((f) => (f.lastEventLagMs == null ? null : f.lastEventLagMs / 1000))) this.set({ service }, value); },
    });
    new Gauge({
      name: 'muster_remap_runs', help: 'Remaps of existing people after a mapping change, since this process started, by outcome', labelNames: ['outcome'], registers: [this.registry],
      collect() { this.reset(); for (const o of ['finished', 'failed'] as const) this.set({ outcome: o }, of((f) => f.remaps?.[o]).reduce((n, x) => n + x.value, 0)); },
    });
    new Gauge({
      name: 'muster_entra_sync_runs', help: 'Entra ID directory sync runs, since this process started, by outcome', labelNames: ['outcome'], registers: [this.registry],
      collect() { this.reset(); for (const o of ['finished', 'failed'] as const) this.set({ outcome: o }, of((f) => f.runs?.[o]).reduce((n, x) => n + x.value, 0)); },
    });
  }

  /** a request Fastify routed (route = its pattern, so ids do not explode the label set) or a fast path answered */
  request(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe({ method, route, status: String(status) }, seconds);
  }

  scimRequest(idp: string, method: string, resource: string, status: number): void {
    this.scim.inc({ idp, method, resource, status: String(status) });
  }

  append(seconds: number, ok: boolean): void {
    this.appends.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
  }

  sync(seconds: number, bytes: number): void {
    this.syncs.observe(seconds);
    this.syncBytes.inc(bytes);
  }

  text(): Promise<string> { return this.registry.metrics(); }
  get contentType(): string { return this.registry.contentType; }
}
