/**
 * Provisioning: how an identity provider's users and groups become people and groups on a list,
 * with their identifiers kept unique per list. Workflows over the command handler: reserve the
 * identifiers, then record the change (one atomic append where the store allows it, claims with
 * release on failure elsewhere), relink a deprovisioned person instead of duplicating them, take
 * over a stale claim. The SCIM ingress translates requests into these calls and back; it does not
 * load, append or retry itself.
 */
import { ERASED, streams, type AttributeChange, type CommandContext } from '@muster/contracts';
import { WrongExpectedRevisionError } from '@muster/event-store';
import type { CommandHandler, Handled, Plan } from './command-handler.ts';
import { conflict, notFound } from './errors.ts';
import { groupDecider, type GroupCommand, type GroupState } from './group.ts';
import { RESERVATION_LABEL, externalIdOf, identifiersOf, type Identifier, type ReservationKind, type ScimUser } from './identity.ts';
import type { ListState } from './list.ts';
import { personDecider, type Fields, type PersonCommand, type PersonState } from './person.ts';
import { Reservations, type Reservation } from './reservations.ts';
import type { StreamSnapshot } from './stream-cache.ts';

type ListRef = Pick<ListState, 'listId' | 'sync'>;

export interface PersonProvisioned extends Handled<PersonState> {
  personId: string;
  /** false when an earlier, deprovisioned person of the list was relinked */
  created: boolean;
}

/** The new state a planner derives from the current one (PUT or PATCH): the resource and what changed in it. */
export interface PersonChange { scim: ScimUser; scimChanges: AttributeChange[] }

/** Options of a change to an existing person or group. */
export interface ChangeOptions {
  /** retry after a concurrent write (false when the caller named the revision it expects) */
  retry: boolean;
}

const reservationsOf = (listId: string, ids: Identifier[]): Reservation[] => ids.map(([kind, value]) => ({ listId, kind, value }));

export class PersonProvisioning {
  constructor(private readonly handler: CommandHandler, private readonly reservations: Reservations) {}

  /** The current state of a person stream (null when it does not exist). */
  load(personId: string): Promise<StreamSnapshot<PersonState> | null> {
    return this.handler.load(streams.person(personId), personDecider);
  }

  /**
   * A new person from an IdP user, or the relink of the list's deprovisioned person who holds its
   * identifiers. `fields` (the mapped values) may still be in flight while identifiers are claimed.
   */
  async provision(list: ListRef, personId: string, scim: ScimUser, fields: Promise<Fields>, ctx: CommandContext): Promise<PersonProvisioned> {
    const keys = reservationsOf(list.listId, identifiersOf(scim, list));
    const provision = (fieldValues: Fields): PersonCommand => ({ type: 'Provision', personId, listId: list.listId, scim, fields: fieldValues });
    const extId = externalIdOf(scim);
    // read once: the atomic path and the claim-by-claim path below both need it
    const anchored = extId ? this.deprovisionedByExternalId(list.listId, extId) : Promise.resolve(null);
    anchored.catch(() => {});
    if (this.handler.atomicAppends) {
      // one durable write: the reservations and the person in one atomic append (no_stream on each);
      // anything unusual (a value reserved before, a deprovisioned anchor) takes the path below
      const [anchor, fieldValues] = await Promise.all([anchored, fields]);
      if (!anchor) {
        try {
          const done = await this.handler.handle(streams.person(personId), personDecider, provision(fieldValues), ctx,
            { isNew: true, alongside: () => this.reservations.reserveAlongside(keys, personId, ctx) });
          return { ...done, personId, created: true };
        } catch (err) {
          if (!(err instanceof WrongExpectedRevisionError)) throw err;
        }
      }
    }
    const [owners, anchor] = await Promise.all([Promise.all(keys.map((k) => this.reservations.claim(k, personId, ctx))), anchored]);
    const taken: Array<[ReservationKind, string]> = owners.flatMap((o, i) => (o?.owner ? [[keys[i].kind, o.owner] as [ReservationKind, string]] : []));
    if (anchor) taken.push(['externalId', anchor]);
    if (taken.length) {
      await this.reservations.releaseAll(keys.filter((_, i) => owners[i] === null), personId, ctx);
      return this.relink(list, scim, keys, taken, fields, ctx);
    }
    try {
      const done = await this.handler.handle(streams.person(personId), personDecider, provision(await fields), ctx, { isNew: true });
      return { ...done, personId, created: true };
    } catch (err) {
      await this.reservations.releaseAll(keys, personId, ctx);
      throw err;
    }
  }

  /**
   * A create whose identifiers are already reserved: when every one of them belongs to one person
   * of this list who was deprovisioned, that person is relinked and reactivated instead of
   * creating a duplicate; otherwise a conflict.
   */
  private async relink(list: ListRef, scim: ScimUser, keys: Reservation[], taken: Array<[ReservationKind, string]>, fields: Promise<Fields>, ctx: CommandContext): Promise<PersonProvisioned> {
    let target: string | null = null;
    for (const [kind, owner] of taken) {
      const other = await this.load(owner);
      if (!other || !other.state.exists || other.state.listId !== list.listId || other.state.linked) throw conflict(`a User with this ${RESERVATION_LABEL[kind]} already exists`);
      if (target && target !== owner) throw conflict(`this ${RESERVATION_LABEL[kind]} belongs to a different deprovisioned person than the other identifiers`);
      target = owner;
    }
    const personId = target!;
    const clash = await this.reservations.claimAll(keys, personId, ctx);
    if (clash) throw conflict(`a User with this ${RESERVATION_LABEL[clash[0].kind]} already exists`);
    const fieldValues = await fields;
    const done = await this.handler.handle(streams.person(personId), personDecider,
      { type: 'Provision', personId, listId: list.listId, scim, fields: fieldValues }, ctx);
    return { ...done, personId, created: false };
  }

  /** The deprovisioned person of this list whose externalId anchor is `externalId`, if any. */
  private async deprovisionedByExternalId(listId: string, externalId: string): Promise<string | null> {
    const { owner } = await this.reservations.ownerOf({ listId, kind: 'externalId', value: externalId });
    if (!owner) return null;
    const p = await this.load(owner);
    return p && p.state.exists && !p.state.linked && p.state.listId === listId ? owner : null;
  }

  /**
   * Change a linked person (PUT, PATCH). `plan` derives the new resource from the current state
   * (it may refuse: not found, a precondition); it is asked again after a concurrent write.
   * Nothing is recorded when neither the resource nor the status changes. Identifiers that change
   * are claimed before the change is recorded and the old ones released after.
   */
  change(list: ListRef, personId: string, plan: (current: StreamSnapshot<PersonState> | null) => PersonChange,
    fields: (scim: ScimUser) => Promise<Fields>, ctx: CommandContext, opts: ChangeOptions): Promise<Handled<PersonState>> {
    return this.handler.handle(streams.person(personId), personDecider, async (current): Promise<Plan<PersonCommand, PersonState> | null> => {
      const next = plan(current);
      const before = current!.state;
      const statusChanges = (before.status === 'active') !== (next.scim.active !== false);
      if (!next.scimChanges.length && !statusChanges) return null;
      const oldKeys = new Map(identifiersOf(before.scim ?? {}, list));
      const changed = identifiersOf(next.scim, list).filter(([k, v]) => oldKeys.get(k)?.toLowerCase() !== v.toLowerCase());
      const claims = reservationsOf(list.listId, changed);
      const released = reservationsOf(list.listId, changed.flatMap(([k]) => (oldKeys.has(k) ? [[k, oldKeys.get(k)!] as Identifier] : [])));
      const mapped = fields(next.scim);
      mapped.catch(() => {});
      return {
        command: { type: 'ScimUpdate', scim: next.scim, scimChanges: next.scimChanges, fields: await mapped },
        prepare: async () => {
          const clash = await this.reservations.claimAll(claims, personId, ctx);
          if (clash) throw conflict(`another User already has this ${RESERVATION_LABEL[clash[0].kind]}`);
          return () => this.reservations.releaseAll(claims, personId, ctx);
        },
        after: async () => { await Promise.all(released.map((r) => this.reservations.release(r, personId, ctx))); },
      };
    }, ctx, { retry: opts.retry });
  }

  /**
   * Deprovision (SCIM DELETE): the person stays on the roster, unlinked and inactive. Their
   * externalId stays reserved as the anchor a later create of the same person relinks to.
   */
  unlink(list: ListRef, personId: string, check: (current: StreamSnapshot<PersonState> | null) => void, ctx: CommandContext, opts: ChangeOptions): Promise<Handled<PersonState>> {
    return this.handler.handle(streams.person(personId), personDecider, (current): Plan<PersonCommand, PersonState> => {
      check(current);
      const extId = externalIdOf(current!.state.scim ?? {});
      return {
        command: { type: 'Unlink' },
        after: async () => {
          if (extId) await this.reservations.claim({ listId: list.listId, kind: 'externalId', value: extId }, personId, ctx, async () => true).catch(() => {});
        },
      };
    }, ctx, { retry: opts.retry });
  }

  /**
   * Erase a person (GDPR Art. 17): `shred` deletes their data key first (from then on every event of
   * theirs reads `[erased]`), then `PersonErased` is recorded and the identifiers they held are
   * released, so the same userName or unique identifier makes a new person. The identifiers are read
   * before the key goes. Idempotent: erasing an erased person changes nothing (`erased: false`); a
   * failure after the shred is finished by asking again.
   */
  async erase(list: ListRef, personId: string, why: { reason: string; trigger: 'request' | 'retention' | 'list-deleted'; groups?: string[] }, shred: (personId: string) => Promise<void>, ctx: CommandContext): Promise<{ erased: boolean; position: number | null }> {
    const stream = streams.person(personId);
    const current = await this.handler.load(stream, personDecider);
    if (!current || current.state.listId !== list.listId || (!current.state.exists && !current.state.erased)) throw notFound('person not found');
    if (current.state.erased) return { erased: false, position: null };
    const scim = current.state.scim ?? {};
    // the key may be gone already (an erasure cut short after the shred): the identifiers read
    // [erased], so the reservations are found by their owner instead
    const shredded = scim.userName === ERASED;
    const extId = externalIdOf(scim);
    const held = shredded ? [] : reservationsOf(list.listId, [...identifiersOf(scim, list), ...(extId ? [['externalId', extId] as Identifier] : [])]);
    await shred(personId);
    const done = await this.handler.handle(stream, personDecider, { type: 'Erase', reason: why.reason, trigger: why.trigger }, ctx);
    if (shredded) await this.reservations.releaseAllOwnedBy(list.listId, personId, ctx);
    else await this.reservations.releaseAll(held, personId, ctx);
    // and out of the groups they were in (`why.groups`: where the read models saw them)
    let position = done.position;
    for (const groupId of why.groups ?? []) {
      const left = await this.handler.handle(streams.group(groupId), groupDecider, (g) => (g?.state.exists && !g.state.deleted && g.state.members.includes(personId)
        ? { type: 'UpdateGroup' as const, displayName: g.state.displayName, externalId: g.state.externalId, members: g.state.members.filter((m) => m !== personId) }
        : null), ctx);
      position = left.position ?? position;
    }
    return { erased: done.events.length > 0, position };
  }
}

export class GroupProvisioning {
  constructor(private readonly handler: CommandHandler, private readonly reservations: Reservations) {}

  load(groupId: string): Promise<StreamSnapshot<GroupState> | null> {
    return this.handler.load(streams.group(groupId), groupDecider);
  }

  private name(listId: string, displayName: string): Reservation {
    return { listId, kind: 'groupName', value: displayName };
  }

  /** A new group; its displayName is reserved on the list (one atomic append where the store allows). */
  async create(cmd: Extract<GroupCommand, { type: 'CreateGroup' }>, ctx: CommandContext): Promise<Handled<GroupState>> {
    const name = this.name(cmd.listId, cmd.displayName);
    const taken = () => conflict(`a Group named "${cmd.displayName}" already exists`);
    if (this.handler.atomicAppends) {
      // a crash keeps both or neither; a name reserved before (taken, released, stale) takes the claim path
      try {
        return await this.handler.handle(streams.group(cmd.groupId), groupDecider, cmd, ctx,
          { isNew: true, alongside: () => this.reservations.reserveAlongside([name], cmd.groupId, ctx) });
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
      }
    }
    if ((await this.reservations.claim(name, cmd.groupId, ctx)) !== null) throw taken();
    try {
      return await this.handler.handle(streams.group(cmd.groupId), groupDecider, cmd, ctx, { isNew: true });
    } catch (err) {
      await this.reservations.releaseAll([name], cmd.groupId, ctx);
      throw err;
    }
  }

  /**
   * Change a group (PUT, PATCH): `plan` derives the desired state from the current one (it may
   * refuse), and is asked again after a concurrent write. A new name is claimed before the change
   * is recorded and the old one released after.
   */
  change(listId: string, groupId: string, plan: (current: StreamSnapshot<GroupState> | null) => Promise<Extract<GroupCommand, { type: 'UpdateGroup' }>>,
    ctx: CommandContext, opts: ChangeOptions): Promise<Handled<GroupState>> {
    return this.handler.handle(streams.group(groupId), groupDecider, async (current): Promise<Plan<GroupCommand, GroupState>> => {
      const cmd = await plan(current);
      const before = current!.state.displayName;
      if (cmd.displayName.toLowerCase() === before.toLowerCase()) return { command: cmd };
      const name = this.name(listId, cmd.displayName);
      return {
        command: cmd,
        prepare: async () => {
          if ((await this.reservations.claim(name, groupId, ctx)) !== null) throw conflict(`a Group named "${cmd.displayName}" already exists`);
          return () => this.reservations.releaseAll([name], groupId, ctx);
        },
        after: async () => { await this.reservations.release(this.name(listId, before), groupId, ctx); },
      };
    }, ctx, { retry: opts.retry });
  }

  /** Delete a group; its name is released for reuse. */
  delete(listId: string, groupId: string, check: (current: StreamSnapshot<GroupState> | null) => void, ctx: CommandContext, opts: ChangeOptions): Promise<Handled<GroupState>> {
    return this.handler.handle(streams.group(groupId), groupDecider, (current): Plan<GroupCommand, GroupState> => {
      check(current);
      const name = this.name(listId, current!.state.displayName);
      return { command: { type: 'DeleteGroup' }, after: async () => { await this.reservations.release(name, groupId, ctx); } };
    }, ctx, { retry: opts.retry });
  }

}
