/**
 * The SCIM bench's write floor: a bare Fastify route that stores what a SCIM create stores and
 * nothing else. POST /floor/Users takes the SCIM body and appends, in one atomic durable group
 * write through the hash chain, the three events the ingress writes for a new person (the
 * PersonProvisioned event with the SCIM resource, its fields and field changes, and the two
 * uniqueness reservations), then answers 201 with the resource, its id, meta and Location.
 *
 * No validation, no mapping service, no decider, no state caches, no projector, no provisioning
 * log: what it costs is the least a durable, hash-chained, event-sourced create can cost on this
 * machine, so the bench can say how much of the echo ceiling is left for everything else.
 *
 * POST /floor-unchained/Users does the same without the hash chain (a log of its own), which says
 * what the chain costs.
 *
 * Run by bench/scim.ts: `node --import tsx bench/write-floor-server.ts <port>`; its event logs go
 * into a fresh temporary directory, removed on SIGTERM.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { openEmbeddedEventStore, withHashChain, type EventStore } from '@muster/event-store';

const port = Number(process.argv[2]);
const dir = await mkdtemp(join(tmpdir(), 'muster-write-floor-'));
const raw = await openEmbeddedEventStore({ dir: join(dir, 'chained') });
const chained = withHashChain(raw);
// the same writes without the hash chain, into a log of their own: what the chain costs
const unchained = await openEmbeddedEventStore({ dir: join(dir, 'unchained') });
const listId = 'floor-list';
const digest = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 32);

const app = Fastify({ logger: false });
app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (_req, body, done) => {
  try { done(null, JSON.parse(body as string)); } catch (e) { done(e as Error); }
});
app.post('/floor/*', (req, reply) => create(chained, req, reply));
app.post('/floor-unchained/*', (req, reply) => create(unchained, req, reply));

async function create(store: EventStore, req: FastifyRequest, reply: FastifyReply) {
  const scim = req.body as Record<string, unknown> & { userName: string; externalId?: string; name?: { givenName?: string; familyName?: string } };
  const personId = randomUUID();
  const at = new Date();
  const now = at.toISOString();
  const fields = { firstName: scim.name?.givenName ?? null, lastName: scim.name?.familyName ?? null, email: scim.userName };
  const fieldChanges = Object.entries(fields).map(([field, to]) => ({ field, from: null, to }));
  const ctx: CommandContext = {
    correlationId: randomUUID(), actor: { kind: 'scim-token', id: 'floor-token' },
    source: { kind: 'scim', idp: 'bench', method: 'POST', path: req.url, operation: 'CREATE' },
    now: at, newId: randomUUID,
  };
  const [person, byUserName, byExternalId] = toNewEvents([
    { type: 'PersonProvisioned', data: { personId, listId, scim: { ...scim, id: personId }, fields, status: 'active', fieldChanges } },
    { type: 'ValueReserved', data: { listId, kind: 'userName', value: scim.userName.toLowerCase(), ownerId: personId } },
    { type: 'ValueReserved', data: { listId, kind: 'externalId', value: String(scim.externalId ?? personId), ownerId: personId } },
  ] as DomainEvent[], ctx);
  await store.appendToStreams!([
    { streamId: streams.reservation(listId, 'userName', digest(scim.userName.toLowerCase())), events: [byUserName], expectedRevision: 'no_stream' },
    { streamId: streams.reservation(listId, 'externalId', digest(String(scim.externalId ?? personId))), events: [byExternalId], expectedRevision: 'no_stream' },
    { streamId: streams.person(personId), events: [person], expectedRevision: 'no_stream' },
  ]);
  const location = `http://127.0.0.1:${port}${req.url}/${personId}`;
  reply.code(201).header('content-type', 'application/scim+json; charset=utf-8').header('location', location).header('etag', 'W/"0"');
  return { ...scim, id: personId, meta: { resourceType: 'User', created: now, lastModified: now, location, version: 'W/"0"' } };
}
app.get('/healthz', async () => ({ ok: true }));

process.on('SIGTERM', () => {
  void app.close().then(() => Promise.all([chained.close(), unchained.close()])).then(() => rm(dir, { recursive: true, force: true })).finally(() => process.exit(0));
});
await app.listen({ port, host: '127.0.0.1' });
