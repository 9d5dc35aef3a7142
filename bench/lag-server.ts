/**
 * The server side of the projection-lag bench (bench/projection.ts, section a): the one-process
 * stack on the embedded adapters, as `npm start` runs it, in a child process of the bench so the
 * load generator does not share its event loop. It records every event's projection lag
 * (taken where the projector runs: its worker thread, as `npm start` runs it) between the parent's 'start' and 'stop' messages and answers 'stop'
 * with the samples, once the projector has caught up with the head of the log.
 *
 * Run by bench/projection.ts: `node --import tsx bench/lag-server.ts <dataDir> <adminToken> <port>` with an IPC channel.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { loadConfig } from '@muster/config';
import { projectionOf } from '@muster/projector';
import { runServices } from '@muster/runtime';
import { ALL_SERVICES, readStoreHostFor } from '../services/launcher/src/services.ts';

export type LagServerMessage =
  | { kind: 'ready'; url: string }
  | { kind: 'result'; samples: number[]; caughtUp: boolean; eventLoopDelayP99Ms: number; eventLoopDelayMaxMs: number; gcPauseTotalMs: number; gcPauseMaxMs: number };

const [dataDir, adminToken, port] = process.argv.slice(2);
if (!dataDir || !adminToken || !port || !process.send) throw new Error('usage: run by bench/projection.ts with an IPC channel: lag-server.ts <dataDir> <adminToken> <port>');
const send = (m: LagServerMessage) => process.send!(m);

const config = loadConfig({ ...process.env, PORT: port, HOST: '127.0.0.1', MUSTER_DATA_DIR: dataDir, MUSTER_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent', NATS_URL: '' });
const running = await runServices(ALL_SERVICES, config, { handleSignals: false, announce: () => {}, readStoreHost: readStoreHostFor() });
const projector = projectionOf(running.services.find((s) => s.name === 'projector'));
if (!projector) throw new Error('no projector in the stack');

let samples: number[] = [];
let stopSampling: (() => void) | null = null;
const loop = monitorEventLoopDelay({ resolution: 5 });
const pauses: number[] = [];
const gc = new PerformanceObserver((list) => { for (const e of list.getEntries()) pauses.push(e.duration); });

process.on('message', (m: unknown) => {
  if (m === 'start') {
    samples = [];
    pauses.length = 0;
    stopSampling = projector.onLagSample((ms) => samples.push(ms));
    loop.reset();
    loop.enable();
    gc.observe({ entryTypes: ['gc'] });
  } else if (m === 'stop') {
    void (async () => {
      loop.disable();
      gc.disconnect();
      const head = await running.adapters.store.headPosition();
      const caughtUp = await projector.waitFor(head, 10_000);
      stopSampling?.();
      send({
        kind: 'result', samples, caughtUp,
        eventLoopDelayP99Ms: loop.percentile(99) / 1e6, eventLoopDelayMaxMs: loop.max / 1e6,
        gcPauseTotalMs: pauses.reduce((a, b) => a + b, 0), gcPauseMaxMs: Math.max(0, ...pauses),
      });
    })();
  } else if (m === 'exit') {
    void running.close().then(() => process.exit(0));
  }
});
send({ kind: 'ready', url: running.url });
