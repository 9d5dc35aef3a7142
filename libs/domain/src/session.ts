/**
 * Sessions: a working copy of part of a list (a photo day, a print run, a clean-up), taken at a
 * known log position. Edits change the copy only; pushing turns them into a changeset against the
 * roster (changeset.ts). The copy is kept in an immutable map so an edit to one person of ten
 * thousand copies nothing else.
 */
import { Map as IMap } from 'immutable';
import { isSessionEvent, type DomainEvent, type FieldChange, type PersonStatus, type SnapshotPerson } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';
import { applyFieldChanges, fieldChangesOf, type Fields } from './person.ts';

/** one person of a session: the copy as taken (base) and as edited (fields, status) */
export interface SessionPerson {
  base: SnapshotPerson;
  fields: Fields;
  status: PersonStatus;
}

export interface SessionState {
  exists: boolean;
  sessionId: string;
  listId: string;
  name: string;
  filter: Record<string, string>;
  snapshotPosition: number;
  people: IMap<string, SessionPerson>;
  /** ids of the people whose copy differs from the snapshot */
  edited: IMap<string, true>;
}

export type SessionCommand =
  | { type: 'CreateSession'; sessionId: string; listId: string; name: string; filter: Record<string, string>; snapshotPosition: number; people: SnapshotPerson[] }
  | { type: 'EditSessionPerson'; personId: string; fields: Fields; status?: PersonStatus };

/** people per SessionPeopleCopied event: bounded events whatever the session's size */
export const SESSION_CHUNK = 500;

export const initialSessionState = (): SessionState => ({
  exists: false, sessionId: '', listId: '', name: '', filter: {}, snapshotPosition: -1, people: IMap(), edited: IMap(),
});

function differsFromBase(p: SessionPerson): boolean {
  return p.status !== p.base.status || fieldChangesOf(p.base.fields, p.fields).length > 0 || fieldChangesOf(p.fields, p.base.fields).length > 0;
}

export const sessionDecider: Decider<SessionCommand, SessionState> = {
  initialState: initialSessionState,
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'CreateSession': {
        if (s.exists) throw conflict('session already exists');
        const events: DomainEvent[] = [{ type: 'SessionCreated', data: { sessionId: cmd.sessionId, listId: cmd.listId, name: cmd.name, filter: cmd.filter, snapshotPosition: cmd.snapshotPosition, people: cmd.people.length } }];
        for (let i = 0; i < cmd.people.length; i += SESSION_CHUNK) {
          events.push({ type: 'SessionPeopleCopied', data: { sessionId: cmd.sessionId, listId: cmd.listId, people: cmd.people.slice(i, i + SESSION_CHUNK) } });
        }
        return events;
      }
      case 'EditSessionPerson': {
        if (!s.exists) throw notFound('session not found');
        const p = s.people.get(cmd.personId);
        if (!p) throw new DomainError('not_found', 'this person is not in the session');
        const fieldChanges: FieldChange[] = fieldChangesOf(p.fields, cmd.fields);
        const status = cmd.status && cmd.status !== p.status ? { old: p.status, new: cmd.status } : undefined;
        if (!fieldChanges.length && !status) return [];
        const edited = differsFromBase({ ...p, fields: applyFieldChanges(p.fields, fieldChanges), status: status?.new ?? p.status });
        const editedPeople = s.edited.size + (edited === s.edited.has(cmd.personId) ? 0 : edited ? 1 : -1);
        return [{ type: 'SessionPersonEdited', data: { sessionId: s.sessionId, listId: s.listId, personId: cmd.personId, fieldChanges, ...(status ? { status } : {}), edited, editedPeople } }];
      }
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): SessionState {
    if (!isSessionEvent(e)) return s;
    switch (e.type) {
      case 'SessionCreated':
        return { ...s, exists: true, sessionId: e.data.sessionId, listId: e.data.listId, name: e.data.name, filter: e.data.filter, snapshotPosition: e.data.snapshotPosition };
      case 'SessionPeopleCopied': {
        const people = s.people.withMutations((m) => {
          for (const base of e.data.people) m.set(base.personId, { base, fields: base.fields, status: base.status });
        });
        return { ...s, people };
      }
      case 'SessionPersonEdited': {
        const p = s.people.get(e.data.personId);
        if (!p) return s;
        const next: SessionPerson = { ...p, fields: applyFieldChanges(p.fields, e.data.fieldChanges), status: e.data.status?.new ?? p.status };
        const edited = e.data.edited ? s.edited.set(e.data.personId, true) : s.edited.delete(e.data.personId);
        return { ...s, people: s.people.set(e.data.personId, next), edited };
      }
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
