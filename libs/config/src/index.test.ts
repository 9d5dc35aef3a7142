import { describe, expect, it } from 'vitest';
import { ConfigError, defineServiceConfig, envVar, loadConfig } from './index.ts';

function problemsFor(env: Record<string, string | undefined>): Array<{ variable: string; message: string }> {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('gives a working embedded/in-memory setup from an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      dataDir: './data',
      adminToken: undefined,
      publicUrl: 'http://localhost:8080',
      eventStore: { kind: 'embedded' },
      readStore: { kind: 'memory' },
      bus: { kind: 'memory' },
      telemetry: { otlpEndpoint: undefined, serviceName: undefined },
      logLevel: 'info',
    });
    expect(c.env.MONGODB_DB).toBe('muster');
  });

  it('reads how long a changeset apply waits for its run (MUSTER_CHANGESET_WAIT_MS, default 2 s)', () => {
    expect(loadConfig({}).changesetWaitMs).toBe(2_000);
    expect(loadConfig({ MUSTER_CHANGESET_WAIT_MS: '0' }).changesetWaitMs).toBe(0);
    expect(() => loadConfig({ MUSTER_CHANGESET_WAIT_MS: '-1' })).toThrow(/MUSTER_CHANGESET_WAIT_MS/);
  });

  it('reads how long a mapping save waits for its remap (MUSTER_REMAP_WAIT_MS, default 20 s)', () => {
    expect(loadConfig({}).remapWaitMs).toBe(20_000);
    expect(loadConfig({ MUSTER_REMAP_WAIT_MS: '0' }).remapWaitMs).toBe(0);
    expect(() => loadConfig({ MUSTER_REMAP_WAIT_MS: 'soon' })).toThrow(/MUSTER_REMAP_WAIT_MS: must be a whole number from 0 to 600000 \(got "soon"\)/);
  });

  it('derives publicUrl from PORT and treats blank variables as unset', () => {
    const c = loadConfig({ PORT: '9090', HOST: '', MUSTER_PUBLIC_URL: '  ', LOG_LEVEL: '' });
    expect(c.port).toBe(9090);
    expect(c.host).toBe('0.0.0.0');
    expect(c.publicUrl).toBe('http://localhost:9090');
    expect(c.logLevel).toBe('info');
  });

  it('picks the NATS bus when NATS_URL is set and memory otherwise, unless MUSTER_BUS says so', () => {
    expect(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' }).bus).toEqual({
      kind: 'nats',
      url: 'nats://127.0.0.1:4222',
      servers: ['nats://127.0.0.1:4222'],
    });
    expect(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222', MUSTER_BUS: 'memory' }).bus).toEqual({ kind: 'memory' });
    expect(loadConfig({ NATS_URL: 'nats://a:4222, nats://b:4222' }).bus).toMatchObject({
      servers: ['nats://a:4222', 'nats://b:4222'],
    });
  });

  it('reads the full production setup', () => {
    const c = loadConfig({
      PORT: '80',
      HOST: '127.0.0.1',
      MUSTER_DATA_DIR: '/var/lib/muster',
      MUSTER_ADMIN_TOKEN: 's3cret',
      MUSTER_EVENT_STORE: 'EventStoreDB',
      EVENTSTORE_URL: 'esdb://es1:2113,es2:2113?tls=false',
      MUSTER_READ_STORE: 'mongodb',
      MONGODB_URL: 'mongodb://u:p@m1:27017,m2:27017/?replicaSet=rs0',
      MONGODB_DB: 'muster_prod',
      MUSTER_BUS: 'nats',
      NATS_URL: 'nats://nats:4222',
      MUSTER_PUBLIC_URL: 'https://muster.example.com/base/',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_SERVICE_NAME: 'muster-api',
      LOG_LEVEL: 'DEBUG',
    });
    expect(c).toMatchObject({
      port: 80,
      host: '127.0.0.1',
      dataDir: '/var/lib/muster',
      adminToken: 's3cret',
      publicUrl: 'https://muster.example.com/base',
      eventStore: { kind: 'eventstoredb', url: 'esdb://es1:2113,es2:2113?tls=false' },
      readStore: { kind: 'mongodb', url: 'mongodb://u:p@m1:27017,m2:27017/?replicaSet=rs0', db: 'muster_prod' },
      bus: { kind: 'nats', servers: ['nats://nats:4222'] },
      telemetry: { otlpEndpoint: 'http://otel-collector:4318', serviceName: 'muster-api' },
      logLevel: 'debug',
    });
  });
});

describe('loadConfig errors', () => {
  it.each([
    ['PORT', '80a', /whole number from 0 to 65535.*"80a"/],
    ['PORT', '70000', /whole number from 0 to 65535/],
    ['PORT', '-1', /whole number/],
    ['MUSTER_EVENT_STORE', 'postgres', /one of: embedded, eventstoredb.*"postgres"/],
    ['MUSTER_READ_STORE', 'redis', /one of: memory, mongodb/],
    ['MUSTER_BUS', 'kafka', /one of: memory, nats/],
    ['LOG_LEVEL', 'loud', /one of: fatal, error, warn, info, debug, trace, silent/],
    ['EVENTSTORE_URL', 'http://es:2113', /esdb:\/\//],
    ['MONGODB_URL', 'postgres://x', /mongodb:\/\/ or mongodb\+srv:\/\//],
    ['MONGODB_DB', 'a/b', /database name/],
    ['NATS_URL', 'http://nats:4222', /NATS server URL/],
    ['NATS_URL', 'nats://a:4222,,nats://b c', /NATS server URL/],
    ['MUSTER_PUBLIC_URL', 'muster.example.com', /http:\/\/ or https:\/\/ URL/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317', /http:\/\/ or https:\/\/ URL/],
  ])('%s=%s is rejected', (variable, value, message) => {
    const problems = problemsFor({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0].variable).toBe(variable);
    expect(problems[0].message).toMatch(message);
  });

  it.each([
    [{ MUSTER_EVENT_STORE: 'eventstoredb' }, 'EVENTSTORE_URL', /required when MUSTER_EVENT_STORE=eventstoredb/],
    [{ MUSTER_READ_STORE: 'mongodb' }, 'MONGODB_URL', /required when MUSTER_READ_STORE=mongodb/],
    [{ MUSTER_BUS: 'nats' }, 'NATS_URL', /required when MUSTER_BUS=nats/],
    [{ MUSTER_READ_STORE: 'mongodb', MONGODB_URL: '' }, 'MONGODB_URL', /required/],
  ])('cross-field requirement %j', (env, variable, message) => {
    const problems = problemsFor(env);
    expect(problems).toEqual([{ variable, message: expect.stringMatching(message) }]);
  });

  it('lists every bad variable in one readable message, never a zod dump', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', MUSTER_READ_STORE: 'mongodb', LOG_LEVEL: 'chatty', MUSTER_EVENT_STORE: 'eventstoredb' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toBe(
      [
        'Invalid configuration (4 problems):',
        '  - PORT: must be a whole number from 0 to 65535 (got "eighty")',
        '  - LOG_LEVEL: must be one of: fatal, error, warn, info, debug, trace, silent (got "chatty")',
        '  - EVENTSTORE_URL: is required when MUSTER_EVENT_STORE=eventstoredb',
        '  - MONGODB_URL: is required when MUSTER_READ_STORE=mongodb',
      ].join('\n'),
    );
    expect((error as Error).name).toBe('ConfigError');
  });

  it('does not echo secrets or URL passwords', () => {
    const problems = problemsFor({ MONGODB_URL: 'mongo://admin:hunter2@db:27017' });
    expect(problems[0].message).toContain('mongo://admin:***@db:27017');
    expect(problems[0].message).not.toContain('hunter2');
    const tokenProblem = defineServiceConfig({ SCIM_TOKEN: envVar.int() });
    expect(() => tokenProblem({ SCIM_TOKEN: 'abc-secret' })).toThrow(/SCIM_TOKEN: must be a whole number.*\(value hidden\)/);
    expect(() => tokenProblem({ SCIM_TOKEN: 'abc-secret' })).not.toThrow(/abc-secret/);
  });
});

describe('defineServiceConfig', () => {
  const loadScim = defineServiceConfig(
    {
      SCIM_PAGE_SIZE: envVar.int({ min: 1, max: 1000 }).default(100),
      SCIM_STRICT: envVar.bool().default(false),
      SCIM_UPSTREAM: envVar.httpUrl().optional(),
    },
    {
      rules: (env) =>
        env.SCIM_STRICT === 'true' && !env.SCIM_UPSTREAM
          ? [{ variable: 'SCIM_UPSTREAM', message: 'is required when SCIM_STRICT=true' }]
          : [],
    },
  );

  it('adds typed service variables next to the base config', () => {
    const c = loadScim({ PORT: '3000', SCIM_PAGE_SIZE: '50', SCIM_STRICT: 'yes', SCIM_UPSTREAM: 'http://up/' });
    expect(c.port).toBe(3000);
    expect(c.service).toEqual({ SCIM_PAGE_SIZE: 50, SCIM_STRICT: true, SCIM_UPSTREAM: 'http://up' });
    const pageSize: number = c.service.SCIM_PAGE_SIZE; // typed
    expect(pageSize).toBe(50);
    expect(loadScim({}).service).toEqual({ SCIM_PAGE_SIZE: 100, SCIM_STRICT: false, SCIM_UPSTREAM: undefined });
  });

  it('reports base, service and rule problems together', () => {
    expect(() => loadScim({ PORT: 'x', SCIM_PAGE_SIZE: '0', SCIM_STRICT: 'true' })).toThrow(
      new ConfigError([
        { variable: 'PORT', message: 'must be a whole number from 0 to 65535 (got "x")' },
        { variable: 'SCIM_PAGE_SIZE', message: 'must be a whole number from 1 to 1000 (got "0")' },
        { variable: 'SCIM_UPSTREAM', message: 'is required when SCIM_STRICT=true' },
      ]).message,
    );
  });

  it('refuses to redefine a base variable', () => {
    expect(() => defineServiceConfig({ PORT: envVar.port() })).toThrow(/PORT is already a base variable/);
  });
});
