/**
 * In-process bus with the NATS adapter's semantics: `*`/`>` wildcards, queue
 * groups (one member per group gets each message, round robin), request/reply
 * with timeout and no-responders, asynchronous delivery, payloads that travel
 * as JSON text (so a subscriber sees exactly what it would see over the wire)
 * and W3C trace context carried in headers.
 */
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
  InFlight,
  invokeHandler,
  outgoingHeaders,
  remoteErrorOf,
  subjectMatches,
  validateQueue,
  validateSubject,
  type Handler,
} from './internal.ts';

export interface MemoryBusOptions {
  /** where handler failures are reported; defaults to JSON lines on stderr */
  logger?: BusLogger;
  /** default for `request()` when the caller gives no timeoutMs (5000) */
  requestTimeoutMs?: number;
  /** close() waits this long for running handlers (default 10000 ms) */
  closeTimeoutMs?: number;
}

interface MemorySub {
  tokens: string[];
  queue?: string;
  handler: Handler;
  inFlight: InFlight;
}

interface Outgoing {
  subject: string;
  text: string;
  headers: Headers;
  respond?: (data: unknown, headers?: Headers) => void;
}

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const logger = options.logger ?? consoleLogger;
  const defaultTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const subs = new Set<MemorySub>();
  const roundRobin = new Map<string, number>();
  const pendingRequests = new Set<(err: Error) => void>();
  // 'closing': no new subscriptions/requests, but handlers still finishing may publish
  let state: 'open' | 'closing' | 'closed' = 'open';
  let closing: Promise<void> | undefined;

  function assertOpen(operation: string): void {
    if (state === 'closed' || (state === 'closing' && operation !== 'publish')) {
      throw new BusClosedError(operation);
    }
  }

  /** every non-queue subscriber, plus one member of each matching queue group */
  function targets(subjectTokens: string[]): MemorySub[] {
    const out: MemorySub[] = [];
    const groups = new Map<string, MemorySub[]>();
    for (const sub of subs) {
      if (!subjectMatches(sub.tokens, subjectTokens)) continue;
      if (sub.queue === undefined) out.push(sub);
      else {
        const members = groups.get(sub.queue);
        if (members) members.push(sub);
        else groups.set(sub.queue, [sub]);
      }
    }
    for (const [queue, members] of groups) {
      const turn = roundRobin.get(queue) ?? 0;
      roundRobin.set(queue, turn + 1);
      out.push(members[turn % members.length]);
    }
    return out;
  }

  function deliver(sub: MemorySub, outgoing: Outgoing): void {
    // Delivery is asynchronous, like the wire. Each subscriber decodes its own
    // copy of the payload and headers.
    sub.inFlight.track(
      new Promise<void>((resolve) => {
        setImmediate(() => {
          const msg: BusMessage = {
            subject: outgoing.subject,
            data: decodePayload(outgoing.text),
            headers: { ...outgoing.headers },
          };
          if (outgoing.respond) msg.respond = outgoing.respond;
          resolve(invokeHandler(sub.handler, msg, logger));
        });
      }),
    );
  }

  async function unsubscribe(sub: MemorySub): Promise<void> {
    // drain: nothing new is routed to it, what was already routed is handled
    subs.delete(sub);
    await sub.inFlight.idle();
  }

  return {
    async publish(subject, data, opts) {
      assertOpen('publish');
      const tokens = validateSubject(subject, false);
      const outgoing: Outgoing = { subject, text: encodePayload(data), headers: outgoingHeaders(opts?.headers) };
      for (const sub of targets(tokens)) deliver(sub, outgoing);
    },

    async subscribe(subject, handler, opts) {
      assertOpen('subscribe');
      const tokens = validateSubject(subject, true);
      validateQueue(opts?.queue);
      const sub: MemorySub = { tokens, queue: opts?.queue, handler, inFlight: new InFlight() };
      subs.add(sub);
      let done: Promise<void> | undefined;
      return {
        unsubscribe: () => (done ??= unsubscribe(sub)),
      } satisfies BusSubscription;
    },

    async request<T = unknown>(
      subject: string,
      data: unknown,
      opts?: { timeoutMs?: number; headers?: Headers },
    ): Promise<BusMessage<T>> {
      assertOpen('request');
      const tokens = validateSubject(subject, false);
      const timeoutMs = opts?.timeoutMs ?? defaultTimeout;
      if (!(timeoutMs > 0)) throw new TypeError('request timeoutMs must be greater than 0');
      const text = encodePayload(data);
      const headers = outgoingHeaders(opts?.headers);
      const receivers = targets(tokens);
      if (receivers.length === 0) throw new BusNoRespondersError(subject);

      return new Promise<BusMessage<T>>((resolve, reject) => {
        let settled = false;
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          clearTimeout(timer);
          pendingRequests.delete(abort);
          return true;
        };
        const abort = (err: Error): void => {
          if (settle()) reject(err);
        };
        const timer = setTimeout(() => abort(new BusTimeoutError(subject, timeoutMs)), timeoutMs);
        pendingRequests.add(abort);

        const respond = (replyData: unknown, replyHeaders?: Headers): void => {
          // encode first: a bad reply is the responder's error, as on the wire
          const replyText = encodePayload(replyData);
          const h = copyHeaders(replyHeaders);
          if (!settle()) return; // first answer wins
          const decoded = decodePayload(replyText);
          const remote = remoteErrorOf(subject, decoded, h);
          if (remote) reject(remote);
          else resolve({ subject, data: decoded as T, headers: h });
        };
        for (const sub of receivers) deliver(sub, { subject, text, headers, respond });
      });
    },

    async flush() {
      // deliveries are scheduled with setImmediate; one more turn hands them all over
      await new Promise<void>((resolve) => setImmediate(resolve));
    },

    async close() {
      if (state !== 'open') return closing;
      state = 'closing';
      closing = (async () => {
        const limit = options.closeTimeoutMs ?? 10_000;
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          Promise.all([...subs].map(unsubscribe)).then(() => false),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), limit))),
        ]);
        clearTimeout(timer);
        if (timedOut) logger.warn({ closeTimeoutMs: limit }, 'bus close timed out waiting for handlers');
        subs.clear();
        state = 'closed';
        for (const abort of [...pendingRequests]) abort(new BusClosedError('request'));
      })();
      return closing;
    },
  };
}
