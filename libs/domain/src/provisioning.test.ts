/**
 * The provisioning workflows and the reservation decider: Given/When/Then specs for the decider,
 * and the workflows over a real embedded event store (with and without atomic multi-stream
 * appends): relink of a deprovisioned person, stale-claim takeover, release on failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streams, type CommandContext, type DomainEvent } from '@muster/contracts';
import { openEmbeddedEventStore, type EmbeddedEventStore } from '@muster/event-store/embedded';
import type { EventStore } from '@muster/event-store';
import { CommandHandler } from './command-handler.ts';
import { GroupProvisioning, PersonProvisioning } from './provisioning.ts';
import { Reservations, STALE_RESERVATION_MS, reservationDecider, reservationStream, type Reservation } from './reservations.ts';
import { spec } from './spec.ts';
import type { ListState } from './list.ts';

const name: Reservation = { listId: 'l1', kind: 'userName', value: 'ada@example.org' };

describe('reservation decider', () => {
  const given = spec(reservationDecider);
  const reserved: DomainEvent = { type: 'ValueReserved', data: { listId: 'l1', kind: 'userName', ownerId: 'p1' } };
  it('a free value is reserved (a person\'s identifier is not written into the event, a group\'s name is); its owner reserving again changes nothing', () => {
    given([]).when({ type: 'Reserve', reservation: { listId: 'l1', kind: 'groupName', value: 'Year 9' }, ownerId: 'g1', takeOver: false })
      .then([{ type: 'ValueReserved', data: { listId: 'l1', kind: 'groupName', value: 'Year 9', ownerId: 'g1' } }]);
    given([]).when({ type: 'Reserve', reservation: name, ownerId: 'p1', takeOver: false }).then([reserved]);
    given([reserved]).when({ type: 'Reserve', reservation: name, ownerId: 'p1', takeOver: false }).then([]);
  });
  it('a value held by another owner is refused, unless it may be taken over', () => {
    given([reserved]).when({ type: 'Reserve', reservation: name, ownerId: 'p2', takeOver: false }).thenThrows('conflict');
    given([reserved]).when({ type: 'Reserve', reservation: name, ownerId: 'p2', takeOver: true })
      .then([{ type: 'ValueReserved', data: { listId: 'l1', kind: 'userName', ownerId: 'p2' } }]);
  });
  it('only the owner releases; a released value is free again', () => {
    given([reserved]).when({ type: 'Release', reservation: name, ownerId: 'p2' }).then([]);
    const released: DomainEvent = { type: 'ValueReleased', data: { listId: 'l1', kind: 'userName', ownerId: 'p1' } };
    given([reserved]).when({ type: 'Release', reservation: name, ownerId: 'p1' }).then([released]);
    given([reserved, released]).when({ type: 'Reserve', reservation: name, ownerId: 'p2', takeOver: false })
      .thenMatches((e) => expect(e).toMatchObject([{ type: 'ValueReserved', data: { ownerId: 'p2' } }]));
  });
});

let clock = Date.parse('2026-01-01T00:00:00Z');
let ids = 0;
const ctx = (): CommandContext => ({
  actor: { kind: 'scim-token', id: 't1' }, source: { kind: 'scim', idp: 'okta' }, correlationId: 'c', now: new Date(clock), newId: () => `e${++ids}`,
});
const list: Pick<ListState, 'listId' | 'sync'> = { listId: 'l1', sync: { provider: 'scim', uniqueIdentifier: 'userName', connectedAt: 0 } as unknown as ListState['sync'] };
const user = (userName: string, extra: Record<string, unknown> = {}) => ({ userName, ...extra });

/** the store without atomic multi-stream appends (as EventStoreDB): the claim-by-claim paths */
function withoutAtomicAppends(store: EventStore): EventStore {
  const { appendToStreams: _omit, ...rest } = store as EventStore & { appendToStreams?: unknown };
  return { ...rest, appendToStream: store.appendToStream.bind(store), readStream: store.readStream.bind(store), readAll: store.readAll.bind(store),
    subscribeToAll: store.subscribeToAll.bind(store), headPosition: store.headPosition.bind(store), close: store.close.bind(store) } as EventStore;
}

for (const atomic of [true, false]) {
  describe(`provisioning workflows (${atomic ? 'atomic appends' : 'one stream at a time'})`, () => {
    let dir: string;
    let embedded: EmbeddedEventStore;
    let store: EventStore;
    let people: PersonProvisioning;
    let groups: GroupProvisioning;
    let reservations: Reservations;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'muster-provisioning-'));
      embedded = await openEmbeddedEventStore({ dir });
      store = atomic ? embedded : withoutAtomicAppends(embedded);
      const handler = new CommandHandler(store);
      reservations = new Reservations(handler, () => clock);
      people = new PersonProvisioning(handler, reservations);
      groups = new GroupProvisioning(handler, reservations);
    });
    afterAll(async () => { await embedded.close(); await rm(dir, { recursive: true, force: true }); });

    it('provisions a new person with its userName reserved; a second create of that userName (any case) is a conflict', async () => {
      const done = await people.provision(list, 'p-ada', user('ada@example.org'), Promise.resolve({ firstName: 'Ada' }), ctx());
      expect(done).toMatchObject({ personId: 'p-ada', created: true, events: [{ type: 'PersonProvisioned' }] });
      expect((await reservations.ownerOf({ ...name, value: 'ADA@example.org' })).owner).toBe('p-ada');
      await expect(people.provision(list, 'p-other', user('ADA@example.org'), Promise.resolve({}), ctx())).rejects.toMatchObject({ code: 'conflict' });
      // the loser's claims are released: nothing of p-other is left reserved, and no person stream was written
      expect(await store.readStream(streams.person('p-other'))).toEqual([]);
    });

    it('relinks the deprovisioned person who holds the identifiers instead of creating a duplicate (by userName, then by externalId anchor)', async () => {
      const first = await people.provision(list, 'p-grace', user('grace@example.org', { externalId: 'okta-7' }), Promise.resolve({}), ctx());
      await people.unlink(list, first.personId, () => {}, ctx(), { retry: true });
      const again = await people.provision(list, 'p-new', user('grace@example.org', { externalId: 'okta-7' }), Promise.resolve({}), ctx());
      expect(again).toMatchObject({ personId: 'p-grace', created: false, events: [{ type: 'PersonRelinked' }] });
      // unlinked again, then the IdP comes back with a new userName but the same externalId: the anchor relinks
      await people.unlink(list, 'p-grace', () => {}, ctx(), { retry: true });
      const renamed = await people.provision(list, 'p-new2', user('grace.hopper@example.org', { externalId: 'okta-7' }), Promise.resolve({}), ctx());
      expect(renamed).toMatchObject({ personId: 'p-grace', created: false });
      expect(await store.readStream(streams.person('p-new2'))).toEqual([]);
      // a linked holder is a conflict, never a relink
      await expect(people.provision(list, 'p-dup', user('grace.hopper@example.org'), Promise.resolve({}), ctx())).rejects.toMatchObject({ code: 'conflict' });
    });

    it('takes over a claim whose owner was never written once it is stale, not before', async () => {
      const orphan: Reservation = { listId: 'l1', kind: 'userName', value: 'orphan@example.org' };
      expect(await reservations.claim(orphan, 'p-crashed', ctx())).toBeNull(); // a crash between the claim and the person's append
      await expect(people.provision(list, 'p-fresh', user('orphan@example.org'), Promise.resolve({}), ctx())).rejects.toMatchObject({ code: 'conflict' });
      clock += STALE_RESERVATION_MS + 1;
      const done = await people.provision(list, 'p-fresh', user('orphan@example.org'), Promise.resolve({}), ctx());
      expect(done).toMatchObject({ personId: 'p-fresh', created: true });
      expect((await reservations.ownerOf(orphan)).owner).toBe('p-fresh');
    });

    it('a change of userName claims the new one before recording and releases the old one after; a taken one refuses the change', async () => {
      await people.provision(list, 'p-ken', user('ken@example.org'), Promise.resolve({}), ctx());
      await people.provision(list, 'p-rob', user('rob@example.org'), Promise.resolve({}), ctx());
      const plan = (userName: string) => (snap: Parameters<Parameters<PersonProvisioning['change']>[2]>[0]) =>
        ({ scim: { ...snap!.state.scim!, userName }, scimChanges: [{ path: 'userName', old: snap!.state.scim!.userName, new: userName }] });
      await expect(people.change(list, 'p-ken', plan('rob@example.org'), async () => ({}), ctx(), { retry: true })).rejects.toMatchObject({ code: 'conflict' });
      const done = await people.change(list, 'p-ken', plan('kenneth@example.org'), async () => ({}), ctx(), { retry: true });
      expect(done.events).toMatchObject([{ type: 'AttributesChanged' }]);
      expect((await reservations.ownerOf({ listId: 'l1', kind: 'userName', value: 'kenneth@example.org' })).owner).toBe('p-ken');
      expect((await reservations.ownerOf({ listId: 'l1', kind: 'userName', value: 'ken@example.org' })).owner).toBeNull();
    });

    it('parallel changes of one person all land through the handler\'s retries (no lost update)', async () => {
      await people.provision(list, 'p-race', user('race@example.org'), Promise.resolve({}), ctx());
      const attrs = ['title', 'nickName', 'locale', 'timezone', 'userType', 'displayName'];
      await Promise.all(attrs.map((a) => people.change(list, 'p-race', (snap) => ({ scim: { ...snap!.state.scim!, [a]: `v-${a}` }, scimChanges: [{ path: a, old: null, new: `v-${a}` }] }),
        async () => ({}), ctx(), { retry: true })));
      const snap = await people.load('p-race');
      for (const a of attrs) expect(snap!.state.scim![a]).toBe(`v-${a}`);
      expect(snap!.revision).toBe(attrs.length);
    });

    it('groups: a name is unique on the list, renames move the reservation, a deleted group frees its name', async () => {
      await groups.create({ type: 'CreateGroup', groupId: 'g1', listId: 'l1', displayName: 'Year 7', members: [] }, ctx());
      await expect(groups.create({ type: 'CreateGroup', groupId: 'g2', listId: 'l1', displayName: 'year 7', members: [] }, ctx())).rejects.toMatchObject({ code: 'conflict' });
      expect(await store.readStream(streams.group('g2'))).toEqual([]);
      await groups.change('l1', 'g1', async (s) => ({ type: 'UpdateGroup', displayName: 'Year 8', members: s!.state.members }), ctx(), { retry: true });
      await groups.create({ type: 'CreateGroup', groupId: 'g3', listId: 'l1', displayName: 'Year 7', members: [] }, ctx());
      await expect(groups.change('l1', 'g3', async () => ({ type: 'UpdateGroup', displayName: 'YEAR 8', members: [] }), ctx(), { retry: true })).rejects.toMatchObject({ code: 'conflict' });
      await groups.delete('l1', 'g1', () => {}, ctx(), { retry: true });
      await groups.create({ type: 'CreateGroup', groupId: 'g4', listId: 'l1', displayName: 'Year 8', members: [] }, ctx());
      expect((await reservations.ownerOf({ listId: 'l1', kind: 'groupName', value: 'year 8' })).owner).toBe('g4');
    });

    it(atomic ? 'a new person and its reservations are one atomic run of records' : 'without atomic appends the claim comes first, then the person', async () => {
      const head = await store.headPosition();
      await people.provision(list, 'p-one', user('one@example.org'), Promise.resolve({}), ctx());
      const written = (await store.readAll({ fromPosition: head })).map((e) => e.streamId);
      expect(written).toEqual([reservationStream({ listId: 'l1', kind: 'userName', value: 'one@example.org' }), streams.person('p-one')]);
    });
  });
}
