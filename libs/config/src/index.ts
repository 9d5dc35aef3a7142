/**
 * Environment configuration. `loadConfig(env)` validates the variables every
 * Muster process understands and returns a typed, structured object; anything
 * wrong is reported at once in one ConfigError listing every bad variable.
 * Services with variables of their own use `defineServiceConfig(shape)`.
 *
 * Empty variables (`FOO=` in a compose file) count as unset.
 */
import { z } from 'zod';

// ------------------------------------------------------------------ errors

export interface ConfigProblem {
  /** the environment variable at fault */
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`Invalid configuration (${count}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
  }
}

// ------------------------------------------------------------- var helpers

const WHOLE = /^\d+$/;

/**
 * Schemas for single environment variables (all take the raw string). Use them
 * in per-service shapes so messages read the same everywhere.
 */
export const envVar = {
  /** a TCP port, 0–65535 */
  port: () =>
    z
      .string()
      .trim()
      .refine((v) => WHOLE.test(v) && Number(v) <= 65_535, { error: 'must be a whole number from 0 to 65535' })
      .transform(Number),

  /** a whole number within bounds */
  int: (opts: { min?: number; max?: number } = {}) => {
    const min = opts.min ?? 0;
    const max = opts.max ?? Number.MAX_SAFE_INTEGER;
    return z
      .string()
      .trim()
      .refine((v) => WHOLE.test(v) && Number(v) >= min && Number(v) <= max, {
        error: `must be a whole number from ${min} to ${max}`,
      })
      .transform(Number);
  },

  /** true/false, 1/0, yes/no, on/off (any case) */
  bool: () =>
    z
      .string()
      .trim()
      .toLowerCase()
      .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
        error: 'must be true or false',
      })
      .transform((v) => ['true', '1', 'yes', 'on'].includes(v)),

  /** one of a fixed set of values (any case) */
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) =>
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(values, { error: `must be one of: ${values.join(', ')}` })),

  /** an http(s) URL; trailing slashes are removed */
  httpUrl: () =>
    z
      .string()
      .trim()
      .refine(
        (v) => {
          try {
            const u = new URL(v);
            return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
          } catch {
            return false;
          }
        },
        { error: 'must be an http:// or https:// URL' },
      )
      .transform((v) => v.replace(/\/+$/, '')),

  /**
   * a connection string starting with one of the schemes (checked loosely:
   * multi-host strings such as `mongodb://a,b/?replicaSet=rs` are not WHATWG URLs)
   */
  connectionString: (schemes: readonly string[]) =>
    z
      .string()
      .trim()
      .refine((v) => schemes.some((s) => v.startsWith(`${s}://`) && v.length > s.length + 3 && !/\s/.test(v)), {
        error: `must be a connection string starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
      }),

  /** a non-empty string */
  text: () => z.string().trim().min(1, { error: 'must not be empty' }),
};

/** [scheme://][user[:pass]@]host[:port] with host a name, IPv4 or [IPv6] */
const NATS_SERVER = /^((nats|tls|ws|wss):\/\/)?([^\s/:@,]+(:[^\s/@,]*)?@)?([^\s/:@,[\]]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?\/?$/;

function natsServers(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

// -------------------------------------------------------------- base shape

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variables every Muster process reads (raw env names → schema). */
export const baseEnvShape = {
  PORT: envVar.port().default(8080),
  HOST: envVar.text().default('0.0.0.0'),
  MUSTER_DATA_DIR: envVar.text().default('./data'),
  MUSTER_ADMIN_TOKEN: envVar.text().optional(),
  MUSTER_EVENT_STORE: envVar.oneOf(['embedded', 'eventstoredb']).default('embedded'),
  EVENTSTORE_URL: envVar.connectionString(['esdb', 'esdb+discover']).optional(),
  MUSTER_READ_STORE: envVar.oneOf(['memory', 'mongodb']).default('memory'),
  MONGODB_URL: envVar.connectionString(['mongodb', 'mongodb+srv']).optional(),
  MONGODB_DB: z
    .string()
    .trim()
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/, { error: 'must be a MongoDB database name (1–63 chars, no /\\. "$*<>:|?)' })
    .default('muster'),
  /** default: 'nats' when NATS_URL is set, else 'memory' (decided in loadConfig) */
  MUSTER_BUS: envVar.oneOf(['memory', 'nats']).optional(),
  NATS_URL: z
    .string()
    .trim()
    .refine((v) => natsServers(v).length > 0 && natsServers(v).every((s) => NATS_SERVER.test(s)), {
      error: 'must be a NATS server URL (nats://host:4222) or a comma-separated list of them',
    })
    .optional(),
  MUSTER_PUBLIC_URL: envVar.httpUrl().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: envVar.httpUrl().optional(),
  OTEL_SERVICE_NAME: envVar.text().optional(),
  LOG_LEVEL: envVar.oneOf(LOG_LEVELS).default('info'),
  /** 'off': every request goes through Fastify (see HttpMount.addFastPath in libs/runtime) */
  MUSTER_HTTP_FAST_PATHS: envVar.oneOf(['on', 'off']).default('on'),
  /** how long a mapping save waits for its remap run before answering 202 (the run goes on) */
  MUSTER_REMAP_WAIT_MS: envVar.int({ max: 600_000 }).default(20_000),
  MUSTER_CHANGESET_WAIT_MS: envVar.int({ max: 600_000 }).default(2_000),
  MUSTER_IMPORT_MAX_BYTES: envVar.int({ max: 10 * 1024 ** 3 }).default(100 * 1024 * 1024),
  /** 32 bytes (base64 or hex) sealing secrets at rest (Entra client secrets); unset: a key generated once into the data directory */
  MUSTER_SECRET_KEY: envVar.text().optional(),
  /** token endpoint host for Entra (tests, sovereign clouds, a proxy): the client-credentials form POST instead of MSAL */
  MUSTER_ENTRA_AUTHORITY_URL: envVar.httpUrl().optional(),
  MUSTER_GRAPH_URL: envVar.httpUrl().default('https://graph.microsoft.com'),
  MUSTER_GRAPH_SCOPE: envVar.text().default('https://graph.microsoft.com/.default'),
  /** attempts per Graph request before a run gives up (throttling, 503/504, network errors) */
  MUSTER_GRAPH_ATTEMPTS: envVar.int({ min: 1, max: 20 }).default(6),
  /** how often the entra-sync service looks for scheduled runs that are due (ms) */
  MUSTER_ENTRA_TICK_MS: envVar.int({ min: 100, max: 3_600_000 }).default(15_000),
  /** how long a run's lease lasts without being renewed (a run not heard of for that long was interrupted) */
  MUSTER_ENTRA_LEASE_MS: envVar.int({ min: 1_000, max: 3_600_000 }).default(60_000),
  /** failed authentications a client address may make per minute before it is answered 429 (brute force) */
  MUSTER_AUTH_FAILURES_PER_MINUTE: envVar.int({ min: 1, max: 1_000_000 }).default(30),
  /** the admin console's build (a Vite dist folder) the admin API serves at / (default: services/admin-ui/dist) */
  MUSTER_ADMIN_UI_DIR: envVar.text().optional(),
  /** /readyz answers 503 while a projection is more than this many events behind the log */
  MUSTER_READY_MAX_LAG_EVENTS: envVar.int({ min: 0, max: 100_000_000 }).default(1_000),
  /** a bearer token a Prometheus scraper presents on GET /metrics (install-wide admin tokens work too); unset: admin tokens only */
  MUSTER_METRICS_TOKEN: envVar.text().optional(),
  /** the longest a client may take to send a whole request, body included (ms); a trickled body is cut off after it */
  MUSTER_HTTP_REQUEST_TIMEOUT_MS: envVar.int({ min: 1_000, max: 3_600_000 }).default(120_000),
  /** the longest a client may take to send a request's headers (ms) */
  MUSTER_HTTP_HEADERS_TIMEOUT_MS: envVar.int({ min: 1_000, max: 600_000 }).default(10_000),
  /**
   * personal data in events sealed with each person's data key (crypto-shredding, erasure by key
   * deletion); off writes it in clear, as versions before it did (for the benchmark's before/after only)
   */
  MUSTER_SEAL_PERSONAL_DATA: envVar.oneOf(['on', 'off']).default('on'),
  /** how often the erasure job looks for people past their list's retention policy and deleted lists past their grace period (ms) */
  MUSTER_RETENTION_TICK_MS: envVar.int({ min: 1_000, max: 86_400_000 }).default(3_600_000),
  /** embedded read models: snapshots in <data dir>/snapshots, loaded at start (off: built from the log every start) */
  MUSTER_SNAPSHOTS: envVar.oneOf(['on', 'off']).default('on'),
  /** a background snapshot after this many events since the last one ... */
  MUSTER_SNAPSHOT_EVERY_EVENTS: envVar.int({ min: 1, max: 100_000_000 }).default(100_000),
  /** ... or this many minutes, whichever comes first (and one at every clean stop) */
  MUSTER_SNAPSHOT_EVERY_MINUTES: envVar.int({ min: 1, max: 10_080 }).default(10),
  /** a pause (ms) after each slice of 2,000 documents a snapshot writes: spreads its disk writes out (default 0) */
  MUSTER_SNAPSHOT_WRITE_PACE_MS: envVar.int({ max: 10_000 }).default(0),
};

export const baseEnvSchema = z.object(baseEnvShape);
export type BaseEnv = z.output<typeof baseEnvSchema>;

export interface MusterConfig {
  port: number;
  host: string;
  dataDir: string;
  adminToken: string | undefined;
  /** base URL clients reach this process at, without trailing slash (SCIM base URLs build on it) */
  publicUrl: string;
  eventStore: { kind: 'embedded' } | { kind: 'eventstoredb'; url: string };
  readStore: { kind: 'memory' } | { kind: 'mongodb'; url: string; db: string };
  bus: { kind: 'memory' } | { kind: 'nats'; url: string; servers: string[] };
  telemetry: { otlpEndpoint: string | undefined; serviceName: string | undefined };
  logLevel: LogLevel;
  /** whether services may answer their hottest reads before Fastify routes them (MUSTER_HTTP_FAST_PATHS) */
  httpFastPaths: boolean;
  /** how long a mapping save waits for its remap run before answering 202 (MUSTER_REMAP_WAIT_MS) */
  remapWaitMs: number;
  /** how long a changeset apply or rollback waits for its run before answering 202 (MUSTER_CHANGESET_WAIT_MS) */
  changesetWaitMs: number;
  /** the largest CSV file an import accepts (MUSTER_IMPORT_MAX_BYTES, default 100 MB) */
  importMaxBytes: number;
  /** the Entra pull: token endpoint (form POST when set, else MSAL), Graph, scheduler tick and run lease */
  entra: { authorityUrl: string | undefined; graphUrl: string; graphScope: string; graphAttempts: number; tickMs: number; leaseMs: number };
  /** read-model snapshots of the embedded stack (MUSTER_SNAPSHOTS, MUSTER_SNAPSHOT_EVERY_EVENTS / _MINUTES) */
  snapshots: { enabled: boolean; everyEvents: number; everyMs: number; paceMs: number };
  /** MUSTER_AUTH_FAILURES_PER_MINUTE */
  authFailuresPerMinute: number;
  /** MUSTER_ADMIN_UI_DIR (unset: the admin API's default, services/admin-ui/dist) */
  adminUiDir: string | undefined;
  /** MUSTER_READY_MAX_LAG_EVENTS */
  readyMaxLagEvents: number;
  /** MUSTER_METRICS_TOKEN */
  metricsToken: string | undefined;
  /** MUSTER_HTTP_REQUEST_TIMEOUT_MS and MUSTER_HTTP_HEADERS_TIMEOUT_MS */
  http: { requestTimeoutMs: number; headersTimeoutMs: number };
  /** MUSTER_SECRET_KEY (unset: a key file in the data directory) */
  secretKey: string | undefined;
  /** MUSTER_SEAL_PERSONAL_DATA */
  sealPersonalData: boolean;
  /** MUSTER_RETENTION_TICK_MS */
  retentionTickMs: number;
  /** the parsed variables themselves */
  env: BaseEnv;
}

// ---------------------------------------------------------------- loading

type Env = Record<string, string | undefined>;

const HIDDEN = /TOKEN|SECRET|PASSWORD|PASSWD|KEY/i;

function shown(variable: string, raw: string | undefined): string {
  if (raw === undefined) return '';
  if (HIDDEN.test(variable)) return ' (value hidden)';
  const masked = raw.replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, '//$1:***@');
  const short = masked.length > 80 ? `${masked.slice(0, 77)}...` : masked;
  return ` (got ${JSON.stringify(short)})`;
}

function withoutBlanks(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') out[k] = v;
  return out;
}

function problemsOf(error: z.ZodError, env: Record<string, string>): ConfigProblem[] {
  return error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)');
    const message = issue.code === 'invalid_type' && env[variable] === undefined ? 'is required' : issue.message;
    return { variable, message: `${message}${shown(variable, env[variable])}` };
  });
}

function crossFieldProblems(env: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const value = (k: string) => env[k]?.trim().toLowerCase();
  if (value('MUSTER_EVENT_STORE') === 'eventstoredb' && !env.EVENTSTORE_URL) {
    problems.push({ variable: 'EVENTSTORE_URL', message: 'is required when MUSTER_EVENT_STORE=eventstoredb' });
  }
  if (value('MUSTER_READ_STORE') === 'mongodb' && !env.MONGODB_URL) {
    problems.push({ variable: 'MONGODB_URL', message: 'is required when MUSTER_READ_STORE=mongodb' });
  }
  if (value('MUSTER_BUS') === 'nats' && !env.NATS_URL) {
    problems.push({ variable: 'NATS_URL', message: 'is required when MUSTER_BUS=nats' });
  }
  return problems;
}

function toConfig(e: BaseEnv): MusterConfig {
  const busKind = e.MUSTER_BUS ?? (e.NATS_URL ? 'nats' : 'memory');
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.MUSTER_DATA_DIR,
    adminToken: e.MUSTER_ADMIN_TOKEN,
    publicUrl: e.MUSTER_PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    eventStore:
      e.MUSTER_EVENT_STORE === 'eventstoredb'
        ? { kind: 'eventstoredb', url: e.EVENTSTORE_URL as string }
        : { kind: 'embedded' },
    readStore:
      e.MUSTER_READ_STORE === 'mongodb'
        ? { kind: 'mongodb', url: e.MONGODB_URL as string, db: e.MONGODB_DB }
        : { kind: 'memory' },
    bus:
      busKind === 'nats'
        ? { kind: 'nats', url: e.NATS_URL as string, servers: natsServers(e.NATS_URL as string) }
        : { kind: 'memory' },
    telemetry: { otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    logLevel: e.LOG_LEVEL,
    httpFastPaths: e.MUSTER_HTTP_FAST_PATHS === 'on',
    remapWaitMs: e.MUSTER_REMAP_WAIT_MS,
    changesetWaitMs: e.MUSTER_CHANGESET_WAIT_MS,
    importMaxBytes: e.MUSTER_IMPORT_MAX_BYTES,
    entra: { authorityUrl: e.MUSTER_ENTRA_AUTHORITY_URL, graphUrl: e.MUSTER_GRAPH_URL, graphScope: e.MUSTER_GRAPH_SCOPE, graphAttempts: e.MUSTER_GRAPH_ATTEMPTS, tickMs: e.MUSTER_ENTRA_TICK_MS, leaseMs: e.MUSTER_ENTRA_LEASE_MS },
    secretKey: e.MUSTER_SECRET_KEY,
    sealPersonalData: e.MUSTER_SEAL_PERSONAL_DATA === 'on',
    retentionTickMs: e.MUSTER_RETENTION_TICK_MS,
    authFailuresPerMinute: e.MUSTER_AUTH_FAILURES_PER_MINUTE,
    readyMaxLagEvents: e.MUSTER_READY_MAX_LAG_EVENTS,
    adminUiDir: e.MUSTER_ADMIN_UI_DIR,
    metricsToken: e.MUSTER_METRICS_TOKEN,
    http: { requestTimeoutMs: e.MUSTER_HTTP_REQUEST_TIMEOUT_MS, headersTimeoutMs: e.MUSTER_HTTP_HEADERS_TIMEOUT_MS },
    snapshots: { enabled: e.MUSTER_SNAPSHOTS === 'on', everyEvents: e.MUSTER_SNAPSHOT_EVERY_EVENTS, everyMs: e.MUSTER_SNAPSHOT_EVERY_MINUTES * 60_000, paceMs: e.MUSTER_SNAPSHOT_WRITE_PACE_MS },
    env: e,
  };
}

function parse<S extends z.ZodRawShape>(
  rawEnv: Env,
  serviceSchema: z.ZodObject<S>,
  rules: ((env: Record<string, string>) => ConfigProblem[]) | undefined,
): { config: MusterConfig; service: z.output<z.ZodObject<S>> } {
  const env = withoutBlanks(rawEnv);
  const base = baseEnvSchema.safeParse(env);
  const service = serviceSchema.safeParse(env);
  const problems = [
    ...(base.success ? [] : problemsOf(base.error, env)),
    ...(service.success ? [] : problemsOf(service.error, env)),
    ...crossFieldProblems(env),
    ...(rules?.(env) ?? []),
  ];
  if (problems.length > 0 || !base.success || !service.success) throw new ConfigError(problems);
  return { config: toConfig(base.data), service: service.data };
}

/** Parses and validates the environment (default: process.env); throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): MusterConfig {
  return parse(env, z.object({}), undefined).config;
}

export interface ServiceConfigOptions {
  /** cross-variable checks for the service's own variables (given the env without blank values) */
  rules?: (env: Record<string, string>) => ConfigProblem[];
}

export type ServiceConfig<S extends z.ZodRawShape> = MusterConfig & { service: z.output<z.ZodObject<S>> };

/**
 * Loader for a service with variables of its own. The base variables are
 * validated too, and all problems come back in one ConfigError.
 *
 * ```ts
 * const loadScimConfig = defineServiceConfig({
 *   SCIM_PAGE_SIZE: envVar.int({ min: 1, max: 1000 }).default(100),
 * });
 * const config = loadScimConfig(); // config.port, config.service.SCIM_PAGE_SIZE
 * ```
 */
export function defineServiceConfig<S extends z.ZodRawShape>(
  shape: S,
  options: ServiceConfigOptions = {},
): ((env?: Env) => ServiceConfig<S>) & { schema: z.ZodObject<S> } {
  for (const key of Object.keys(shape)) {
    if (key in baseEnvShape) throw new Error(`defineServiceConfig: ${key} is already a base variable`);
  }
  const serviceSchema = z.object(shape);
  const load = (env: Env = process.env): ServiceConfig<S> => {
    const { config, service } = parse(env, serviceSchema, options.rules);
    return { ...config, service };
  };
  return Object.assign(load, { schema: serviceSchema });
}
