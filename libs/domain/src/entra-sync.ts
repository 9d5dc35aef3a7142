/**
 * The Entra pull sync of one list (stream `entrasync-{listId}`): its runs (at most one at a time,
 * across replicas: a run holds a lease it renews while it reads), and the state a successful run
 * leaves for the next one: the delta links it ended on, the groups they were made for, and the
 * users it tracks (which scoped groups each is a direct member of, whether Entra deleted it). A
 * failed or interrupted run leaves that state as it was, so the next run reads the same changes
 * again (applying them is idempotent).
 */
import { isEntraSyncEvent, type DomainEvent, type EntraFullReason, type EntraRunSummary, type EntraTrackedUser } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict } from './errors.ts';

export type EntraMode = 'full' | 'incremental';
export type EntraTrigger = 'manual' | 'schedule';
export interface DeltaLinks { users: string; groups: Array<{ groupIds: string[]; link: string }>; usersExtensions?: string[] }
export interface Tracked { groups: string[]; removed: 'soft' | 'hard' | null }

export interface EntraSyncState {
  listId: string;
  running: null | { runId: string; trigger: EntraTrigger; mode: EntraMode; fullReason: EntraFullReason | null; startedAt: string; leaseUntil: string; pages: number };
  deltaLinks: DeltaLinks | null;
  /** the scoped groups the delta links were made for (sorted) */
  linkGroupIds: string[];
  tracked: ReadonlyMap<string, Tracked>;
  /** the scoped groups' names as last read */
  groupNames: Record<string, string>;
  lastRun: null | { runId: string; status: 'succeeded' | 'held' | 'failed'; startedAt: string | null; finishedAt: string };
  /** when the last run started (the schedule counts from it) */
  lastStartedAt: string | null;
}

export const initialEntraSyncState = (): EntraSyncState => ({
  listId: '', running: null, deltaLinks: null, linkGroupIds: [], tracked: new Map(), groupNames: {}, lastRun: null, lastStartedAt: null,
});

export interface FinishRun {
  type: 'FinishRun';
  runId: string;
  now: Date;
  status: 'succeeded' | 'held' | 'failed';
  mode: EntraMode;
  fullReason: EntraFullReason | null;
  summary: EntraRunSummary;
  pages: number;
  throttledWaits: number;
  error: { code: string; message: string } | null;
  /** a successful run's new state (null for a failed one: nothing advances) */
  next: null | { deltaLinks: DeltaLinks; groupIds: string[]; reset: boolean; users: EntraTrackedUser[]; groupNames: Record<string, string> };
  failures: Array<{ userId: string; personId: string | null; error: { code: string; message: string } }>;
  held: number;
  changesetId: string | null;
}

export type EntraSyncCommand =
  | { type: 'StartRun'; listId: string; runId: string; trigger: EntraTrigger; groupIds: string[]; now: Date; leaseMs: number }
  | { type: 'RenewLease'; runId: string; pages: number; now: Date; leaseMs: number }
  | FinishRun;

/** users per EntraUsersTracked event */
export const TRACKED_CHUNK = 1_000;

const sorted = (ids: string[]) => [...ids].sort();
const sameIds = (a: string[], b: string[]) => a.length === b.length && sorted(a).every((x, i) => x === sorted(b)[i]);

/** the run's mode from the state it starts on: full the first time and after a change of groups */
export function modeOf(s: EntraSyncState, groupIds: string[]): { mode: EntraMode; fullReason: EntraFullReason | null } {
  if (!s.deltaLinks) return { mode: 'full', fullReason: 'first' };
  if (!sameIds(s.linkGroupIds, groupIds)) return { mode: 'full', fullReason: 'groups_changed' };
  return { mode: 'incremental', fullReason: null };
}

/** the running run, unless its lease ran out (its process died): then null */
export function liveRun(s: EntraSyncState, now: Date) {
  return s.running && Date.parse(s.running.leaseUntil) > now.getTime() ? s.running : null;
}

/** When a scheduled run is next due: `intervalMinutes` after the last run started (at once when none has). */
export function nextRunAt(schedule: { intervalMinutes: number } | null, lastStartedAt: string | null, now: Date): string | null {
  if (!schedule) return null;
  if (!lastStartedAt) return now.toISOString();
  return new Date(Date.parse(lastStartedAt) + schedule.intervalMinutes * 60_000).toISOString();
}

const EMPTY_SUMMARY: EntraRunSummary = { created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0 };

export const entraSyncDecider: Decider<EntraSyncCommand, EntraSyncState> = {
  initialState: initialEntraSyncState,
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'StartRun': {
        const live = liveRun(s, cmd.now);
        if (live) throw conflict(`a run of this list is going on (${live.runId})`, { runId: live.runId });
        const events: DomainEvent[] = [];
        const listId = s.listId || cmd.listId;
        if (s.running) {
          // its process stopped hearing from it: the run is over, and left nothing behind
          events.push({ type: 'EntraRunFinished', data: {
            listId, runId: s.running.runId, status: 'failed', mode: s.running.mode, fullReason: s.running.fullReason, summary: EMPTY_SUMMARY,
            finishedAt: cmd.now.toISOString(), pages: s.running.pages, throttledWaits: 0, error: { code: 'interrupted', message: 'the run stopped (its process ended) before it finished; the next run starts from the same delta state' },
            deltaLinks: null, groupIds: s.linkGroupIds, groupNames: s.groupNames, held: 0, changesetId: null,
          } });
        }
        const { mode, fullReason } = modeOf(s, cmd.groupIds);
        events.push({ type: 'EntraRunStarted', data: {
          listId, runId: cmd.runId, trigger: cmd.trigger, mode, fullReason, startedAt: cmd.now.toISOString(), leaseUntil: new Date(cmd.now.getTime() + cmd.leaseMs).toISOString(),
        } });
        return events;
      }
      case 'RenewLease':
        if (s.running?.runId !== cmd.runId) throw conflict(`run ${cmd.runId} is not the running one`);
        return [{ type: 'EntraRunProgress', data: { listId: s.listId, runId: cmd.runId, pages: cmd.pages, leaseUntil: new Date(cmd.now.getTime() + cmd.leaseMs).toISOString() } }];
      case 'FinishRun': {
        if (s.running?.runId !== cmd.runId) throw conflict(`run ${cmd.runId} is not the running one (it was taken over, or finished)`);
        const events: DomainEvent[] = cmd.failures.map((f) => ({ type: 'EntraUserFailed' as const, data: { listId: s.listId, runId: cmd.runId, ...f } }));
        if (cmd.next) {
          const users = cmd.next.users;
          for (let i = 0; i < users.length || (i === 0 && cmd.next.reset); i += TRACKED_CHUNK) {
            events.push({ type: 'EntraUsersTracked', data: { listId: s.listId, runId: cmd.runId, reset: i === 0 && cmd.next.reset, users: users.slice(i, i + TRACKED_CHUNK) } });
          }
        }
        events.push({ type: 'EntraRunFinished', data: {
          listId: s.listId, runId: cmd.runId, status: cmd.status, mode: cmd.mode, fullReason: cmd.fullReason, finishedAt: cmd.now.toISOString(), summary: cmd.summary, pages: cmd.pages,
          throttledWaits: cmd.throttledWaits, error: cmd.error, deltaLinks: cmd.next?.deltaLinks ?? null,
          groupIds: cmd.next ? sorted(cmd.next.groupIds) : s.linkGroupIds, groupNames: cmd.next?.groupNames ?? s.groupNames, held: cmd.held, changesetId: cmd.changesetId,
        } });
        return events;
      }
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): EntraSyncState {
    if (!isEntraSyncEvent(e)) return s;
    switch (e.type) {
      case 'EntraRunStarted':
        return {
          ...s, listId: e.data.listId, lastStartedAt: e.data.startedAt,
          running: { runId: e.data.runId, trigger: e.data.trigger, mode: e.data.mode, fullReason: e.data.fullReason, startedAt: e.data.startedAt, leaseUntil: e.data.leaseUntil, pages: 0 },
        };
      case 'EntraRunProgress':
        return s.running?.runId === e.data.runId ? { ...s, running: { ...s.running, pages: e.data.pages, leaseUntil: e.data.leaseUntil } } : s;
      case 'EntraUsersTracked': {
        const tracked = new Map(e.data.reset ? [] : s.tracked);
        for (const u of e.data.users) {
          if (!u.groups.length && !u.removed) tracked.delete(u.id);
          else tracked.set(u.id, { groups: u.groups, removed: u.removed });
        }
        return { ...s, tracked };
      }
      case 'EntraUserFailed':
        return s;
      case 'EntraRunFinished':
        return {
          ...s, listId: e.data.listId,
          running: s.running?.runId === e.data.runId ? null : s.running,
          deltaLinks: e.data.deltaLinks ?? s.deltaLinks,
          linkGroupIds: e.data.deltaLinks ? e.data.groupIds : s.linkGroupIds,
          groupNames: e.data.deltaLinks ? e.data.groupNames ?? {} : s.groupNames,
          lastRun: { runId: e.data.runId, status: e.data.status, startedAt: s.running?.runId === e.data.runId ? s.running.startedAt : null, finishedAt: e.data.finishedAt },
        };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
