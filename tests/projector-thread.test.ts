/**
 * The one-process runtime keeps its in-memory read store and the projector in a worker thread
 * (services/projector/src/thread.ts); MUSTER_PROJECTOR_THREAD=inline keeps them on the main thread.
 * Both must behave the same through HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { streams, toNewEvents } from '@muster/contracts';
import { openEmbeddedEventStore, withHashChain } from '@muster/event-store';
import { ReadStoreUnavailableError } from '@muster/read-store';
import { startProjectorThread, type ProjectorThread } from '@muster/projector';
import { OPERATOR, startStack, type Stack } from './helpers.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

describe.each([
  ['worker thread (the default)', {}, 'worker'],
  ['inline (MUSTER_PROJECTOR_THREAD=inline)', { MUSTER_PROJECTOR_THREAD: 'inline' }, undefined],
] as const)('projector %s', (_name, env, thread) => {
  let s: Stack;
  let listId: string;
  let token: string;
  beforeAll(async () => {
    s = await startStack({ ...env });
    listId = (await s.admin('POST', '/lists', { name: 'Threads' })).body.id;
    await s.admin('POST', `/lists/${listId}/sync/scim`, { uniqueIdentifier: 'userName' });
    token = (await s.admin('POST', `/lists/${listId}/sync/scim/tokens`, {})).body.token;
  });
  afterAll(async () => { await s?.stop(); });

  it('a SCIM create is visible at once to a filtered SCIM read and to the admin roster', async () => {
    for (let i = 0; i < 20; i++) {
      const created = await s.scim(token, 'POST', `/scim/v2/lists/${listId}/Users`, { schemas: [USER], userName: `t${i}@example.org`, name: { givenName: 'Tess', familyName: `Thread${i}` } });
      expect(created.status).toBe(201);
      const found = await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent(`userName eq "T${i}@EXAMPLE.ORG"`)}`);
      expect(found.body.totalResults).toBe(1);
      expect(found.body.Resources[0].id).toBe(created.body.id);
    }
    const roster = await s.admin('GET', `/lists/${listId}/people?q=thread1&sort=lastName`);
    expect(roster.status).toBe(200);
    expect(roster.body.total).toBe(11); // Thread1, Thread10..19
    expect(roster.body.items.map((p: { fields: { lastName: string } }) => p.fields.lastName)).toEqual(['Thread1', ...Array.from({ length: 10 }, (_, i) => `Thread1${i}`)]);
  });

  it('/healthz says where the projector runs and reports its lag', async () => {
    const body = await (await fetch(`${s.url}/healthz`, OPERATOR)).json();
    expect(body.status).toBe('ok');
    expect(body.services.projector.thread).toBe(thread);
    expect(body.services.projector).toMatchObject({ ready: true, error: null, lagMs: { samples: expect.any(Number) } });
    if (thread === 'worker') {
      // the thread's log reader took the SCIM creates from the bytes the writer committed
      // (at least one per create above) instead of reading them back from the file
      await expect.poll(async () => (await (await fetch(`${s.url}/healthz`, OPERATOR)).json()).services.projector.logReader?.ingestedWrites, { timeout: 5_000 }).toBeGreaterThanOrEqual(20);
    }
  });

  it('a rebuild through the admin API runs where the projector runs, and queries answer after it', async () => {
    const res = await s.admin('POST', '/admin/projections/rebuild', { wait: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'done', result: { events: expect.any(Number) } });
    const roster = await s.admin('GET', `/lists/${listId}/people?status=active`);
    expect(roster.body.total).toBe(20);
  });

  it('after a restart on the same data directory the read models come back from the log', async () => {
    const dir = s.dataDir;
    await s.stop({ keepData: true });
    s = await startStack({ ...env }, dir);
    const found = await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent('userName eq "t7@example.org"')}`);
    expect(found.body.totalResults).toBe(1);
    expect((await s.admin('GET', `/lists/${listId}/people`)).body.total).toBe(20);
  });
});

describe('projector thread start-up', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'muster-thread-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('fails with the reason when the log cannot be opened, leaving no thread behind', async () => {
    await expect(startProjectorThread(join(dir, 'no-such-events'))).rejects.toThrow(/projector thread failed to start: no event log/);
  });
});

describe('when the projector thread is gone', () => {
  let s: Stack;
  afterAll(async () => { await s?.stop(); });

  it('reads answer 503 with Retry-After (SCIM error format under /scim), writes and userName lookups still succeed, /healthz is 503', async () => {
    s = await startStack();
    const listId = (await s.admin('POST', '/lists', { name: 'Gone' })).body.id;
    await s.admin('POST', `/lists/${listId}/sync/scim`, { uniqueIdentifier: 'userName' });
    const token = (await s.admin('POST', `/lists/${listId}/sync/scim/tokens`, {})).body.token;
    // what the projector host does when its thread exits
    (s.running.adapters.readStore as unknown as { fail(err: Error): void }).fail(new Error('projector thread exited (code 1)'));
    const read = await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent('displayName eq "X"')}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('5');
    expect(read.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' });
    expect(read.body.detail).toMatch(/projector thread exited/);
    const roster = await s.admin('GET', `/lists/${listId}/people`);
    expect(roster.status).toBe(503);
    expect(roster.body.error.code).toBe('unavailable');
    const created = await s.scim(token, 'POST', `/scim/v2/lists/${listId}/Users`, { schemas: [USER], userName: 'still@example.org' });
    expect(created.status).toBe(201);
    // the lookup IdPs make before a write needs no read model: answered from the event store
    // (a kept answer, or a userName never reserved), so provisioning goes on meanwhile
    const lookup = await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent('userName eq "still@example.org"')}`);
    expect(lookup.status).toBe(200);
    expect(lookup.body.Resources).toEqual([created.body]);
    const none = await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent('userName eq "x@example.org"')}`);
    expect(none.status).toBe(200);
    expect(none.body.totalResults).toBe(0);
    // any other read of people still needs the read model
    expect((await s.scim(token, 'GET', `/scim/v2/lists/${listId}/Users?filter=${encodeURIComponent('userName eq "still@example.org"')}&sortBy=userName`)).status).toBe(503);
  });
});

describe('projector thread restart', () => {
  it('a thread that ends unexpectedly is started again and rebuilds the read models from the log; reads fail fast meanwhile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'muster-restart-'));
    let t: ProjectorThread | null = null;
    const writer = await openEmbeddedEventStore({ dir, hooks: { afterCommit: (p, committed) => t?.afterCommit?.(p, committed) } });
    const store = withHashChain(writer);
    const ctx = () => ({ actor: { kind: 'admin' as const, id: 'test' }, source: { kind: 'admin-api' as const }, correlationId: randomUUID(), now: new Date(), newId: randomUUID });
    const newList = async (name: string) => {
      const listId = randomUUID();
      await store.appendToStream(streams.list(listId), toNewEvents([{ type: 'ListCreated', data: { listId, orgId: 'default', name } }], ctx()), { expectedRevision: 'no_stream' });
      return listId;
    };
    const until = async (what: string, check: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 300; i++) { if (await Promise.resolve().then(check).catch(() => false)) return; await new Promise((r) => setTimeout(r, 20)); }
      throw new Error(`timed out waiting for ${what}`);
    };
    try {
      const first = await newList('Before');
      t = await startProjectorThread(dir);
      const lists = () => t!.readStore.collection('lists');
      await until('the first list', async () => (await lists().findOne({ _id: first })) !== null);

      await t.thread.terminate();
      await until('the thread to be seen gone', () => !t!.projection.status().ready);
      await expect(lists().findOne({ _id: first })).rejects.toBeInstanceOf(ReadStoreUnavailableError);

      await until('the restarted thread to be ready', () => t!.projection.status().ready);
      expect(t.restarts).toBe(1);
      expect(await lists().findOne({ _id: first })).toMatchObject({ name: 'Before' });
      const second = await newList('After');
      await until('a list written after the restart', async () => (await lists().findOne({ _id: second })) !== null);
    } finally {
      await t?.close();
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
