import { isReservationEvent } from '@muster/contracts';
import { hash } from 'node:crypto';
import { streamPrefixes, streams, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import type { StreamAppend } from '@muster/event-store';
import type { CommandHandler } from './command-handler.ts';
import type { Decider } from './decider.ts';
import { DomainError, conflict } from './errors.ts';
import type { ReservationKind } from './identity.ts';
import type { StreamSnapshot } from './stream-cache.ts';

/**
 * Uniqueness through the event store: one stream per (list, kind, value) holding who owns the
 * value. A claim appends with the expected revision, so two concurrent claims cannot both win (no
 * racy read of a projection). These uniq-* streams are bookkeeping, not domain streams: the
 * projector ignores them and nothing on the roster reads them.
 */
export interface Reservation { listId: string; kind: ReservationKind; value: string }

export interface ReservationState { owner: string | null }

export type ReservationCommand =
  /** `takeOver`: the value may be taken from its current owner (a stale claim) */
  | { type: 'Reserve'; reservation: Reservation; ownerId: string; takeOver: boolean }
  | { type: 'Release'; reservation: Reservation; ownerId: string };

/**
 * A person's identifier (userName, unique identifier, externalId) is not written into the
 * reservation's events: the person's own events hold it, and the stream is named by its digest; a
 * group's name is (group names are not personal data). Events written before carry the value (sealed
 * by the personal-data layer when it holds one).
 */
const recorded = (kind: string, value: string): { value?: string } => (kind === 'groupName' ? { value } : {});

export const reservationDecider: Decider<ReservationCommand, ReservationState> = {
  initialState: () => ({ owner: null }),
  decide(cmd, s): DomainEvent[] {
    const { listId, kind, value } = cmd.reservation;
    switch (cmd.type) {
      case 'Reserve':
        if (s.owner === cmd.ownerId) return [];
        if (s.owner !== null && !cmd.takeOver) throw conflict(`${kind} is reserved by another owner`, { owner: s.owner });
        return [{ type: 'ValueReserved', data: { listId, kind, ...recorded(kind, value), ownerId: cmd.ownerId } }];
      case 'Release':
        return s.owner === cmd.ownerId ? [{ type: 'ValueReleased', data: { listId, kind, ...recorded(kind, value), ownerId: cmd.ownerId } }] : [];
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): ReservationState {
    if (!isReservationEvent(e)) return s;
    switch (e.type) {
      case 'ValueReserved': return { owner: e.data.ownerId };
      case 'ValueReleased': return { owner: null };
      default: { const never: never = e; return never; }
    }
  },
};

export const reservationStream = (r: Reservation) => streams.reservation(r.listId, r.kind, hash('sha256', r.value.toLowerCase(), 'hex').slice(0, 40));

/** Who holds a value: the owner (null when free), the stream's revision and when it last changed (ms). */
export interface Owner { owner: string | null; revision: number; at: number }

const ownerFrom = (snap: StreamSnapshot<ReservationState> | null): Owner =>
  snap ? { owner: snap.state.owner, revision: snap.revision, at: Date.parse(snap.lastModified) } : { owner: null, revision: -1, at: 0 };

/** A claim whose owner stream was never written (a crash between the two appends) may be taken over after this. */
export const STALE_RESERVATION_MS = 30_000;

export class Reservations {
  constructor(private readonly handler: CommandHandler, private readonly now: () => number = Date.now) {}

  async ownerOf(r: Reservation): Promise<Owner> {
    return ownerFrom(await this.handler.load(reservationStream(r), reservationDecider));
  }

  /**
   * Claim `r` for `ownerId`: null once it is theirs, or who holds it. A value held by a stale claim
   * (see `isStale`), or by an owner `takeOver` accepts, is taken over.
   */
  async claim(r: Reservation, ownerId: string, ctx: CommandContext, takeOver: (o: Owner) => Promise<boolean> = (o) => this.isStale(o)): Promise<Owner | null> {
    let holder: Owner | null = null;
    try {
      await this.handler.handle(reservationStream(r), reservationDecider, async (snap) => {
        const o = ownerFrom(snap);
        holder = o;
        return { type: 'Reserve' as const, reservation: r, ownerId, takeOver: o.owner !== null && o.owner !== ownerId && (await takeOver(o)) };
      }, ctx);
      return null;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'conflict' && holder) return holder;
      throw err;
    }
  }

  /** Release `r` if `ownerId` holds it. */
  async release(r: Reservation, ownerId: string, ctx: CommandContext): Promise<void> {
    await this.handler.handle(reservationStream(r), reservationDecider, { type: 'Release', reservation: r, ownerId }, ctx);
  }

  /** Claim every one of `rs` for `ownerId`; on the first taken, release those claimed and return [the taken one, its owner]. */
  async claimAll(rs: Reservation[], ownerId: string, ctx: CommandContext): Promise<[Reservation, Owner] | null> {
    const owners = await Promise.all(rs.map((r) => this.claim(r, ownerId, ctx)));
    const taken = owners.findIndex((o) => o !== null);
    if (taken < 0) return null;
    await this.releaseAll(rs.filter((_, i) => owners[i] === null), ownerId, ctx);
    return [rs[taken], owners[taken]!];
  }

  /** Release each of `rs` held by `ownerId` (failures ignored: a leftover claim is taken over once stale). */
  async releaseAll(rs: Reservation[], ownerId: string, ctx: CommandContext): Promise<void> {
    await Promise.all(rs.map((r) => this.release(r, ownerId, ctx).catch(() => {})));
  }

  /**
   * Release every value of the list `ownerId` holds, found by walking the list's reservation streams
   * (for when the values themselves are unknown: a person whose data was erased before their
   * identifiers were released). A walk of the log's reservation events: for that rare recovery only.
   */
  async releaseAllOwnedBy(listId: string, ownerId: string, ctx: CommandContext): Promise<number> {
    const store = this.handler.store;
    const held = new Map<string, string>();
    for (let from = -1; ;) {
      const page = await store.readAll({ fromPosition: from, maxCount: 2_000, filter: { streamPrefixes: [`${streamPrefixes.reservation}${listId}-`], eventTypes: ['ValueReserved'] } });
      for (const e of page) if (e.data.ownerId === ownerId) held.set(e.streamId, String(e.data.kind));
      if (page.length < 2_000) break;
      from = page[page.length - 1].position;
    }
    let released = 0;
    for (const [streamId, kind] of held) {
      // the value is not needed: only a group name's is written into the event
      const res = await this.handler.handle(streamId, reservationDecider, { type: 'Release', reservation: { listId, kind: kind as ReservationKind, value: '' }, ownerId }, ctx);
      released += res.events.length;
    }
    return released;
  }

  /** The appends that reserve new values (expected no_stream) in the same atomic unit as their owner's events. */
  reserveAlongside(rs: Reservation[], ownerId: string, ctx: CommandContext): StreamAppend[] {
    return rs.map((r) => ({
      streamId: reservationStream(r), expectedRevision: 'no_stream' as const,
      events: toNewEvents([{ type: 'ValueReserved', data: { listId: r.listId, kind: r.kind, ...recorded(r.kind, r.value), ownerId } }], ctx),
    }));
  }

  /** A claim is stale when it is old enough and its owner (a person or a group) was never written. */
  async isStale(o: Owner): Promise<boolean> {
    if (!o.owner || this.now() - o.at < STALE_RESERVATION_MS) return false;
    const store = this.handler.store;
    const [person, group] = await Promise.all([store.readStream(streams.person(o.owner), { maxCount: 1 }), store.readStream(streams.group(o.owner), { maxCount: 1 })]);
    return person.length === 0 && group.length === 0;
  }
}
