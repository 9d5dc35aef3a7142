import { hash } from 'node:crypto';
import { streams, toNewEvents, type CommandContext } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@muster/event-store';

/**
 * Uniqueness through the event store: one stream per (list, kind, value), holding who owns the
 * value. Claiming appends with the expected revision, so two concurrent claims cannot both win
 * (no racy read of a projection).
 *
 * These uniq-* streams are bookkeeping, not domain streams: a request that changes a person or a
 * group appends exactly one domain event (to person-* or group-*), and may also append
 * ValueReserved/ValueReleased here. The projector ignores them; nothing on the roster reads them.
 */
export type ReservationKind = 'userName' | 'uid' | 'externalId' | 'groupName';

export const reservationStream = (listId: string, kind: ReservationKind, value: string) =>
  streams.reservation(listId, kind, hash('sha256', value.toLowerCase(), 'hex').slice(0, 40));

/** the ValueReserved event of a claim (one per claimed value) */
export const reservedEvents = (listId: string, kind: ReservationKind, value: string, ownerId: string, ctx: CommandContext) =>
  toNewEvents([{ type: 'ValueReserved', data: { listId, kind, value, ownerId } }], ctx);

export interface Owner { owner: string | null; revision: number; at: number }

export async function ownerOf(store: EventStore, listId: string, kind: ReservationKind, value: string): Promise<Owner> {
  const last = await store.readStream(reservationStream(listId, kind, value), { direction: 'backwards', maxCount: 1 });
  if (!last.length) return { owner: null, revision: -1, at: 0 };
  const e = last[0];
  return { owner: e.type === 'ValueReserved' ? String(e.data.ownerId) : null, revision: e.revision, at: e.created };
}

/**
 * Claim `value` for `ownerId`. Returns null on success, or the current owner. A new value costs
 * one append (expected revision no_stream) and no read. `takeOver(owner)` may return true to
 * claim a value from a stale owner (one whose person was never written).
 */
export async function claim(
  store: EventStore, listId: string, kind: ReservationKind, value: string, ownerId: string, ctx: CommandContext,
  takeOver?: (o: Owner) => Promise<boolean>,
): Promise<Owner | null> {
  const stream = reservationStream(listId, kind, value);
  let expected: 'no_stream' | number = 'no_stream';
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      await store.appendToStream(stream, reservedEvents(listId, kind, value, ownerId, ctx), { expectedRevision: expected });
      return null;
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
    }
    const o = await ownerOf(store, listId, kind, value);
    if (o.owner === ownerId) return null;
    if (o.owner !== null && !(takeOver && (await takeOver(o)))) return o;
    expected = o.revision < 0 ? 'no_stream' : o.revision;
    if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
  }
  throw new Error(`could not claim ${kind} after repeated conflicts`);
}

export async function release(store: EventStore, listId: string, kind: ReservationKind, value: string, ownerId: string, ctx: CommandContext): Promise<void> {
  for (let attempt = 0; attempt < 6; attempt++) {
    const { owner, revision } = await ownerOf(store, listId, kind, value);
    if (owner !== ownerId) return;
    try {
      await store.appendToStream(reservationStream(listId, kind, value),
        toNewEvents([{ type: 'ValueReleased', data: { listId, kind, value, ownerId } }], ctx), { expectedRevision: revision });
      return;
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
    }
  }
}
