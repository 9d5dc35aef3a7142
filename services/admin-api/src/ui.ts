import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** where the admin console's build is by default: services/admin-ui/dist beside this service's folder */
export const DEFAULT_ADMIN_UI_DIR = fileURLToPath(new URL('../../admin-ui/dist', import.meta.url));

/** the console's own paths (each screen has a URL): answered with its index.html, which routes on the client */
const UI_PATHS = ['/', '/lists', '/lists/*', '/audit'];

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Serves the built admin console (a Vite build of services/admin-ui): its hashed assets under
 * /assets/ (cached for a year), and index.html for / and the console's screen URLs. Without a
 * build nothing is registered (the API works the same) and the caller is told why.
 */
export async function serveAdminUi(app: FastifyInstance, dir: string): Promise<{ served: boolean; reason?: string }> {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return { served: false, reason: `no admin console build in ${dir} (npm install builds it; or npm run build -w @muster/admin-ui)` };
  const html = readFileSync(index);
  await app.register(fastifyStatic, {
    root: join(dir, 'assets'), prefix: '/assets/', decorateReply: false, index: false, wildcard: true,
    immutable: true, maxAge: '365d', cacheControl: true,
  });
  for (const url of UI_PATHS) app.get(url, { schema: { hide: true } }, async (_req, reply) => reply.headers(HTML_HEADERS).send(html));
  return { served: true };
}
