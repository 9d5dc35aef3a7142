import { EventValidationError, toDomainEvent, type DomainEvent } from '@muster/contracts';
import { streamPrefixes } from '@muster/contracts';
import type { EventStore, RecordedEvent, Subscription } from '@muster/event-store';

interface GroupEntry { listId: string; displayName: string; members: Set<string>; }

/**
 * IdP group membership as the mapping service needs it for group rules: which groups (by
 * displayName) each person is in. Folded from the group-* streams the SCIM ingress appends.
 * `apply` returns the people whose set of group names may have changed with the event.
 */
export class GroupMembership {
  private groups = new Map<string, GroupEntry>();
  /** personId -> groupIds */
  private byPerson = new Map<string, Set<string>>();

  apply(e: { type: string; data: Record<string, unknown> }): { listId: string; people: string[] } | null {
    let ev: DomainEvent;
    try { ev = toDomainEvent(e); } catch (err) { if (err instanceof EventValidationError) return null; throw err; } // a damaged event changes no membership
    switch (ev.type) {
      case 'GroupCreated': {
        const g: GroupEntry = { listId: ev.data.listId, displayName: ev.data.displayName, members: new Set(ev.data.members) };
        this.groups.set(ev.data.groupId, g);
        for (const p of g.members) this.link(p, ev.data.groupId);
        return { listId: g.listId, people: [...g.members] };
      }
      case 'GroupChanged':
      case 'GroupMembersChanged': {
        const g = this.groups.get(ev.data.groupId);
        if (!g) return null;
        const affected = new Set<string>([...ev.data.added, ...ev.data.removed]);
        if (ev.type === 'GroupChanged' && ev.data.displayName !== g.displayName) {
          for (const p of g.members) affected.add(p); // renamed: rules match by name
          g.displayName = ev.data.displayName;
        }
        for (const p of ev.data.removed) { g.members.delete(p); this.unlink(p, ev.data.groupId); }
        for (const p of ev.data.added) { g.members.add(p); this.link(p, ev.data.groupId); }
        return { listId: g.listId, people: [...affected] };
      }
      case 'GroupDeleted': {
        const g = this.groups.get(ev.data.groupId);
        if (!g) return null;
        this.groups.delete(ev.data.groupId);
        for (const p of g.members) this.unlink(p, ev.data.groupId);
        return { listId: g.listId, people: [...g.members] };
      }
      default:
        return null;
    }
  }

  private link(personId: string, groupId: string) {
    let s = this.byPerson.get(personId);
    if (!s) this.byPerson.set(personId, (s = new Set()));
    s.add(groupId);
  }

  private unlink(personId: string, groupId: string) {
    const s = this.byPerson.get(personId);
    if (!s) return;
    s.delete(groupId);
    if (!s.size) this.byPerson.delete(personId);
  }

  /** display names of the groups a person is in on `listId`, in creation order of the groups */
  groupNamesOf(personId: string, listId: string): string[] {
    const ids = this.byPerson.get(personId);
    if (!ids) return [];
    const names: string[] = [];
    for (const id of ids) {
      const g = this.groups.get(id);
      if (g && g.listId === listId) names.push(g.displayName);
    }
    return names;
  }
}

/**
 * Keeps a GroupMembership current from the event store and calls `react` for every person a
 * group event affects. At start the whole history is folded first; only people affected by
 * events after `fromCheckpoint` are reconciled, once, against the final membership (so a restart
 * never replays intermediate states). Live events then react one by one, in order.
 */
export class GroupFeed {
  readonly membership = new GroupMembership();
  private sub: Subscription | null = null;
  private position = -1;
  private waiters: Array<{ position: number; resolve: () => void }> = [];
  /** people whose rules could not be applied (a failure never stops the feed); shown on /healthz */
  failures = 0;
  lastError: string | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly react: (listId: string, personId: string, cause: RecordedEvent) => Promise<void>,
    private readonly onProcessed: (position: number) => Promise<void> = async () => {},
  ) {}

  async start(fromCheckpoint: number): Promise<void> {
    const filter = { streamPrefixes: [streamPrefixes.group] };
    const history = await this.store.readAll({ filter });
    const pending = new Map<string, { listId: string; cause: RecordedEvent }>();
    for (const e of history) {
      const hit = this.membership.apply(e);
      if (hit && e.position > fromCheckpoint) for (const p of hit.people) pending.set(p, { listId: hit.listId, cause: e });
      this.position = e.position;
    }
    for (const [personId, { listId, cause }] of pending) await this.safeReact(listId, personId, cause);
    if (history.length && this.position > fromCheckpoint) await this.onProcessed(this.position);
    this.sub = this.store.subscribeToAll({ fromPosition: this.position, filter }, async (e) => {
      const hit = this.membership.apply(e);
      if (hit) for (const p of hit.people) await this.safeReact(hit.listId, p, e);
      this.position = e.position;
      await this.onProcessed(e.position);
      if (this.waiters.length) {
        const ready = this.waiters.filter((w) => w.position <= e.position);
        this.waiters = this.waiters.filter((w) => w.position > e.position);
        for (const w of ready) w.resolve();
      }
    });
  }

  private async safeReact(listId: string, personId: string, cause: RecordedEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.react(listId, personId, cause);
        return;
      } catch (err) {
        if (attempt < 3) continue;
        this.failures++;
        this.lastError = `group rules for person ${personId} (event ${cause.eventId}): ${(err as Error).message}`;
        return;
      }
    }
  }

  /** wait until every group event stored so far has been folded (and reacted to) */
  async catchUp(timeoutMs = 10_000): Promise<void> {
    const after = await this.store.readAll({ fromPosition: this.position, filter: { streamPrefixes: [streamPrefixes.group] } });
    if (!after.length) return;
    const target = after[after.length - 1].position;
    if (target <= this.position) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`group feed did not reach position ${target} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ position: target, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  async stop(): Promise<void> {
    await this.sub?.stop();
    this.sub = null;
  }
}
