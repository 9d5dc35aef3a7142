import { ProjectionWaiter } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedEventStore, type EventStore } from '@muster/event-store';
import { MAX_ANSWER_CHARS, UserNameAnswers } from './user-name-answers.ts';
import { reservationStream } from '@muster/domain';

const LIST = 'list-a';
const ev = (type: string, data: Record<string, unknown>) => [{ eventId: crypto.randomUUID(), type, data, metadata: {} }];
const user = (userName: string, id = 'p1') => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id, userName, title: 'T' });
const settle = () => new Promise((r) => setTimeout(r, 30));

describe('UserNameAnswers', () => {
  let dir: string;
  let store: EventStore;
  let checkpoint: number | null;
  let checkpointReads: number;
  let answers: UserNameAnswers;
  /** the projection's progress as the ingress sees it, reading `checkpoint` (reads counted) */
  const waiter = () => new ProjectionWaiter({ getCheckpoint: async () => { checkpointReads++; return checkpoint; } } as unknown as ReadStore);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'muster-answers-'));
    store = await openEmbeddedEventStore({ dir });
    checkpoint = null;
    checkpointReads = 0;
    answers = new UserNameAnswers(store, waiter(), (r) => JSON.stringify(r), 3);
    await answers.start();
  });
  afterEach(async () => { await answers.stop(); await store.close(); await rm(dir, { recursive: true, force: true }); });

  const reserve = (name: string) => store.appendToStream(reservationStream({ listId: LIST, kind: 'userName', value: name }), ev('ValueReserved', { listId: LIST, kind: 'userName', value: name, ownerId: 'p1' }));
  const personEvent = (id = 'p1') => store.appendToStream(`person-${id}`, ev('AttributesChanged', { personId: id, listId: LIST }));

  it('serves a kept answer while the person stream is at the kept revision, and drops it when it moves', async () => {
    await reserve('Ann@x.org');
    await personEvent();
    answers.remember(LIST, 'p1', 0, user('Ann@x.org'), answers.groupStamp(LIST));
    const now = answers.answer(LIST, 'ANN@x.org', 1, 100);
    expect(typeof now).toBe('string'); // the embedded store answers revisions synchronously: no promise
    const body = await now;
    expect(JSON.parse(body!)).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [user('Ann@x.org')] });
    await personEvent();
    expect(await answers.answer(LIST, 'ann@x.org', 1, 100)).toBeNull();
    expect(answers.size).toBe(0);
  });

  it('a rename drops the entry under the old name', async () => {
    await personEvent();
    answers.remember(LIST, 'p1', 0, user('old@x.org'), -1);
    await personEvent();
    answers.remember(LIST, 'p1', 1, user('new@x.org'), -1);
    expect(answers.size).toBe(1);
    expect(JSON.parse((await answers.resource(LIST, 'p1'))!.json).userName).toBe('new@x.org');
  });

  it('answers by person id only within the list the entry belongs to', async () => {
    await personEvent();
    answers.remember(LIST, 'p1', 0, user('a@x.org'), -1);
    expect(await answers.resource(LIST, 'p1')).toEqual({ json: JSON.stringify(user('a@x.org')), revision: 0 });
    expect(await answers.resource('list-b', 'p1')).toBeNull();
    expect(await answers.resource(LIST, 'p2')).toBeNull();
  });

  it('a group event of the list (own write or seen through the subscription) makes its kept answers stale; other lists keep theirs', async () => {
    await personEvent();
    await personEvent('p2');
    answers.remember(LIST, 'p1', 0, user('a@x.org'), answers.groupStamp(LIST));
    answers.remember('list-b', 'p2', 0, user('b@x.org', 'p2'), answers.groupStamp('list-b'));
    answers.noteGroupEvent(LIST, 5);
    expect(await answers.answer(LIST, 'a@x.org', 1, 100)).toBeNull();
    expect(await answers.answer('list-b', 'b@x.org', 1, 100)).not.toBeNull();
    // another writer's group event reaches the stamp through the subscription
    const { position } = await store.appendToStream('group-g1', ev('GroupMembersChanged', { groupId: 'g1', listId: 'list-b', added: ['p1'], removed: [] }));
    await settle();
    expect(answers.groupStamp('list-b')).toBe(position);
    expect(await answers.answer('list-b', 'b@x.org', 1, 100)).toBeNull();
  });

  it('projectedThrough: only once the projection has applied the stamp and everything logged before the cache started', async () => {
    await personEvent(); // position 0, before start of a new cache below
    await answers.stop();
    answers = new UserNameAnswers(store, waiter(), (r) => JSON.stringify(r));
    await answers.start();
    expect(await answers.projectedThrough(-1)).toBe(false); // no checkpoint yet
    checkpoint = 0;
    expect(await answers.projectedThrough(-1)).toBe(true);
    const reads = checkpointReads;
    expect(await answers.projectedThrough(0)).toBe(true); // known already: no lookup
    expect(checkpointReads).toBe(reads);
    answers.noteGroupEvent(LIST, 7);
    expect(await answers.projectedThrough(answers.groupStamp(LIST))).toBe(false);
    checkpoint = 7; // the projection catches up
    expect(await answers.projectedThrough(answers.groupStamp(LIST))).toBe(true);
  });

  it('misses without a reservation are answered as empty; a reserved name it does not hold is left to the read store', async () => {
    expect(JSON.parse((await answers.answer(LIST, 'nobody@x.org', 3, 10))!)).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 3, itemsPerPage: 0, Resources: [] });
    await reserve('Held@x.org');
    expect(await answers.answer(LIST, 'held@X.org', 1, 10)).toBeNull();
  });

  it('keeps at most `max` answers, the oldest going first', async () => {
    for (const n of ['a', 'b', 'c', 'd']) { await personEvent(n); answers.remember(LIST, n, 0, user(`${n}@x.org`, n), -1); }
    expect(answers.size).toBe(3);
    // 'a' is no longer held: with no reservation in this store the answer is "nobody"
    expect(JSON.parse((await answers.answer(LIST, 'a@x.org', 1, 10))!).totalResults).toBe(0);
    expect(JSON.parse((await answers.answer(LIST, 'd@x.org', 1, 10))!).totalResults).toBe(1);
  });

  it('keeps at most `maxChars` of JSON in all, and no single answer longer than MAX_ANSWER_CHARS', async () => {
    const small = new UserNameAnswers(store, new ProjectionWaiter({ getCheckpoint: async () => 0 } as unknown as ReadStore), (r) => JSON.stringify(r), 100, 250);
    for (const n of ['a', 'b', 'c']) { await personEvent(n); small.remember(LIST, n, 0, user(`${n}@x.org`, n), -1); } // ~100 characters each
    expect(small.size).toBe(2);
    expect(JSON.parse((await small.answer(LIST, 'a@x.org', 1, 10))!).totalResults).toBe(0);
    expect(JSON.parse((await small.answer(LIST, 'c@x.org', 1, 10))!).totalResults).toBe(1);
    answers.remember(LIST, 'p1', 0, { ...user('big@x.org'), photos: [{ value: `data:${'x'.repeat(MAX_ANSWER_CHARS)}` }] }, -1);
    expect(answers.size).toBe(0);
  });
});
