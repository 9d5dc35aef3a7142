/**
 * One run of a list's Entra sync (reference: shared/reference/entra-graph-delta-sync.md, 1.7):
 * read the groups delta (membership), then the users delta (attributes, deletions), read newly
 * in-scope users whole, then bring each affected person to what the directory says: created,
 * updated, deactivated (never deleted), reactivated. Nothing is written before every round has
 * been read, so a failure while reading leaves the roster and the stored delta state untouched;
 * the roster writes are idempotent (a person's decider writes nothing when nothing changed), so a
 * run interrupted while writing is finished by the next one from the same delta state.
 *
 * The accidental-deactivation guard: a run that would deactivate more than the list's threshold
 * of its active people applies its creates and updates, holds the deactivations and presents them
 * as a changeset (origin `entra-run`) for an admin to approve or reject.
 */
import { createHash } from 'node:crypto';
import { streams, type CommandContext, type EntraFullReason, type EntraRunSummary, type EntraTrackedUser } from '@muster/contracts';
import {
  changeIdAt, changesetDecider, personDecider, reviewPerson, type CommandHandler, type EntraSettings, type EntraSyncState, type FinishRun, type MasterPerson,
  type PersonState, type StreamSnapshot, type Tracked,
} from '@muster/domain';
import { DeltaResetError, EntraAuthError, GraphClient, GraphError } from '@muster/entra-graph';
import { ENTRA_BASE_SELECT, type MappingClient } from '@muster/mapping-contract';
import type { ReadStore } from '@muster/read-store';
import { readModel, type ProjectionWaiter } from '@muster/read-models';
import { initialGroupsUrl, initialUsersUrl, nextMembership, readGroups, readUsers, type GroupsRead, type UsersRead } from './read.ts';

type Obj = Record<string, unknown>;

/** people applied at once (their appends share durable writes) */
const APPLY_CONCURRENCY = 16;
/** point reads of newly in-scope users at once */
const GET_CONCURRENCY = 8;

/** The person id of an Entra user on a list: derived from both, so a returning user is the same person (no lookup, no duplicate). */
export function entraPersonId(listId: string, userId: string): string {
  const h = createHash('sha256').update(`entra:${listId}:${userId.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface RunDeps {
  handler: CommandHandler;
  readStore: ReadStore;
  projection: ProjectionWaiter;
  mapping: MappingClient;
  graph: GraphClient;
  now: () => Date;
  newId: () => string;
  /** a page was read (the run renews its lease, counts progress) */
  onPage: (pages: number) => void;
}

export interface RunInput {
  listId: string;
  runId: string;
  settings: EntraSettings;
  state: EntraSyncState;
  mode: 'full' | 'incremental';
  fullReason: EntraFullReason | null;
  ctx: CommandContext;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>) {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

const summaryZero = (): EntraRunSummary => ({ created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0 });

interface Target {
  userId: string;
  personId: string;
  tracked: Tracked;
  /** what Graph sent this run (null: nothing about this user's attributes) */
  change: { data: Obj; complete: boolean } | null;
}

export class SyncRun {
  private pages = 0;
  private mode: 'full' | 'incremental';
  private fullReason: EntraFullReason | null;

  constructor(private readonly d: RunDeps, private readonly input: RunInput) {
    this.mode = input.mode;
    this.fullReason = input.fullReason;
  }

  private page = () => { this.pages++; this.d.onPage(this.pages); };

  /** Reads, applies, and says how the run ends (the FinishRun command; the caller records it). */
  async execute(): Promise<Omit<FinishRun, 'now'> & { changesetEvents?: { changesetId: string; events: ReturnType<typeof changesetDecider.decide> } }> {
    const { listId, runId, settings, state } = this.input;
    const summary = summaryZero();
    const base = { type: 'FinishRun' as const, runId, failures: [], held: 0, changesetId: null };
    let groups: GroupsRead;
    let users: UsersRead;
    let membership: Map<string, Set<string>>;
    try {
      ({ groups, users, membership } = await this.read());
    } catch (err) {
      const error = failureOf(err);
      return { ...base, status: 'failed', mode: this.mode, fullReason: this.fullReason, summary, pages: this.pages, throttledWaits: this.d.graph.throttledWaits, error, next: null };
    }
    const full = this.mode === 'full';
    summary.skipped = users.outOfScope.size;

    // who this run is about, and what each should become
    const removedBefore = (id: string) => state.tracked.get(id)?.removed ?? null;
    // incremental: the users something happened to; full: everyone in scope, tracked or linked
    const ids = new Set<string>([...users.users.keys(), ...users.removed.keys()]);
    for (const c of groups.changes) ids.add(c.userId);
    if (full) for (const id of membership.keys()) ids.add(id);
    if (!full) for (const [id, t] of state.tracked) if (t.groups.some((g) => groups.deleted.has(g))) ids.add(id);
    if (full) {
      for (const id of state.tracked.keys()) ids.add(id);
      // a full round does not report deletions: everyone linked on the list and not seen is swept
      await this.d.projection.waitFor(await this.d.handler.store.headPosition(), 30_000);
      const linked = await readModel(this.d.readStore, 'people').find({ listId, linked: true }, { projection: { _id: 1, scimResource: 1 } });
      for (const p of linked) { const uid = (p.scimResource as Obj | undefined)?.id; if (typeof uid === 'string') ids.add(uid); }
    }
    const targets: Target[] = [];
    const tracked = new Map<string, Tracked>();
    for (const id of ids) {
      const groupsNow = [...(membership.get(id) ?? [])].sort();
      // deleted for good stays so; else what this round said, else (incremental) what was known
      const removed: Tracked['removed'] = removedBefore(id) === 'hard' ? 'hard' : users.removed.get(id) ?? (users.present.has(id) || full ? null : removedBefore(id));
      const t: Tracked = { groups: groupsNow, removed };
      tracked.set(id, t);
      targets.push({ userId: id, personId: entraPersonId(listId, id), tracked: t, change: users.users.get(id) ?? null });
    }

    // load the people, and read whole the users who come into scope without a whole object
    const snaps = new Map<string, StreamSnapshot<PersonState> | null>();
    await inBatches(targets, APPLY_CONCURRENCY * 2, async (t) => {
      let snap = await this.d.handler.load(streams.person(t.personId), personDecider);
      // a person erased here comes back as a new person: the next id of the user's chain
      for (let n = 1; snap?.state.erased; n++) {
        t.personId = entraPersonId(listId, `${t.userId}#${n}`);
        snap = await this.d.handler.load(streams.person(t.personId), personDecider);
      }
      snaps.set(t.userId, snap);
    });
    const wanted = (t: Target) => t.tracked.groups.length > 0 && t.tracked.removed === null;
    const needsRead = targets.filter((t) => {
      if (!wanted(t) || t.change?.complete) return false;
      const snap = snaps.get(t.userId);
      const wasIn = (state.tracked.get(t.userId)?.groups.length ?? 0) > 0 && state.tracked.get(t.userId)?.removed == null;
      return !snap?.state.exists || !snap.state.scim || !wasIn || (full && !users.present.has(t.userId));
    });
    try {
      await inBatches(needsRead, GET_CONCURRENCY, async (t) => {
        const fresh = await this.pointRead(t.userId);
        if (fresh === null) t.tracked.removed = 'soft'; // gone since: treated as deleted (restorable)
        else t.change = { data: fresh, complete: true };
      });
    } catch (err) {
      return { ...base, status: 'failed', mode: this.mode, fullReason: this.fullReason, summary, pages: this.pages, throttledWaits: this.d.graph.throttledWaits, error: failureOf(err), next: null };
    }

    // the guard: deactivations beyond the threshold are held
    const plan = targets.map((t) => {
      const snap = snaps.get(t.userId) ?? null;
      const stored = (snap?.state.scim ?? {}) as Obj;
      const user = t.change?.complete ? { ...t.change.data } : { ...stored, ...(t.change?.data ?? {}) };
      user.id = t.userId;
      user.memberOf = t.tracked.groups.map((g) => ({ id: g, displayName: groups.names.get(g) ?? state.groupNames[g] ?? groupName(stored, g) }));
      const active = wanted(t) && user.accountEnabled !== false;
      const linkedActive = !!snap?.state.exists && snap.state.linked && snap.state.status === 'active';
      return { t, snap, user, active, gone: t.tracked.removed === 'hard', deactivates: linkedActive && (!active || t.tracked.removed === 'hard') };
    });
    const deactivating = plan.filter((p) => p.deactivates);
    let heldIds = new Set<string>();
    if (settings.deactivationThreshold !== null && deactivating.length) {
      await this.d.projection.waitFor(await this.d.handler.store.headPosition(), 30_000);
      const activeCount = await readModel(this.d.readStore, 'people').countDocuments({ listId, status: 'active' });
      if (deactivating.length > settings.deactivationThreshold * activeCount) heldIds = new Set(deactivating.map((p) => p.t.userId));
    }

    const failures: FinishRun['failures'] = [];
    await inBatches(plan, APPLY_CONCURRENCY, async (p) => {
      const held = heldIds.has(p.t.userId);
      if (!p.snap?.state.exists && !p.active) return; // never a person, and not one now
      try {
        const fields = (await this.d.mapping.map(listId, p.user)).fields;
        const done = await this.d.handler.handle(streams.person(p.t.personId), personDecider, {
          type: 'SyncEntraUser', personId: p.t.personId, listId, user: p.user, fields,
          active: held ? true : p.active, gone: held ? false : p.gone,
        }, this.input.ctx);
        const e = done.events[0];
        if (!e) summary.unchanged++;
        else if (e.type === 'PersonProvisioned') summary.created++;
        else if (e.type === 'Reactivated') summary.reactivated++;
        else if (e.type === 'Deactivated' || (e.type === 'PersonUnlinked' && e.data.wasActive)) summary.deactivated++;
        // updated: the person's fields changed (a change of groups alone is recorded, not counted)
        else if (e.type === 'AttributesChanged' && e.data.fieldChanges.length) summary.updated++;
        else summary.unchanged++;
      } catch (err) {
        summary.errors++;
        failures.push({ userId: p.t.userId, personId: p.snap?.state.exists ? p.t.personId : null, error: { code: (err as { code?: string }).code ?? 'apply_failed', message: (err as Error).message.slice(0, 500) } });
      }
    });

    // held deactivations become a changeset for review
    let changeset: { changesetId: string; events: ReturnType<typeof changesetDecider.decide> } | undefined;
    if (heldIds.size) {
      const position = await this.d.handler.store.headPosition();
      const people = new Map<string, MasterPerson>();
      const changes = [];
      for (const p of plan.filter((x) => heldIds.has(x.t.userId))) {
        const snap = await this.d.handler.load(streams.person(p.t.personId), personDecider);
        if (!snap?.state.exists) continue;
        const master: MasterPerson = { revision: snap.revision, status: snap.state.status, linked: snap.state.linked, fields: snap.state.fields };
        people.set(p.t.personId, master);
        const change = reviewPerson(p.t.personId, { fields: snap.state.fields, status: 'active' }, { fields: snap.state.fields, status: 'inactive' }, master, { people, position, syncedFields: new Set(), provider: null });
        if (change) changes.push({ ...change, id: changeIdAt(changes.length) });
      }
      if (changes.length) {
        const changesetId = this.d.newId();
        changeset = { changesetId, events: changesetDecider.decide({ type: 'OpenChangeset', changesetId, listId, origin: { kind: 'entra-run', id: runId }, basePosition: position, reviewedPosition: position, changes }, changesetDecider.initialState()) };
      }
    }

    // the state the next run starts from: only when every person was applied (else the same changes are read again)
    const before = state.tracked;
    const changedTracking: EntraTrackedUser[] = [];
    for (const [id, t] of tracked) {
      const b = before.get(id);
      if (full ? (t.groups.length || t.removed) : !b || b.removed !== t.removed || b.groups.join() !== t.groups.join()) changedTracking.push({ id, groups: t.groups, removed: t.removed });
    }
    const next = failures.length ? null : {
      deltaLinks: { users: users.link, groups: groups.links, usersExtensions: [...settings.extensionAttributes].sort() }, groupIds: settings.groupIds, reset: full, users: changedTracking,
      groupNames: Object.fromEntries(settings.groupIds.flatMap((g) => { const n = groups.names.get(g) ?? state.groupNames[g]; return n ? [[g, n]] : []; })),
    };
    return {
      ...base, status: heldIds.size ? 'held' : 'succeeded', mode: this.mode, fullReason: this.fullReason, summary, pages: this.pages,
      throttledWaits: this.d.graph.throttledWaits, error: null, next, failures, held: heldIds.size, changesetId: changeset?.changesetId ?? null,
      ...(changeset ? { changesetEvents: changeset } : {}),
    };
  }

  /** both rounds; Graph asking for a full sync (expired or reset delta state) restarts them as a full read */
  private async read() {
    const { settings, state } = this.input;
    const scoped = new Set(settings.groupIds);
    let override: { users?: string; groups?: string } = {};
    for (let attempt = 0; ; attempt++) {
      const full = this.mode === 'full';
      try {
        const groups = await readGroups(this.d.graph, settings.groupIds, full ? null : state.deltaLinks?.groups ?? null, {
          onPage: this.page, startUrl: (chunk) => (override.groups && chunk.every((id) => override.groups!.includes(id)) ? override.groups : undefined),
        });
        const membership = nextMembership(state.tracked, groups, full, scoped);
        const concerns = (id: string) => membership.has(id) || state.tracked.has(id);
        const start = full ? override.users ?? initialUsersUrl(this.d.graph, settings.extensionAttributes) : state.deltaLinks!.users;
        const users = await readUsers(this.d.graph, start, !full, concerns, this.page);
        // the connection now names other directory extensions than the users link selects (its $select
        // is in its token): the users are read whole once more with the new $select, after the old
        // link's round (which still reports what happened since, deletions included)
        const selected = [...(state.deltaLinks?.usersExtensions ?? [])].sort().join();
        if (!full && selected !== [...settings.extensionAttributes].sort().join()) {
          const whole = await readUsers(this.d.graph, initialUsersUrl(this.d.graph, settings.extensionAttributes), false, concerns, this.page);
          for (const [id, u] of whole.users) { users.users.set(id, u); users.present.add(id); users.removed.delete(id); }
          for (const id of whole.outOfScope) users.outOfScope.add(id);
          users.link = whole.link;
        }
        return { groups, users, membership };
      } catch (err) {
        if (!(err instanceof DeltaResetError) || attempt > 0) throw err;
        this.mode = 'full';
        this.fullReason = /^410\b/.test(err.reason) ? 'reset' : 'sync_state_expired';
        override = err.location ? (/\/users\//.test(err.location) ? { users: err.location } : { groups: err.location }) : {};
      }
    }
  }

  /** a user read whole (null: Graph no longer has it) */
  private async pointRead(userId: string): Promise<Obj | null> {
    const select = [...ENTRA_BASE_SELECT, ...this.input.settings.extensionAttributes];
    try {
      const u = await this.d.graph.get<Obj>(this.d.graph.url(`users/${encodeURIComponent(userId)}?$select=${select.join(',')}`));
      const out: Obj = {};
      for (const [k, v] of Object.entries(u)) if (!k.startsWith('@')) out[k] = v;
      return out;
    } catch (err) {
      if (err instanceof GraphError && err.status === 404) return null;
      throw err;
    }
  }
}

function groupName(stored: Obj, groupId: string): string | null {
  const m = stored.memberOf;
  if (!Array.isArray(m)) return null;
  const hit = m.find((g) => g && typeof g === 'object' && (g as Obj).id === groupId) as Obj | undefined;
  return typeof hit?.displayName === 'string' ? hit.displayName : null;
}

/** what a failed read says: authentication, Graph unreachable, or Graph's own error */
export function failureOf(err: unknown): { code: string; message: string } {
  if (err instanceof EntraAuthError) return { code: err.code, message: err.message };
  if (err instanceof GraphError) return { code: err.code === 'unreachable' ? 'graph_unreachable' : err.code === 'bad_answer' ? 'graph_bad_answer' : 'graph_error', message: err.message };
  if (err instanceof DeltaResetError) return { code: 'sync_state_reset', message: err.message };
  return { code: 'internal', message: (err as Error)?.message ?? String(err) };
}

