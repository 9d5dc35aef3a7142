import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';
import { operatorRoutes } from './operator.ts';
import type { ServiceInstance } from './service.ts';

const OPERATOR = { authorization: 'Bearer operator' };

async function appWith(services: ServiceInstance[], maxLagEvents = 1_000) {
  const app = Fastify();
  await app.register(operatorRoutes, { services, metrics: new Metrics(() => services.flatMap((s) => (s.figures ? [{ service: s.name, figures: s.figures() }] : []))), maxLagEvents });
  return app;
}
const service = (name: string, over: Partial<ServiceInstance> = {}): ServiceInstance => ({
  name, ready: () => true, stop: async () => {}, authorizeOperator: async (req) => req.headers.authorization === OPERATOR.authorization, ...over,
});

describe('/readyz', () => {
  it('is 503 while a service is not ready or a projection lags more than the bound, with the reasons for an operator only', async () => {
    let lag = 5_000;
    let ready = false;
    const app = await appWith([service('projector', { figures: () => ({ lagEvents: lag }) }), service('mapping', { ready: () => ready })]);
    const anon = await app.inject({ url: '/readyz' });
    expect(anon.statusCode).toBe(503);
    expect(anon.json()).toEqual({ status: 'not_ready' });
    expect((await app.inject({ url: '/readyz', headers: OPERATOR })).json()).toEqual({
      status: 'not_ready', reasons: ['projector is 5000 events behind the log (at most 1000)', 'mapping is not ready'],
    });
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(503); // mapping still starting
    ready = true;
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503); // alive, but the read models are behind
    lag = 1_000;
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' });
    await app.close();
  });

  it('/metrics reads the projection lag and the run counts from the services when scraped', async () => {
    let lag = 7;
    const app = await appWith([service('projector', { figures: () => ({ lagEvents: lag, lastEventLagMs: 250 }) }), service('mapping', { figures: () => ({ remaps: { finished: 3, failed: 1 } }) })]);
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const text = (await app.inject({ url: '/metrics', headers: OPERATOR })).body;
    expect(text).toMatch(/^muster_projection_lag_events\{service="projector"\} 7$/m);
    expect(text).toMatch(/^muster_projection_last_event_lag_seconds\{service="projector"\} 0\.25$/m);
    expect(text).toMatch(/^muster_remap_runs\{outcome="finished"\} 3$/m);
    expect(text).toMatch(/^muster_remap_runs\{outcome="failed"\} 1$/m);
    lag = 0;
    expect((await app.inject({ url: '/metrics', headers: OPERATOR })).body).toMatch(/^muster_projection_lag_events\{service="projector"\} 0$/m);
    await app.close();
  });
});
