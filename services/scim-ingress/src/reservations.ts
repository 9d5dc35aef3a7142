import { createHash } from 'node:crypto';
import { streams, toNewEvents, type CommandContext } from '@muster/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@muster/event-store';

/**
 * Uniqueness through the event store: one stream per (list, kind, value), holding who owns the
 * value. Claiming appends with the expected revision, so two concurrent claims cannot both win
 * (no racy read of a projection).
 */
export type ReservationKind = 'userName' | 'uid' | 'externalId' | 'groupName';

export const reservationStream = (listId: string, kind: ReservationKind, value: string) =>
  streams.reservation(listId, kind, createHash('sha256').update(value.toLowerCase()).digest('hex').slice(0, 40));

export async function ownerOf(store: EventStore, listId: string, kind: ReservationKind, value: string): Promise<{ owner: string | null; revision: number }> {
  const last = await store.readStream(reservationStream(listId, kind, value), { direction: 'backwards', maxCount: 1 });
  if (!last.length) return { owner: null, revision: -1 };
  const e = last[0];
  return { owner: e.type === 'ValueReserved' ? String(e.data.ownerId) : null, revision: e.revision };
}

/** Claim `value` for `ownerId`. Returns null on success, or the id of the current owner. */
export async function claim(store: EventStore, listId: string, kind: ReservationKind, value: string, ownerId: string, ctx: CommandContext): Promise<string | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { owner, revision } = await ownerOf(store, listId, kind, value);
    if (owner === ownerId) return null;
    if (owner !== null) return owner;
    try {
      await store.appendToStream(reservationStream(listId, kind, value),
        toNewEvents([{ type: 'ValueReserved', data: { listId, kind, value, ownerId } }], ctx),
        { expectedRevision: revision < 0 ? 'no_stream' : revision });
      return null;
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
    }
  }
  throw new Error(`could not claim ${kind} after repeated conflicts`);
}

export async function release(store: EventStore, listId: string, kind: ReservationKind, value: string, ownerId: string, ctx: CommandContext): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
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
