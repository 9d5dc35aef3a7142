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
