import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@muster/config';
import { openEmbeddedEventStore } from '@muster/event-store/embedded';
import { runServices, type ServiceModule } from './service.ts';

const dirs: string[] = [];
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }); });

/** a service whose POST /slow waits for `gate`, then appends one event through the adapters */
function slowService(gate: Promise<void>, entered: () => void, outcome: string[]): ServiceModule {
  return {
    name: 'slow',
    start: async ({ adapters }) => ({
      name: 'slow', ready: () => true, stop: async () => {},
      mount: async (app) => {
        app.post('/slow', async () => {
          entered();
          await gate;
          try {
            await adapters.store.appendToStream('slow-1', [{ eventId: crypto.randomUUID(), type: 'SlowDone', data: {}, metadata: {} }], { expectedRevision: 'any' });
            outcome.push('appended');
          } catch (err) {
            outcome.push(`failed: ${(err as Error).message}`);
          }
          return { ok: true };
        });
      },
    }),
  };
}

async function start(mod: ServiceModule, drainTimeoutMs?: number) {
  const dir = await mkdtemp(join(tmpdir(), 'muster-drain-'));
  dirs.push(dir);
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MUSTER_DATA_DIR: dir, LOG_LEVEL: 'silent', NATS_URL: '' });
  const running = await runServices([mod], config, { handleSignals: false, announce: () => {}, drainTimeoutMs });
  return { dir, running };
}

/** sends POST /slow over a real socket and gives up on it once the handler has started */
async function abandonedRequest(url: string, inHandler: Promise<void>) {
  const ac = new AbortController();
  const sent = fetch(`${url}/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: ac.signal }).catch(() => 'aborted');
  await inHandler;
  ac.abort();
  expect(await sent).toBe('aborted');
}

describe('runServices close()', () => {
  it('waits for the handler of a request its client gave up on, so its write lands before the adapters close', async () => {
    let release!: () => void;
    let entered!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const inHandler = new Promise<void>((r) => { entered = r; });
    const outcome: string[] = [];
    const { dir, running } = await start(slowService(gate, entered, outcome));
    await abandonedRequest(running.url, inHandler);

    let closed = false;
    const closing = running.close().then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 150));
    expect(closed).toBe(false); // the server stopped listening, the handler is still running
    release();
    await closing;
    expect(outcome).toEqual(['appended']);
    const store = await openEmbeddedEventStore({ dir: join(dir, 'events') });
    try {
      expect((await store.readStream('slow-1')).map((e) => e.type)).toEqual(['SlowDone']);
    } finally {
      await store.close();
    }
  });

  it('waits a bounded time: a handler that never ends does not hold the shutdown', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => { entered = r; });
    const outcome: string[] = [];
    const { running } = await start(slowService(new Promise<void>(() => {}), entered, outcome), 200);
    await abandonedRequest(running.url, inHandler);
    const t0 = performance.now();
    await running.close();
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(5_000);
  });

  it('requests that completed leave nothing to wait for', async () => {
    const { running } = await start(slowService(Promise.resolve(), () => {}, []), 60_000);
    for (let i = 0; i < 3; i++) expect((await fetch(`${running.url}/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    expect((await fetch(`${running.url}/nowhere`)).status).toBe(404);
    const t0 = performance.now();
    await running.close();
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
