/**
 * NATS adapter over `@nats-io/transport-node` v3 (the maintained successor of
 * the `nats` v2 package). Core NATS only: JSON payloads, NATS headers, queue
 * groups, request/reply on the connection's shared inbox.
 */
import {
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from '@nats-io/transport-node';
import {
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  type Bus,
  type BusLogger,
  type BusMessage,
  type BusSubscription,
  type Headers,
} from './port.ts';
import {
  consoleLogger,
  copyHeaders,
  decodePayload,
  DEFAULT_REQUEST_TIMEOUT_MS,
  encodePayload,
  errorAnswer,
  InFlight,
  invokeHandler,
  outgoingHeaders,
  remoteErrorOf,
  validateQueue,
  validateSubject,
  type Handler,
} from './internal.ts';

export interface NatsBusOptions {
  /** one URL, a list, or a comma-separated list (as in NATS_URL) */
  servers: string | string[];
  /** connection name shown by the server (`nats server report connections`) */
  name?: string;
  /** where handler failures and connection trouble are reported; defaults to JSON lines on stderr */
  logger?: BusLogger;
  /** default for `request()` when the caller gives no timeoutMs (5000) */
  requestTimeoutMs?: number;
  /** how long the first connect may take (default 5000 ms); it fails fast, it does not wait for the server */
  connectTimeoutMs?: number;
  /** close() gives running handlers and the drain this long before closing hard (default 10000 ms) */
  closeTimeoutMs?: number;
  /** passed through to `connect()` (auth, TLS, reconnect tuning…); the fields above win */
  connectOptions?: Omit<NodeConnectionOptions, 'servers' | 'name' | 'timeout'>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toNatsHeaders(h: Headers): MsgHdrs | undefined {
  const entries = Object.entries(h);
  if (entries.length === 0) return undefined;
  const out = natsHeaders();
  for (const [k, v] of entries) out.set(k, v);
  return out;
}

function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const k of h.keys()) out[k] = h.get(k);
  return out;
}

function splitServers(servers: string | string[]): string[] {
  const list = (Array.isArray(servers) ? servers : [servers])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new TypeError('connectNatsBus: no NATS server given');
  return list;
}

export async function connectNatsBus(options: NatsBusOptions): Promise<Bus> {
  const logger = options.logger ?? consoleLogger;
  const defaultTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const servers = splitServers(options.servers);

  let nc: NatsConnection;
  try {
    nc = await connect({
      maxReconnectAttempts: -1, // a service keeps trying once it was up
      ...options.connectOptions,
      servers,
      name: options.name,
      timeout: options.connectTimeoutMs ?? 5_000,
    });
  } catch (err) {
    throw new Error(`could not connect to NATS at ${servers.join(', ')}: ${(err as Error).message}`, { cause: err });
  }

  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error' || s.type === 'slowConsumer') {
        logger.warn({ nats: s }, `nats connection ${s.type}`);
      }
    }
  })().catch(() => undefined);

  const subs = new Set<{ sub: Subscription; inFlight: InFlight }>();
  // 'closing': no new subscriptions/requests, but handlers still finishing may publish
  let state: 'open' | 'closing' | 'closed' = 'open';
  let closing: Promise<void> | undefined;

  function assertOpen(operation: string): void {
    if (state === 'closed' || (state === 'closing' && operation !== 'publish')) {
      throw new BusClosedError(operation);
    }
  }

  /** the adapter's own state wins over whatever nats.js says when we're closing */
  function mapClosed(err: unknown, operation: string): unknown {
    if (state !== 'open' || err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
      return new BusClosedError(operation);
    }
    return err;
  }

  function onMessage(handler: Handler, m: Msg): Promise<void> | undefined {
    const headers = fromNatsHeaders(m.headers);
    let data: unknown;
    try {
      data = decodePayload(decoder.decode(m.data));
    } catch (err) {
      logger.error({ err, subject: m.subject }, 'bus message is not JSON; dropped');
      if (m.reply) {
        const answer = errorAnswer(Object.assign(new Error('payload is not JSON'), { code: 'BAD_PAYLOAD' }));
        m.respond(encoder.encode(encodePayload(answer.data)), { headers: toNatsHeaders(answer.headers) });
      }
      return undefined;
    }
    const msg: BusMessage = { subject: m.subject, data, headers };
    if (m.reply) {
      msg.respond = (replyData, replyHeaders) => {
        const text = encodePayload(replyData);
        const h = copyHeaders(replyHeaders);
        m.respond(encoder.encode(text), { headers: toNatsHeaders(h) });
      };
    }
    return invokeHandler(handler, msg, logger);
  }

  return {
    async publish(subject, data, opts) {
      assertOpen('publish');
      validateSubject(subject, false);
      const text = encodePayload(data);
      const headers = toNatsHeaders(outgoingHeaders(opts?.headers));
      try {
        nc.publish(subject, encoder.encode(text), { headers });
      } catch (err) {
        throw mapClosed(err, 'publish');
      }
    },

    async subscribe(subject, handler, opts) {
      assertOpen('subscribe');
      validateSubject(subject, true);
      validateQueue(opts?.queue);
      const inFlight = new InFlight();
      let sub: Subscription;
      try {
        sub = nc.subscribe(subject, {
          queue: opts?.queue,
          callback: (err, m) => {
            if (err) {
              logger.error({ err, subject }, 'bus subscription failed');
              return;
            }
            inFlight.track(onMessage(handler, m));
          },
        });
      } catch (err) {
        throw mapClosed(err, 'subscribe');
      }
      const entry = { sub, inFlight };
      subs.add(entry);
      let done: Promise<void> | undefined;
      const drain = async (): Promise<void> => {
        subs.delete(entry);
        if (!sub.isClosed() && !nc.isClosed()) {
          await sub.drain().catch((err: unknown) => {
            if (!sub.isClosed()) logger.warn({ err, subject }, 'bus subscription drain failed');
          });
        }
        await inFlight.idle();
      };
      return { unsubscribe: () => (done ??= drain()) } satisfies BusSubscription;
    },

    async request<T = unknown>(
      subject: string,
      data: unknown,
      opts?: { timeoutMs?: number; headers?: Headers },
    ): Promise<BusMessage<T>> {
      assertOpen('request');
      validateSubject(subject, false);
      const timeoutMs = opts?.timeoutMs ?? defaultTimeout;
      if (!(timeoutMs > 0)) throw new TypeError('request timeoutMs must be greater than 0');
      const text = encodePayload(data);
      const headers = toNatsHeaders(outgoingHeaders(opts?.headers));
      let reply: Msg;
      try {
        reply = await nc.request(subject, encoder.encode(text), { timeout: timeoutMs, headers });
      } catch (err) {
        if (err instanceof TimeoutError) throw new BusTimeoutError(subject, timeoutMs);
        if (
          err instanceof NoRespondersError ||
          (err instanceof RequestError && (err.isNoResponders() || err.cause instanceof NoRespondersError))
        ) {
          throw new BusNoRespondersError(subject);
        }
        throw mapClosed(err, 'request');
      }
      const replyHeaders = fromNatsHeaders(reply.headers);
      const replyData = decodePayload(decoder.decode(reply.data));
      const remote = remoteErrorOf(subject, replyData, replyHeaders);
      if (remote) throw remote;
      return { subject, data: replyData as T, headers: replyHeaders };
    },

    async flush() {
      assertOpen('flush');
      await nc.flush();
    },

    close() {
      closing ??= (async () => {
        state = 'closing';
        const graceful = (async () => {
          // 1. stop deliveries and let handled messages finish (they may still reply/publish)
          await Promise.all(
            [...subs].map(async (entry) => {
              subs.delete(entry);
              await entry.sub.drain().catch(() => undefined);
              await entry.inFlight.idle();
            }),
          );
          // 2. flush what was published and close the connection
          state = 'closed';
          if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
        })();
        // a drain needs the server; when it is gone, do not hang forever
        const limit = options.closeTimeoutMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          graceful.then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limit))),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          logger.warn({ closeTimeoutMs: limit }, 'bus close timed out draining; closing the NATS connection hard');
          state = 'closed';
          await nc.close();
        }
        await nc.closed();
      })();
      return closing;
    },
  };
}
