/**
 * The bus port. Adapters: NATS (./nats, @nats-io/transport-node) and in-process
 * (./memory). Both must pass ./contract.ts. Payloads are JSON values.
 */

export type Headers = Record<string, string>;

export interface BusMessage<T = unknown> {
  subject: string;
  data: T;
  headers: Headers;
  /** present on requests; calling it answers the requester */
  respond?: (data: unknown, headers?: Headers) => void;
}

export interface BusSubscription {
  unsubscribe(): Promise<void>;
}

export class BusTimeoutError extends Error {
  readonly code = 'BUS_TIMEOUT';
  constructor(readonly subject: string, readonly timeoutMs: number) {
    super(`no reply on ${subject} within ${timeoutMs} ms`);
    this.name = 'BusTimeoutError';
  }
}

export class BusNoRespondersError extends Error {
  readonly code = 'BUS_NO_RESPONDERS';
  constructor(readonly subject: string) {
    super(`no responders on ${subject}`);
    this.name = 'BusNoRespondersError';
  }
}

/**
 * A request handler failed on the responding side. The responder answered with
 * `{ error: { message, code } }` and the header `muster-error: 1`; `request()`
 * turns that answer into this error.
 */
export class BusRemoteError extends Error {
  readonly code = 'BUS_REMOTE_ERROR';
  constructor(
    readonly subject: string,
    /** the message of the error thrown by the remote handler */
    readonly remoteMessage: string,
    /** the remote error's `code` if it had a string one, else 'HANDLER_ERROR' */
    readonly remoteCode: string,
  ) {
    super(`request on ${subject} failed remotely: ${remoteMessage} (${remoteCode})`);
    this.name = 'BusRemoteError';
  }
}

/** The bus was closed; no more publishing, subscribing or requesting. */
export class BusClosedError extends Error {
  readonly code = 'BUS_CLOSED';
  constructor(readonly operation: string) {
    super(`bus is closed (${operation})`);
    this.name = 'BusClosedError';
  }
}

/** Header set on error answers produced by a throwing request handler. */
export const MUSTER_ERROR_HEADER = 'muster-error';

/**
 * Minimal logger the adapters report handler failures to. A pino logger fits
 * (`logger.error({ err, subject }, 'msg')`).
 */
export interface BusLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface Bus {
  publish(subject: string, data: unknown, options?: { headers?: Headers }): Promise<void>;
  /**
   * Handlers with the same queue name share messages (each message goes to one of them).
   * Subjects may use NATS wildcards (`*` one token, `>` the rest).
   */
  subscribe(
    subject: string,
    handler: (msg: BusMessage) => void | Promise<void>,
    options?: { queue?: string },
  ): Promise<BusSubscription>;
  request<T = unknown>(
    subject: string,
    data: unknown,
    options?: { timeoutMs?: number; headers?: Headers },
  ): Promise<BusMessage<T>>;
  /** waits until every published message has been handed to the transport */
  flush(): Promise<void>;
  close(): Promise<void>;
}
