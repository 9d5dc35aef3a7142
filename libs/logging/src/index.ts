/**
 * Structured JSON logging with pino, set up the way Fastify uses it.
 *
 * - `createLogger({ name, level })` for workers, the CLI and libraries;
 * - `loggerOptions({ name, level })` for `Fastify({ logger: loggerOptions(...) })`
 *   (Fastify builds the pino instance and adds its req/res serializers).
 *
 * Both redact `authorization` headers and every field named `token`, at the
 * top level and up to REDACT_DEPTH objects deep (e.g. `req.headers.authorization`,
 * `body.user.token`). Pino redaction works on fixed paths, so deeper fields are
 * not covered: do not log whole credential-bearing objects deeper than that.
 */
import { pino, type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = Level | 'silent';

/** Field names whose values never reach the log. */
export const REDACTED_KEYS = ['authorization', 'Authorization', 'token'] as const;

/** How many levels of nesting below the log object redaction reaches. */
export const REDACT_DEPTH = 3;

export const REDACTED = '[Redacted]';

/** Pino redact paths for `keys` at depth 0..REDACT_DEPTH (`token`, `*.token`, `*.*.token`, ...). */
export function redactPaths(keys: readonly string[] = REDACTED_KEYS): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key.replace(/["\\]/g, '\\$&')}"]`;
    for (let depth = 0; depth <= REDACT_DEPTH; depth++) {
      const prefix = '*.'.repeat(depth);
      paths.push(segment.startsWith('[') ? `${prefix.slice(0, -1)}${segment}` : `${prefix}${segment}`);
    }
  }
  return paths;
}

export interface LoggerSettings {
  /** becomes the `name` field of every line (service or component name) */
  name: string;
  /** default 'info' */
  level?: LogLevel;
  /** field names to redact in addition to REDACTED_KEYS */
  redactKeys?: string[];
}

/** pino options for a Muster process; pass to `Fastify({ logger })` or to `pino()`. */
export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    name: settings.name,
    level: settings.level ?? 'info',
    redact: {
      paths: redactPaths([...REDACTED_KEYS, ...(settings.redactKeys ?? [])]),
      censor: REDACTED,
    },
    // `err` keeps type/message/stack/cause; pino's default would only apply to `err`
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      // "level":"info" instead of "level":30 — readable in any log viewer
      level: (label) => ({ level: label }),
    },
  };
}

/**
 * stdout written asynchronously: lines are buffered and written off the caller's path, and what is
 * buffered is flushed when the process exits (pino's sonic-boom destination).
 */
export function asyncStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}

/**
 * A logger for the one line per HTTP request (method, URL without secrets, status, time, request
 * id): the same format and destination as `createLogger`'s, without the redaction walk over every
 * line's fields, which would cost more than writing the line. Only fixed, secret-free fields may
 * be logged through it.
 */
export function createRequestLogger(settings: LoggerSettings & { destination: DestinationStream }): Logger {
  const { redact: _redact, ...options } = loggerOptions(settings);
  return pino(options, settings.destination);
}

/**
 * A pino logger. Lines go to stdout unless a destination is given (tests pass
 * a stream to capture them).
 */
export function createLogger(settings: LoggerSettings & { destination?: DestinationStream }): Logger {
  const options = loggerOptions(settings);
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type LogMethod = (...args: unknown[]) => void;

/**
 * A request's child logger that is only made when something is logged at an enabled level.
 * Fastify makes a child logger (bound to the request id) for every request; with redaction
 * configured that costs a serialisation per request even when nothing is ever logged. Pass as
 * `Fastify({ childLoggerFactory: lazyChildLoggerFactory })`: lines that are written carry the same
 * bindings as before.
 */
export function lazyChildLoggerFactory<L extends { level: string; child(bindings: Record<string, unknown>, options?: never): unknown }>(logger: L, bindings: Record<string, unknown>, opts: object): L {
  return new LazyChild(logger as unknown as Logger, bindings, opts as Record<string, unknown>) as unknown as L;
}

class LazyChild {
  #real: Logger | null = null;
  declare trace: LogMethod;
  declare debug: LogMethod;
  declare info: LogMethod;
  declare warn: LogMethod;
  declare error: LogMethod;
  declare fatal: LogMethod;
  constructor(private readonly parent: Logger, private readonly childBindings: Record<string, unknown>, private readonly childOpts: Record<string, unknown>) {}
  /** the real child logger, made on first use */
  get real(): Logger {
    return (this.#real ??= this.parent.child(this.childBindings, this.childOpts));
  }
  get level(): string { return this.#real?.level ?? this.parent.level; }
  set level(value: string) { this.real.level = value; }
  isLevelEnabled(level: string): boolean { return (this.#real ?? this.parent).isLevelEnabled(level); }
  silent(): void {}
  child(bindings: Record<string, unknown>, opts?: Record<string, unknown>): Logger { return this.real.child(bindings, opts); }
  bindings(): Record<string, unknown> { return this.real.bindings(); }
}
for (const level of LEVELS) {
  Object.defineProperty(LazyChild.prototype, level, {
    value(this: LazyChild, ...args: unknown[]) {
      if (this.isLevelEnabled(level)) (this.real[level] as LogMethod)(...args);
    },
  });
}
