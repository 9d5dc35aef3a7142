import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

describe('trace context flows from the HTTP request into event metadata and out over OTLP', () => {
  let s: Stack;
  let otlp: Server;
  const received: string[] = [];
  beforeAll(async () => {
    otlp = createServer((req, res) => { received.push(req.url ?? ''); req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); }); });
    await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', () => r()));
    const port = (otlp.address() as { port: number }).port;
    s = await startStack({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => { await s?.stop(); await new Promise((r) => otlp.close(r)); });

  it('an admin command continues the caller trace and stamps it on its events', async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const res = await fetch(`${s.url}/api/v1/lists`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json', traceparent: `00-${traceId}-1122334455667788-01` },
      body: JSON.stringify({ name: 'Traced' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const [event] = await s.running.adapters.store.readStream(`list-${id}`);
    expect(String(event.metadata.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    await s.stop({ keepData: false });
    // shutdown flushes the batch span processor to the OTLP endpoint
    expect(received).toContain('/v1/traces');
    s = undefined as unknown as Stack;
  });
});
