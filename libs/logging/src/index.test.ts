import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, createRequestLogger, lazyChildLoggerFactory, loggerOptions, REDACTED, redactPaths } from './index.ts';

function capture() {
  const lines: string[] = [];
  return {
    lines,
    destination: { write: (line: string) => void lines.push(line) },
    json: () => lines.map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe('createLogger', () => {
  it('redacts Authorization headers wherever requests are usually logged', () => {
    const out = capture();
    const log = createLogger({ name: 'test', destination: out.destination });
    const headers = { authorization: 'Bearer abc.def', 'content-type': 'application/json' };
    log.info({ req: { method: 'GET', headers } }, 'incoming');
    log.info({ headers: { Authorization: 'Basic dXNlcjpwYXNz' } }, 'outgoing');
    log.info({ authorization: 'Bearer top-level' }, 'flat');

    const [first, second, third] = out.json();
    expect(first.req.headers).toEqual({ authorization: REDACTED, 'content-type': 'application/json' });
    expect(second.headers.Authorization).toBe(REDACTED);
    expect(third.authorization).toBe(REDACTED);
    expect(out.lines.join('')).not.toMatch(/abc\.def|dXNlcjpwYXNz|top-level/);
    expect(headers.authorization).toBe('Bearer abc.def'); // the caller's object is untouched
  });

  it('redacts fields named token at any depth up to the documented limit', () => {
    const out = capture();
    const log = createLogger({ name: 'test', destination: out.destination });
    log.info({ token: 't0', scim: { token: 't1', tenant: 'acme' }, a: { b: { token: 't2' } }, x: { y: { z: { token: 't3' } } } });
    const [line] = out.json();
    expect(line.token).toBe(REDACTED);
    expect(line.scim).toEqual({ token: REDACTED, tenant: 'acme' });
    expect(line.a.b.token).toBe(REDACTED);
    expect(line.x.y.z.token).toBe(REDACTED);
    expect(out.lines[0]).not.toMatch(/"t[0-3]"/);
  });

  it('redacts extra keys, including ones that need bracket notation', () => {
    const out = capture();
    const log = createLogger({ name: 'test', destination: out.destination, redactKeys: ['password', 'x-api-key'] });
    log.info({ password: 'p0', user: { password: 'p1' }, headers: { 'x-api-key': 'k1' }, 'x-api-key': 'k0' });
    const [line] = out.json();
    expect(line.password).toBe(REDACTED);
    expect(line.user.password).toBe(REDACTED);
    expect(line.headers['x-api-key']).toBe(REDACTED);
    expect(line['x-api-key']).toBe(REDACTED);
  });

  it('writes name, string level, ISO time and message; respects the level', () => {
    const out = capture();
    const log = createLogger({ name: 'projector', level: 'warn', destination: out.destination });
    log.info('hidden');
    log.warn({ lag: 3 }, 'behind');
    const lines = out.json();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ name: 'projector', level: 'warn', msg: 'behind', lag: 3 });
    expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time);
  });

  it('serialises errors under err with type, message and stack', () => {
    const out = capture();
    createLogger({ name: 'test', destination: out.destination }).error({ err: new TypeError('nope') }, 'failed');
    const [line] = out.json();
    expect(line.err).toMatchObject({ type: 'TypeError', message: 'nope' });
    expect(line.err.stack).toContain('TypeError: nope');
  });
});

describe('redactPaths', () => {
  it('covers depth 0 to 3 for each key', () => {
    expect(redactPaths(['token'])).toEqual(['token', '*.token', '*.*.token', '*.*.*.token']);
  });
});

describe('loggerOptions with Fastify', () => {
  it('keeps Authorization out of Fastify request logs', async () => {
    const out = capture();
    const app = Fastify({ logger: { ...loggerOptions({ name: 'api', level: 'info' }), stream: out.destination } });
    app.get('/whoami', async (request) => {
      request.log.info({ headers: request.headers }, 'headers seen');
      return { ok: true };
    });
    const res = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: 'Bearer s3cr3t-value' } });
    await app.close();
    expect(res.statusCode).toBe(200);
    const seen = out.json().find((l) => l.msg === 'headers seen');
    expect(seen?.headers.authorization).toBe(REDACTED);
    expect(seen?.name).toBe('api');
    expect(out.json().some((l) => l.msg === 'incoming request')).toBe(true);
    expect(out.lines.join('')).not.toContain('s3cr3t-value');
  });
});

describe('lazyChildLoggerFactory', () => {
  it('makes the request logger only when a line is written, with the request id and redaction as before', async () => {
    const out = capture();
    const logger = createLogger({ name: 'http', level: 'warn', destination: out.destination });
    let made = 0;
    const child = logger.child.bind(logger);
    logger.child = ((b: Record<string, unknown>, o?: Record<string, unknown>) => { made++; return child(b, o); }) as typeof logger.child;
    const app = Fastify({ loggerInstance: logger, childLoggerFactory: lazyChildLoggerFactory, genReqId: () => 'req-1' });
    app.get('/quiet', async (req) => { req.log.info('not at warn'); return { ok: true }; });
    app.get('/loud', async (req) => { req.log.warn({ headers: { authorization: 'Bearer secret' } }, 'watch out'); return { ok: true }; });
    await app.ready();
    const before = made; // Fastify may make children of its own at start
    await app.inject('/quiet');
    expect(made).toBe(before);
    expect(out.lines).toEqual([]);
    await app.inject('/loud');
    expect(made).toBe(before + 1);
    const [line] = out.json();
    expect(line).toMatchObject({ level: 'warn', reqId: 'req-1', msg: 'watch out', headers: { authorization: REDACTED } });
    await app.close();
  });

  it('answers level questions without making the child, and hands out real children', () => {
    const out = capture();
    const logger = createLogger({ name: 'x', level: 'info', destination: out.destination });
    const lazy = lazyChildLoggerFactory(logger, { reqId: 'r2' }, {});
    expect(lazy.level).toBe('info');
    expect(lazy.isLevelEnabled('debug')).toBe(false);
    lazy.debug('dropped');
    lazy.child({ part: 'inner' }).info('nested');
    expect(out.json()).toEqual([expect.objectContaining({ reqId: 'r2', part: 'inner', msg: 'nested' })]);
  });
});

describe('createRequestLogger', () => {
  it('writes the request line in the same format and to the same destination as the service logger, level-gated', () => {
    const out = capture();
    const log = createLogger({ name: 'muster', destination: out.destination });
    const requests = createRequestLogger({ name: 'muster', destination: out.destination });
    log.info('started');
    requests.info({ reqId: 'r1', req: { method: 'GET', url: '/scim/v2/lists/l1/Users' }, res: { statusCode: 200 }, responseTime: 0.4 }, 'request completed');
    const [started, line] = out.json();
    expect(Object.keys(line).sort()).toEqual([...Object.keys(started), 'reqId', 'req', 'res', 'responseTime'].sort());
    expect(line).toMatchObject({ level: 'info', name: 'muster', msg: 'request completed', reqId: 'r1', res: { statusCode: 200 } });
    const quiet = capture();
    createRequestLogger({ name: 'muster', level: 'warn', destination: quiet.destination }).info('not at warn');
    expect(quiet.lines).toEqual([]);
  });
});
