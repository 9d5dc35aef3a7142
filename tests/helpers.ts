import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@muster/config';
import { runServices, type RunningServices } from '@muster/runtime';
import { ALL_SERVICES, readStoreHostFor } from '../services/launcher/src/services.ts';

export const ADMIN = 'test-admin-token-0123456789';

export interface Stack {
  url: string;
  running: RunningServices;
  dataDir: string;
  admin: (method: string, path: string, body?: unknown, token?: string) => Promise<Answer>;
  scim: (token: string, method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;
  stop: (opts?: { keepData?: boolean }) => Promise<void>;
}

export type Answer = { status: number; body: any; headers: Headers; text: string };

const parseText = (text: string): unknown => {
  try { return text ? JSON.parse(text) : null; } catch { return text; }
};

/** A request over real HTTP (fetch). */
async function call(url: string, method: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: parseText(text) as any, headers: res.headers, text };
}

/**
 * The same request through Fastify's inject() on the running app: the whole request lifecycle
 * (routing, hooks, validation, serialisation) without a socket. Requests addressed to another
 * origin go over HTTP.
 */
async function inject(app: RunningServices['app'], origin: string, url: string, method: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): Promise<Answer> {
  const u = new URL(url, origin);
  if (u.origin !== new URL(origin).origin && u.hostname !== 'localhost') return call(url, method, token, body, headers, contentType);
  const res = await app.inject({
    method: method as 'GET', url: u.pathname + u.search,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
  return { status: res.statusCode, body: parseText(res.body) as any, headers: h, text: res.body };
}

/** Start the one-process runtime (every service, embedded adapters) on a random port. */
/**
 * `admin` and `scim` go through inject() by default (no socket; `transport: 'http'` for real HTTP);
 * `url` is always a real listening server, for tests that need the wire (fetch it directly).
 */
export async function startStack(env: Record<string, string> = {}, dataDir?: string, opts: { transport?: 'http' | 'inject' } = {}): Promise<Stack> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'muster-test-')));
  const port = String(await freePort());
  const config = loadConfig({ PORT: port, HOST: '127.0.0.1', MUSTER_DATA_DIR: dir, MUSTER_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', ...env });
  const running = await runServices(ALL_SERVICES, config, { handleSignals: false, announce: () => {}, readStoreHost: readStoreHostFor(env) });
  const url = running.url;
  const send: typeof call = opts.transport === 'http' ? call : (...a) => inject(running.app, url, ...a);
  return {
    url, running, dataDir: dir,
    admin: (method, path, body, token = ADMIN) => send(`${url}/api/v1${path}`, method, token, body),
    scim: (token, method, u, body, headers) => send(u.startsWith('http') ? u : `${url}${u}`, method, token, body, headers, 'application/scim+json'),
    stop: async (opts) => {
      await running.close();
      if (!opts?.keepData) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function natsAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ createConnection }) => {
      const s = createConnection({ host: '127.0.0.1', port: 4222 });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
      setTimeout(() => { s.destroy(); resolve(false); }, 1000);
    });
  });
}

/** A free TCP port on 127.0.0.1 (so public URLs carry the real port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ createServer }) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
  });
}

/** fetch options of an operator (the install-wide admin token): /healthz answers them with the services' details */
export const OPERATOR = { headers: { authorization: `Bearer ${ADMIN}` } };

/** The `muster` CLI run for real (cli/bin/muster.mjs) on a data directory; resolves with its exit code and output. */
export async function muster(args: string[], dataDir: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const bin = (await import('node:path')).join(import.meta.dirname, '../cli/bin/muster.mjs');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MUSTER_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
