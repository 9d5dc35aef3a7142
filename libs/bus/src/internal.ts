/**
 * Pieces both adapters share so they behave the same: subject and header
 * validation, the JSON codec, trace-context propagation, the error-answer
 * convention for throwing request handlers and in-flight handler tracking.
 * Not exported from the package.
 */
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import {
  BusRemoteError,
  MUSTER_ERROR_HEADER,
  type BusLogger,
  type BusMessage,
  type Headers,
} from './port.ts';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------- subjects

const BAD_TOKEN_CHARS = /[\s]/;

/**
 * NATS subject rules: dot-separated non-empty tokens without whitespace.
 * Subscriptions may use `*` (one whole token) and `>` (last token only);
 * publish/request subjects must be literal.
 */
export function validateSubject(subject: string, allowWildcards: boolean): string[] {
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new TypeError('bus subject must be a non-empty string');
  }
  const tokens = subject.split('.');
  tokens.forEach((token, i) => {
    if (token.length === 0) throw new TypeError(`invalid bus subject "${subject}": empty token`);
    if (BAD_TOKEN_CHARS.test(token)) throw new TypeError(`invalid bus subject "${subject}": whitespace`);
    const wildcard = token === '*' || token === '>';
    if (!wildcard && (token.includes('*') || token.includes('>'))) {
      throw new TypeError(`invalid bus subject "${subject}": wildcards must be whole tokens`);
    }
    if (wildcard && !allowWildcards) {
      throw new TypeError(`invalid bus subject "${subject}": wildcards are only allowed when subscribing`);
    }
    if (token === '>' && i !== tokens.length - 1) {
      throw new TypeError(`invalid bus subject "${subject}": ">" must be the last token`);
    }
  });
  return tokens;
}

/** Does a (possibly wildcard) subscription pattern match a literal subject? */
export function subjectMatches(pattern: string[], subject: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== '*' && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}

export function validateQueue(queue: string | undefined): void {
  if (queue === undefined) return;
  if (typeof queue !== 'string' || queue.length === 0 || /[\s]/.test(queue)) {
    throw new TypeError(`invalid queue group name "${String(queue)}"`);
  }
}

// ---------------------------------------------------------------- headers

/**
 * NATS header rules: names are printable ASCII without ':'; values have no
 * CR/LF and lose surrounding whitespace (nats.js trims them).
 */
export function copyHeaders(headers: Headers | undefined): Headers {
  const out: Headers = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (name.length === 0 || !/^[\x21-\x39\x3b-\x7e]+$/.test(name)) {
      throw new TypeError(`invalid bus header name "${name}"`);
    }
    if (typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw new TypeError(`invalid value for bus header "${name}": must be a string without CR/LF`);
    }
    out[name] = value.trim();
  }
  return out;
}

/**
 * Headers for an outgoing message: the active OpenTelemetry context (W3C
 * `traceparent`/`tracestate` when a propagator is registered, nothing otherwise)
 * overlaid by the caller's own headers, which win.
 */
export function outgoingHeaders(headers: Headers | undefined): Headers {
  const own = copyHeaders(headers);
  const carrier: Headers = {};
  propagation.inject(context.active(), carrier);
  return { ...carrier, ...own };
}

// ---------------------------------------------------------------- payloads

/** JSON text of a payload; `undefined` travels as an empty payload. */
export function encodePayload(data: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    throw new TypeError(`bus payload is not JSON-serialisable: ${(err as Error).message}`);
  }
  return text ?? '';
}

export function decodePayload(text: string): unknown {
  return text.length === 0 ? undefined : JSON.parse(text);
}

// ---------------------------------------------------------------- errors

export function errorAnswer(err: unknown): { data: unknown; headers: Headers } {
  const message = err instanceof Error ? err.message : String(err);
  const rawCode = (err as { code?: unknown } | null)?.code;
  const code = typeof rawCode === 'string' && rawCode.length > 0 ? rawCode : 'HANDLER_ERROR';
  return { data: { error: { message, code } }, headers: { [MUSTER_ERROR_HEADER]: '1' } };
}

/** If a reply is an error answer, the BusRemoteError to reject with. */
export function remoteErrorOf(subject: string, data: unknown, headers: Headers): BusRemoteError | undefined {
  if (headers[MUSTER_ERROR_HEADER] !== '1') return undefined;
  const error = (data as { error?: { message?: unknown; code?: unknown } } | null)?.error;
  const message = typeof error?.message === 'string' ? error.message : 'remote handler failed';
  const code = typeof error?.code === 'string' ? error.code : 'HANDLER_ERROR';
  return new BusRemoteError(subject, message, code);
}

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    return { type: err.name, message: err.message, stack: err.stack, code: (err as { code?: unknown }).code };
  }
  return { message: String(err) };
}

export const consoleLogger: BusLogger = {
  error(obj, msg) {
    console.error(JSON.stringify({ level: 'error', lib: '@muster/bus', msg, ...serialisable(obj) }));
  },
  warn(obj, msg) {
    console.warn(JSON.stringify({ level: 'warn', lib: '@muster/bus', msg, ...serialisable(obj) }));
  },
};

function serialisable(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof Error ? errorFields(v) : v;
  return out;
}

// ---------------------------------------------------------------- handlers

export type Handler = (msg: BusMessage) => void | Promise<void>;

/**
 * Runs a handler with the trace context carried in the message headers active.
 * Never throws and never rejects: failures are logged and, for requests that
 * were not answered yet, answered with an error payload.
 */
export function invokeHandler(handler: Handler, msg: BusMessage, logger: BusLogger): Promise<void> | undefined {
  const respond = msg.respond;
  let responded = false;
  if (respond) {
    msg.respond = (data, headers) => {
      responded = true;
      respond(data, headers);
    };
  }
  const fail = (err: unknown): void => {
    logger.error({ err, subject: msg.subject, request: Boolean(respond) }, 'bus handler failed');
    if (respond && !responded) {
      responded = true;
      const answer = errorAnswer(err);
      try {
        respond(answer.data, answer.headers);
      } catch (replyErr) {
        logger.error({ err: replyErr, subject: msg.subject }, 'could not send error answer');
      }
    }
  };
  const ctx = propagation.extract(ROOT_CONTEXT, msg.headers);
  let result: void | Promise<void>;
  try {
    result = context.with(ctx, () => handler(msg));
  } catch (err) {
    fail(err);
    return undefined;
  }
  if (result && typeof (result as Promise<void>).then === 'function') {
    return Promise.resolve(result).then(() => undefined, fail);
  }
  return undefined;
}

/** Tracks running async handlers so unsubscribe/close can wait for them. */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  track(p: Promise<void> | undefined): void {
    if (!p) return;
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
