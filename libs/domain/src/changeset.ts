/**
 * Changesets: a reviewed batch of changes against a list's roster (from a session's edits now, a
 * CSV import next). Each change is compared three ways, field by field: the value at the base
 * (the session's snapshot), on the roster now (master) and incoming (proposed). Nothing reaches the
 * roster until the changes are decided and applied; an applied changeset can be rolled back.
 *
 * The decider is pure. The I/O around it (reading the roster, writing each person's events in the
 * background) lives with the caller, which passes the roster in as `Roster`.
 */
import { List } from 'immutable';
import {
  isChangesetEvent,
  type ChangeDecision, type ChangeField, type ChangesetStatus, type ChangesetSummary, type DomainEvent, type FieldChoice,
  type PersonStatus, type ProposedChange, type SyncProvider,
} from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';
import type { Fields } from './person.ts';
import { sameValue } from './values.ts';

export interface Change extends ProposedChange {
  decision: ChangeDecision;
  applied: boolean;
  reverted: boolean;
}

/** where the proposals came from: a session, a CSV import, or an Entra run's held deactivations (the sync's own proposals: nothing is locked) */
export type ChangesetOrigin = { kind: 'session' | 'csv' | 'entra-run'; id: string };

export interface ChangesetState {
  exists: boolean;
  changesetId: string;
  listId: string;
  origin: ChangesetOrigin;
  basePosition: number;
  reviewedPosition: number;
  status: ChangesetStatus;
  /** in review order; a change's id is `c<n>`, its index + 1 */
  changes: List<Change>;
  progress: { done: number; total: number } | null;
  /** `personId.field` names a rollback may overwrite although they changed since */
  force: string[];
}

/** one person on the roster as it is now */
export interface MasterPerson {
  revision: number;
  status: PersonStatus;
  linked: boolean;
  fields: Fields;
}

/** the roster as it is now, for the people a command is about, and which fields a sync owns */
export interface Roster {
  people: ReadonlyMap<string, MasterPerson>;
  /** the log position the roster was read at */
  position: number;
  /** the fields the list's sync provider feeds (locked on the people it provisions) */
  syncedFields: ReadonlySet<string>;
  provider: SyncProvider | null;
}

export interface Decision { changeId: string; decision: 'approve' | 'reject'; fields?: Record<string, FieldChoice> }

export type ChangesetCommand =
  | { type: 'OpenChangeset'; changesetId: string; listId: string; origin: ChangesetOrigin; basePosition: number; reviewedPosition: number; changes: ProposedChange[] }
  | { type: 'DecideChanges'; decisions: Decision[] }
  | { type: 'DecideAll'; decision: 'approve' | 'reject' }
  | { type: 'ApplyChangeset'; roster: Roster }
  | { type: 'RecordApplied'; applied: Array<{ changeId: string; personId: string; revision: number }>; stale: Array<{ changeId: string; personId?: string; field: string; master: unknown }> }
  | { type: 'FinishApply' }
  | { type: 'RollbackChangeset'; roster: Roster; force: string[] }
  | { type: 'RecordRolledBack'; reverted: Array<{ changeId: string; personId: string }>; kept: string[] }
  | { type: 'FinishRollback' }
  | { type: 'DiscardChangeset' };

/** changes per ChangesProposed event: bounded events whatever the changeset's size */
export const CHANGESET_CHUNK = 500;
/** at most this many entries are named in a refusal's details (the counts say how many in all) */
const DETAILS_CAP = 1000;

export const changeIdAt = (index: number) => `c${index + 1}`;
function indexOfChange(s: ChangesetState, changeId: string): number {
  const m = /^c([1-9][0-9]*)$/.exec(changeId);
  const i = m ? Number(m[1]) - 1 : -1;
  return i >= 0 && i < s.changes.size ? i : -1;
}

export const initialChangesetState = (): ChangesetState => ({
  exists: false, changesetId: '', listId: '', origin: { kind: 'session', id: '' }, basePosition: -1, reviewedPosition: -1,
  status: 'open', changes: List(), progress: null, force: [],
});

// ---- reading a change ------------------------------------------------------------------------

/** the conflicting fields of a change that have no choice yet */
export const unresolvedFields = (c: Change) => c.fields.filter((f) => f.conflict && f.choice === null);

/** a field the change will write: incoming value chosen, not owned by a sync */
export const writesField = (f: ChangeField) => f.choice === 'proposed' && !f.locked;

/** what applying a change writes: each field from its roster value to the incoming one, and the status */
export function writesOf(c: Change) {
  const fields = c.fields.filter(writesField).map((f) => ({ field: f.field, expect: f.master, value: f.proposed }));
  const status = c.status && !c.status.locked ? { expect: c.status.master, value: c.status.proposed } : null;
  return { fields, status };
}

const open = (c: Change) => !c.applied && c.decision !== 'rejected';
/** changes an apply would write now */
export const toApply = (s: ChangesetState) => s.changes.filter((c) => !c.applied && c.decision === 'approved');
/** changes a rollback would undo now */
export const toRevert = (s: ChangesetState) => s.changes.filter((c) => c.applied && !c.reverted);

/** what stops an apply: changes not yet decided, and conflicting fields without a choice */
export function blockers(s: ChangesetState) {
  const conflicts: Array<{ changeId: string; personId: string; field: string }> = [];
  const pending: string[] = [];
  for (const c of s.changes) {
    if (!open(c)) continue;
    if (c.decision === 'pending') pending.push(c.id);
    for (const f of unresolvedFields(c)) conflicts.push({ changeId: c.id, personId: c.personId, field: f.field });
  }
  return { conflicts, pending };
}

export function summarise(s: ChangesetState): ChangesetSummary {
  const counts = { changes: s.changes.size, conflicts: 0, approved: 0, rejected: 0, pending: 0, applied: 0 };
  for (const c of s.changes) {
    if (c.decision === 'approved') counts.approved++;
    else if (c.decision === 'rejected') counts.rejected++;
    else counts.pending++;
    if (c.applied && !c.reverted) counts.applied++;
    if (open(c) && c.fields.some((f) => f.conflict && f.choice === null)) counts.conflicts++;
  }
  return { status: s.status, counts, progress: s.progress };
}

// ---- the review ------------------------------------------------------------------------------

/** whether a sync owns `field` of this person */
function lockOf(roster: Roster, person: MasterPerson, field: string): SyncProvider | null {
  return person.linked && roster.provider && roster.syncedFields.has(field) ? roster.provider : null;
}

/** the review entry of one field that moved: proposed differs from base, and from the roster */
export function reviewField(field: string, base: unknown, master: unknown, proposed: unknown, lockedBy: SyncProvider | null): ChangeField {
  return {
    field, base: base ?? null, master: master ?? null, proposed: proposed ?? null,
    conflict: !sameValue(master, base), locked: lockedBy !== null, lockedBy, choice: lockedBy ? 'skip' : null,
  };
}

/**
 * The changes that take one person from `base` to `proposed` on the roster as it is now: the fields
 * that moved from base and are not already at the incoming value, and the status. Null when nothing
 * is left to change.
 */
export function reviewPerson(
  personId: string,
  base: { fields: Fields; status: PersonStatus },
  proposed: { fields: Fields; status: PersonStatus },
  master: MasterPerson,
  roster: Roster,
): Omit<ProposedChange, 'id'> | null {
  const keys = new Set([...Object.keys(base.fields), ...Object.keys(proposed.fields)]);
  const fields: ChangeField[] = [];
  for (const k of keys) {
    const b = Object.hasOwn(base.fields, k) ? base.fields[k] : null;
    const p = Object.hasOwn(proposed.fields, k) ? proposed.fields[k] : null;
    const m = Object.hasOwn(master.fields, k) ? master.fields[k] : null;
    if (sameValue(b, p) || sameValue(m, p)) continue;
    fields.push(reviewField(k, b, m, p, lockOf(roster, master, k)));
  }
  let status: ProposedChange['status'] = null;
  if (proposed.status !== base.status && proposed.status !== master.status) {
    const lockedBy = master.linked && roster.provider ? roster.provider : null;
    status = { base: base.status, master: master.status, proposed: proposed.status, locked: lockedBy !== null, lockedBy };
  }
  if (!fields.length && !status) return null;
  const kind = status ? (status.proposed === 'inactive' ? 'deactivate' : 'reactivate') : 'update';
  return { personId, kind, masterRevision: master.revision, fields, status };
}

/** Read one change again against the roster now; null when nothing it looks at moved. */
function rereview(c: Change, m: MasterPerson, roster: Roster) {
  if (m.revision === c.masterRevision) return null;
  const fields = [];
  for (const f of c.fields) {
    const now = Object.hasOwn(m.fields, f.field) ? m.fields[f.field] : null;
    const lockedBy = lockOf(roster, m, f.field);
    if (sameValue(now, f.master) && f.locked === (lockedBy !== null)) continue;
    fields.push({ field: f.field, master: now ?? null, conflict: !sameValue(now, f.base) && !sameValue(now, f.proposed), lockedBy });
  }
  const statusLockedBy = m.linked && roster.provider ? roster.provider : null;
  return { changeId: c.id, personId: c.personId, masterRevision: m.revision, status: m.status, statusLockedBy, fields };
}

// ---- the decider -----------------------------------------------------------------------------

/** the events of a command, each carrying the summary after it (for the changesets read model) */
function withSummaries(s: ChangesetState, events: Array<{ type: string; data: Record<string, unknown> }>): DomainEvent[] {
  let state = s;
  return events.map((e) => {
    const summary = summarise(state = changesetDecider.evolve(state, e as DomainEvent));
    return { type: e.type, data: { ...e.data, summary } } as DomainEvent;
  });
}

function requireStatus(s: ChangesetState, ...allowed: ChangesetStatus[]) {
  if (!s.exists) throw notFound('changeset not found');
  if (!allowed.includes(s.status)) throw conflict(`the changeset is ${s.status.replace('_', ' ')}; this needs it ${allowed.map((a) => a.replace('_', ' ')).join(' or ')}`, { status: s.status });
}

function decideChanges(s: ChangesetState, decisions: Decision[]) {
  requireStatus(s, 'open');
  const unresolved: Array<{ changeId: string; personId: string; field: string }> = [];
  const out = decisions.map((d) => {
    const i = indexOfChange(s, d.changeId);
    if (i < 0) throw new DomainError('invalid', `unknown change "${d.changeId}" in this changeset`);
    const c = s.changes.get(i)!;
    if (c.applied) throw conflict(`change ${c.id} is already applied`, { changeId: c.id });
    const fields = d.fields ?? {};
    for (const [field, choice] of Object.entries(fields)) {
      const f = c.fields.find((x) => x.field === field);
      if (!f) throw new DomainError('invalid', `change ${c.id} has no field "${field}"`);
      if (f.locked && choice !== 'skip') throw new DomainError('locked', `field "${field}" of change ${c.id} is owned by the ${f.lockedBy!.toUpperCase()} sync; it can only be skipped`, { changeId: c.id, field, sync: f.lockedBy });
    }
    if (d.decision === 'approve') {
      for (const f of unresolvedFields(c)) if (!Object.hasOwn(fields, f.field)) unresolved.push({ changeId: c.id, personId: c.personId, field: f.field });
    }
    return { changeId: c.id, decision: d.decision === 'approve' ? 'approved' as const : 'rejected' as const, fields };
  });
  if (unresolved.length) {
    throw conflict('a change with a conflict is approved only with a choice (proposed, master or skip) for each conflicting field', { conflicts: unresolved.slice(0, DETAILS_CAP) });
  }
  return withSummaries(s, [{ type: 'ChangesDecided', data: { changesetId: s.changesetId, decisions: out } }]);
}

function decideApply(s: ChangesetState, roster: Roster) {
  requireStatus(s, 'open');
  const b = blockers(s);
  if (b.conflicts.length || b.pending.length) {
    const parts = [b.pending.length ? `${b.pending.length} change${b.pending.length > 1 ? 's are' : ' is'} not decided` : '', b.conflicts.length ? `${b.conflicts.length} conflicting field${b.conflicts.length > 1 ? 's have' : ' has'} no choice` : ''].filter(Boolean);
    throw conflict(`nothing was applied: ${parts.join(' and ')}`, { conflicts: b.conflicts.slice(0, DETAILS_CAP), pending: b.pending.slice(0, DETAILS_CAP), conflictCount: b.conflicts.length, pendingCount: b.pending.length });
  }
  const changes = toApply(s);
  const moved = [];
  for (const c of changes) {
    const m = roster.people.get(c.personId);
    if (!m || c.kind === 'create') continue;
    const r = rereview(c, m, roster);
    if (r) moved.push(r);
  }
  if (!moved.length) return withSummaries(s, [{ type: 'ChangesetApplyStarted', data: { changesetId: s.changesetId, changes: changes.size } }]);
  const rereviewed = { type: 'ChangesRereviewed', data: { changesetId: s.changesetId, reviewedPosition: roster.position, changes: moved } };
  // a field whose incoming value was chosen and whose roster value moved elsewhere is a conflict
  // again: the new values are recorded and nothing is applied (the caller answers 409 with them)
  const after = changesetDecider.evolve(s, { ...rereviewed, data: { ...rereviewed.data, summary: summarise(s) } } as DomainEvent);
  if (blockers(after).conflicts.length) return withSummaries(s, [rereviewed]);
  return withSummaries(s, [rereviewed, { type: 'ChangesetApplyStarted', data: { changesetId: s.changesetId, changes: toApply(after).size } }]);
}

/** the fields an applied change wrote that someone else changed since (`personId.field`) */
export function changedSince(c: Change, m: MasterPerson | undefined): string[] {
  if (!m) return [];
  const out: string[] = [];
  for (const f of c.fields) {
    if (!writesField(f)) continue;
    const now = Object.hasOwn(m.fields, f.field) ? m.fields[f.field] : null;
    if (!sameValue(now, f.proposed) && !sameValue(now, f.master)) out.push(`${c.personId}.${f.field}`);
  }
  return out;
}

function decideRollback(s: ChangesetState, roster: Roster, force: string[]) {
  if (!s.exists) throw notFound('changeset not found');
  const changes = toRevert(s);
  if (!(s.status === 'applied' || (s.status === 'open' && changes.size > 0))) requireStatus(s, 'applied');
  const forced = new Set(force);
  const blocked: string[] = [];
  for (const c of changes) for (const name of changedSince(c, roster.people.get(c.personId))) if (!forced.has(name)) blocked.push(name);
  if (blocked.length) {
    throw conflict(`nothing was rolled back: ${blocked.length} field${blocked.length > 1 ? 's were' : ' was'} changed since by someone else; name them in force to restore them too`, { changedSince: blocked.slice(0, DETAILS_CAP), changedSinceCount: blocked.length });
  }
  return withSummaries(s, [{ type: 'ChangesetRollbackStarted', data: { changesetId: s.changesetId, changes: changes.size, force } }]);
}

export const changesetDecider: Decider<ChangesetCommand, ChangesetState> = {
  initialState: initialChangesetState,
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'OpenChangeset': {
        if (s.exists) throw conflict('changeset already exists');
        if (!cmd.changes.length) throw conflict('there is nothing to change: every edit is already on the roster');
        // new changes are all pending: the counts after each chunk are the running totals (no fold per chunk)
        const counts = { changes: 0, conflicts: 0, approved: 0, rejected: 0, pending: 0, applied: 0 };
        const summary = () => ({ status: 'open' as const, counts: { ...counts }, progress: null });
        const events: DomainEvent[] = [{ type: 'ChangesetOpened', data: { changesetId: cmd.changesetId, listId: cmd.listId, origin: cmd.origin, basePosition: cmd.basePosition, reviewedPosition: cmd.reviewedPosition, summary: summary() } }];
        for (let i = 0; i < cmd.changes.length; i += CHANGESET_CHUNK) {
          const changes = cmd.changes.slice(i, i + CHANGESET_CHUNK);
          counts.changes += changes.length;
          counts.pending += changes.length;
          counts.conflicts += changes.filter((c) => c.fields.some((f) => f.conflict && f.choice === null)).length;
          events.push({ type: 'ChangesProposed', data: { changesetId: cmd.changesetId, changes, summary: summary() } });
        }
        return events;
      }
      case 'DecideChanges':
        return decideChanges(s, cmd.decisions);
      case 'DecideAll':
        requireStatus(s, 'open');
        return withSummaries(s, [{ type: 'AllChangesDecided', data: { changesetId: s.changesetId, decision: cmd.decision === 'approve' ? 'approved' : 'rejected' } }]);
      case 'ApplyChangeset':
        // a sync's own held changes are not locked against it
        return decideApply(s, s.origin.kind === 'entra-run' ? { ...cmd.roster, provider: null, syncedFields: new Set() } : cmd.roster);
      case 'RecordApplied': {
        requireStatus(s, 'applying');
        // a change recorded twice (a resumed run) is recorded once
        const applied = cmd.applied.filter((a) => { const i = indexOfChange(s, a.changeId); return i >= 0 && !s.changes.get(i)!.applied; });
        if (!applied.length && !cmd.stale.length) return [];
        return withSummaries(s, [{ type: 'ChangesApplied', data: { changesetId: s.changesetId, applied, stale: cmd.stale.map((x) => ({ ...x, master: x.master ?? null })) } }]);
      }
      case 'FinishApply':
        requireStatus(s, 'applying');
        return withSummaries(s, [{ type: 'ChangesetApplyFinished', data: { changesetId: s.changesetId } }]);
      case 'RollbackChangeset':
        return decideRollback(s, cmd.roster, cmd.force);
      case 'RecordRolledBack': {
        requireStatus(s, 'rolling_back');
        const reverted = cmd.reverted.filter((a) => { const i = indexOfChange(s, a.changeId); return i >= 0 && !s.changes.get(i)!.reverted; });
        if (!reverted.length && !cmd.kept.length) return [];
        return withSummaries(s, [{ type: 'ChangesRolledBack', data: { changesetId: s.changesetId, reverted, kept: cmd.kept } }]);
      }
      case 'FinishRollback':
        requireStatus(s, 'rolling_back');
        return withSummaries(s, [{ type: 'ChangesetRollbackFinished', data: { changesetId: s.changesetId } }]);
      case 'DiscardChangeset':
        requireStatus(s, 'open');
        if (toRevert(s).size) throw conflict('part of this changeset is applied; roll it back instead of discarding it', { applied: toRevert(s).size });
        return withSummaries(s, [{ type: 'ChangesetDiscarded', data: { changesetId: s.changesetId } }]);
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): ChangesetState {
    if (!isChangesetEvent(e)) return s;
    switch (e.type) {
      case 'ChangesetOpened':
        return { ...s, exists: true, changesetId: e.data.changesetId, listId: e.data.listId, origin: e.data.origin, basePosition: e.data.basePosition, reviewedPosition: e.data.reviewedPosition, status: 'open' };
      case 'ChangesProposed':
        return { ...s, changes: s.changes.concat(e.data.changes.map((c) => ({ ...c, decision: 'pending' as const, applied: false, reverted: false }))) };
      case 'ChangesDecided': {
        const changes = s.changes.withMutations((list) => {
          for (const d of e.data.decisions) {
            const i = indexOfChange(s, d.changeId);
            if (i < 0) continue;
            const c = list.get(i)!;
            const fields = c.fields.map((f) => {
              const given = Object.hasOwn(d.fields, f.field) ? d.fields[f.field] : undefined;
              if (given) return { ...f, choice: given };
              // approving takes the incoming value of every field that needs no choice
              if (d.decision === 'approved' && f.choice === null && !f.conflict && !f.locked) return { ...f, choice: 'proposed' as const };
              return f;
            });
            list.set(i, { ...c, decision: d.decision, fields });
          }
        });
        return { ...s, changes };
      }
      case 'AllChangesDecided': {
        const changes = s.changes.map((c) => {
          if (c.applied || c.decision !== 'pending') return c;
          if (e.data.decision === 'rejected') return { ...c, decision: 'rejected' as const };
          if (unresolvedFields(c).length) return c; // never resolves a conflict silently
          return { ...c, decision: 'approved' as const, fields: c.fields.map((f) => (f.choice === null && !f.locked ? { ...f, choice: 'proposed' as const } : f)) };
        });
        return { ...s, changes };
      }
      case 'ChangesRereviewed': {
        const changes = s.changes.withMutations((list) => {
          for (const r of e.data.changes) {
            const i = indexOfChange(s, r.changeId);
            if (i < 0) continue;
            const c = list.get(i)!;
            const fields = c.fields.map((f) => {
              const x = r.fields.find((y) => y.field === f.field);
              if (!x) return f;
              if (x.lockedBy) return { ...f, master: x.master, conflict: x.conflict, locked: true, lockedBy: x.lockedBy, choice: 'skip' as const };
              const choice = x.conflict && f.choice === 'proposed' ? null : f.choice;
              return { ...f, master: x.master, conflict: x.conflict, locked: false, lockedBy: null, choice };
            });
            const status = c.status ? { ...c.status, master: r.status, locked: r.statusLockedBy !== null, lockedBy: r.statusLockedBy } : null;
            list.set(i, { ...c, masterRevision: r.masterRevision, fields, status });
          }
        });
        return { ...s, changes, reviewedPosition: e.data.reviewedPosition };
      }
      case 'ChangesetApplyStarted':
        return { ...s, status: 'applying', progress: { done: 0, total: e.data.changes } };
      case 'ChangesApplied': {
        const changes = s.changes.withMutations((list) => {
          for (const a of e.data.applied) {
            const i = indexOfChange(s, a.changeId);
            if (i >= 0) list.set(i, { ...list.get(i)!, applied: true });
          }
          for (const x of e.data.stale) {
            const i = indexOfChange(s, x.changeId);
            if (i < 0) continue;
            const c = list.get(i)!;
            list.set(i, { ...c, fields: c.fields.map((f) => (f.field === x.field ? { ...f, master: x.master, conflict: true, choice: null } : f)) });
          }
        });
        const staleChanges = new Set(e.data.stale.map((x) => x.changeId)).size;
        const done = (s.progress?.done ?? 0) + e.data.applied.length + staleChanges;
        return { ...s, changes, progress: { done, total: s.progress?.total ?? done } };
      }
      case 'ChangesetApplyFinished':
        // a change the roster moved under during the run is back in review: the changeset stays open for it
        return { ...s, status: toApply(s).size ? 'open' : 'applied', progress: null };
      case 'ChangesetRollbackStarted':
        return { ...s, status: 'rolling_back', progress: { done: 0, total: e.data.changes }, force: e.data.force };
      case 'ChangesRolledBack': {
        const changes = s.changes.withMutations((list) => {
          for (const a of e.data.reverted) {
            const i = indexOfChange(s, a.changeId);
            if (i >= 0) list.set(i, { ...list.get(i)!, reverted: true });
          }
        });
        const done = (s.progress?.done ?? 0) + e.data.reverted.length;
        return { ...s, changes, progress: { done, total: s.progress?.total ?? done } };
      }
      case 'ChangesetRollbackFinished':
        return { ...s, status: 'rolled_back', progress: null, force: [] };
      case 'ChangesetDiscarded':
        return { ...s, status: 'discarded' };
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
