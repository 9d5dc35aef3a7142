/**
 * Given/When/Then specs for sessions, changesets and the changeset write to a person (no I/O).
 * A history is given as the events earlier commands decided (`history`), so each spec reads as the
 * steps a user took.
 */
import { describe, expect, it } from 'vitest';
import type { DomainEvent, ProposedChange, SnapshotPerson } from '@muster/contracts';
import { spec } from './spec.ts';
import {
  changeIdAt, changesetDecider, reviewPerson, summarise, type ChangesetCommand, type ChangesetState, type MasterPerson, type Roster,
} from './changeset.ts';
import { personDecider, type PersonCommand } from './person.ts';
import { SESSION_CHUNK, sessionDecider } from './session.ts';
import { fold } from './decider.ts';

/** the events of a series of commands, each decided on the state the previous ones left */
function history(...commands: ChangesetCommand[]): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const c of commands) events.push(...changesetDecider.decide(c, fold(changesetDecider, events)));
  return events;
}
const stateOf = (events: DomainEvent[]): ChangesetState => fold(changesetDecider, events);

const master = (fields: Record<string, unknown>, extra: Partial<MasterPerson> = {}): MasterPerson => ({ revision: 3, status: 'active', linked: false, fields, ...extra });
const roster = (people: Record<string, MasterPerson>, extra: Partial<Roster> = {}): Roster => ({
  people: new Map(Object.entries(people)), position: 100, syncedFields: new Set(['firstName', 'department']), provider: null, ...extra,
});

/** a change of one person: base, master and proposed of each field */
function change(i: number, personId: string, base: Record<string, unknown>, proposed: Record<string, unknown>, m: MasterPerson, r: Roster = roster({})): ProposedChange {
  return { id: changeIdAt(i), ...reviewPerson(personId, { fields: base, status: 'active' }, { fields: proposed, status: 'active' }, m, r)! };
}

const open = (...changes: ProposedChange[]): ChangesetCommand => ({ type: 'OpenChangeset', changesetId: 'cs1', listId: 'l1', origin: { kind: 'session', id: 's1' }, basePosition: 10, reviewedPosition: 20, changes });

// ann: form moved on the roster (7A -> 8B) and in the session (7A -> 8A): a conflict; card is new
const annMaster = master({ form: '8B' });
const annChange = change(0, 'ann', { form: '7A' }, { form: '8A', card: 'C-1' }, annMaster);
// bob: card only
const bobMaster = master({ form: '7A' });
const bobChange = change(1, 'bob', { form: '7A' }, { form: '7A', card: 'C-2' }, bobMaster);

describe('the review (reviewPerson)', () => {
  it('compares each field three ways: a conflict when roster and session both moved from base to different values', () => {
    expect(annChange.fields).toEqual([
      { field: 'form', base: '7A', master: '8B', proposed: '8A', conflict: true, locked: false, lockedBy: null, choice: null },
      { field: 'card', base: null, master: null, proposed: 'C-1', conflict: false, locked: false, lockedBy: null, choice: null },
    ]);
    expect(annChange).toMatchObject({ personId: 'ann', kind: 'update', masterRevision: 3, status: null });
  });

  it('leaves out a field already at the incoming value, and a person with nothing left to change', () => {
    const already = reviewPerson('p', { fields: { form: '7A' }, status: 'active' }, { fields: { form: '8A' }, status: 'active' }, master({ form: '8A' }), roster({}));
    expect(already).toBeNull();
  });

  it('locks a field the sync owns on a person it provisions (choice skip from the start); local fields stay open', () => {
    const r = roster({}, { provider: 'scim' });
    const c = reviewPerson('p', { fields: { department: 'Science', card: null }, status: 'active' }, { fields: { department: 'Art', card: 'C' }, status: 'active' }, master({ department: 'Science' }, { linked: true }), r)!;
    expect(c.fields[0]).toMatchObject({ field: 'department', locked: true, lockedBy: 'scim', choice: 'skip', conflict: false });
    expect(c.fields[1]).toMatchObject({ field: 'card', locked: false, choice: null });
    // someone the IdP no longer provisions (unlinked) has no locks
    const unlinked = reviewPerson('p', { fields: { department: 'Science' }, status: 'active' }, { fields: { department: 'Art' }, status: 'active' }, master({ department: 'Science' }, { linked: false }), r)!;
    expect(unlinked.fields[0].locked).toBe(false);
  });

  it('a status change is a deactivate or reactivate change, locked when the sync owns the person', () => {
    const c = reviewPerson('p', { fields: {}, status: 'active' }, { fields: {}, status: 'inactive' }, master({}, { linked: true }), roster({}, { provider: 'entra' }))!;
    expect(c).toMatchObject({ kind: 'deactivate', fields: [], status: { base: 'active', master: 'active', proposed: 'inactive', locked: true, lockedBy: 'entra' } });
    // the roster already has it: nothing to change
    expect(reviewPerson('p', { fields: {}, status: 'active' }, { fields: {}, status: 'inactive' }, master({}, { status: 'inactive' }), roster({}))).toBeNull();
  });
});

describe('changeset decider', () => {
  const given = spec(changesetDecider);

  it('opens with the changes in bounded chunks, every event carrying the counts after it', () => {
    const many = Array.from({ length: 1201 }, (_, i) => change(i, `p${i}`, {}, { card: `C${i}` }, master({})));
    given([]).when(open(...many)).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['ChangesetOpened', 'ChangesProposed', 'ChangesProposed', 'ChangesProposed']);
      expect(events.map((e) => (e.data as { changes?: unknown[] }).changes?.length ?? 0)).toEqual([0, 500, 500, 201]);
      expect((events[3].data as { summary: unknown }).summary).toEqual({ status: 'open', progress: null, counts: { changes: 1201, conflicts: 0, approved: 0, rejected: 0, pending: 1201, applied: 0 } });
    });
    given([]).when(open()).thenThrows('conflict', /nothing to change/);
  });

  it('refuses to approve a change with a conflict until each conflicting field has a choice', () => {
    const h = history(open(annChange, bobChange));
    given(h).when({ type: 'DecideChanges', decisions: [{ changeId: 'c1', decision: 'approve' }] }).thenThrows('conflict', /choice/);
    given(h).when({ type: 'DecideChanges', decisions: [{ changeId: 'c1', decision: 'approve', fields: { form: 'master' } }] }).thenMatches((events) => {
      const s = stateOf([...h, ...events]);
      // the choice given, and the incoming value for the field that needed none
      expect(s.changes.get(0)!.fields.map((f) => f.choice)).toEqual(['master', 'proposed']);
      expect(summarise(s).counts).toMatchObject({ approved: 1, pending: 1, conflicts: 0 });
    });
    given(h).when({ type: 'DecideChanges', decisions: [{ changeId: 'c9', decision: 'reject' }] }).thenThrows('invalid', /unknown change "c9"/);
  });

  it('the bulk form approves what needs no choice and leaves a change with a conflict pending', () => {
    given(history(open(annChange, bobChange))).when({ type: 'DecideAll', decision: 'approve' }).thenMatches((events) => {
      const s = stateOf([...history(open(annChange, bobChange)), ...events]);
      expect(s.changes.map((c) => c.decision).toArray()).toEqual(['pending', 'approved']);
    });
  });

  it('a field a sync owns can only be skipped', () => {
    const r = roster({}, { provider: 'scim' });
    const locked = change(0, 'p', { department: 'Science' }, { department: 'Art' }, master({ department: 'Science' }, { linked: true }), r);
    given(history(open(locked))).when({ type: 'DecideChanges', decisions: [{ changeId: 'c1', decision: 'approve', fields: { department: 'proposed' } }] })
      .thenThrows('locked', /owned by the SCIM sync/);
  });

  it('will not apply while a change is undecided, naming it', () => {
    given(history(open(annChange, bobChange), { type: 'DecideChanges', decisions: [{ changeId: 'c2', decision: 'approve' }] }))
      .when({ type: 'ApplyChangeset', roster: roster({ ann: annMaster, bob: bobMaster }) })
      .thenThrows('conflict', /1 change is not decided and 1 conflicting field has no choice/);
  });

  const decided = () => history(open(annChange, bobChange), { type: 'DecideChanges', decisions: [{ changeId: 'c1', decision: 'approve', fields: { form: 'proposed' } }, { changeId: 'c2', decision: 'approve' }] });

  it('starts the apply when the roster has not moved since the review', () => {
    given(decided()).when({ type: 'ApplyChangeset', roster: roster({ ann: annMaster, bob: bobMaster }) }).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['ChangesetApplyStarted']);
      expect(events[0].data).toMatchObject({ changes: 2, summary: { status: 'applying', progress: { done: 0, total: 2 } } });
    });
  });

  it('a stale review: a chosen field the roster moved on becomes a new conflict, and nothing is applied', () => {
    given(decided()).when({ type: 'ApplyChangeset', roster: roster({ ann: master({ form: '9Z' }, { revision: 4 }), bob: bobMaster }) }).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['ChangesRereviewed']);
      const s = stateOf([...decided(), ...events]);
      expect(s.changes.get(0)!.fields[0]).toMatchObject({ master: '9Z', conflict: true, choice: null });
      expect(s.changes.get(0)!.masterRevision).toBe(4);
      expect(s.status).toBe('open');
    });
  });

  it('a roster that moved to the incoming value is no conflict: reviewed again and applied', () => {
    given(decided()).when({ type: 'ApplyChangeset', roster: roster({ ann: master({ form: '8A' }, { revision: 4 }), bob: bobMaster }) }).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['ChangesRereviewed', 'ChangesetApplyStarted']);
    });
  });

  it('records applied changes once; one the roster moved under during the run goes back to review and the changeset stays open', () => {
    const started = decided();
    const h = [...started, ...changesetDecider.decide({ type: 'ApplyChangeset', roster: roster({ ann: annMaster, bob: bobMaster }) }, stateOf(started))];
    const recorded = [...h, ...changesetDecider.decide({ type: 'RecordApplied', applied: [{ changeId: 'c2', personId: 'bob', revision: 4 }], stale: [{ changeId: 'c1', field: 'form', master: 'X' }] }, stateOf(h))];
    given(recorded).when({ type: 'RecordApplied', applied: [{ changeId: 'c2', personId: 'bob', revision: 4 }], stale: [] }).then([]);
    given(recorded).when({ type: 'FinishApply' }).thenMatches((events) => {
      const s = stateOf([...recorded, ...events]);
      expect(s.status).toBe('open');
      expect(summarise(s).counts).toMatchObject({ applied: 1, conflicts: 1 });
    });
  });

  const applied = () => {
    const h = decided();
    const a = [...h, ...changesetDecider.decide({ type: 'ApplyChangeset', roster: roster({ ann: annMaster, bob: bobMaster }) }, stateOf(h))];
    const b = [...a, ...changesetDecider.decide({ type: 'RecordApplied', applied: [{ changeId: 'c1', personId: 'ann', revision: 4 }, { changeId: 'c2', personId: 'bob', revision: 4 }], stale: [] }, stateOf(a))];
    return [...b, ...changesetDecider.decide({ type: 'FinishApply' }, stateOf(b))];
  };

  it('rolls back when nothing it wrote changed since; a field someone changed blocks it unless forced', () => {
    expect(stateOf(applied()).status).toBe('applied');
    const now = { ann: master({ form: '8A', card: 'C-1' }, { revision: 4 }), bob: master({ form: '7A', card: 'C-2' }, { revision: 4 }) };
    given(applied()).when({ type: 'RollbackChangeset', roster: roster(now), force: [] }).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['ChangesetRollbackStarted']);
    });
    const edited = { ...now, bob: master({ form: '7A', card: 'C-99' }, { revision: 5 }) };
    given(applied()).when({ type: 'RollbackChangeset', roster: roster(edited), force: [] }).thenThrows('conflict', /1 field was changed since/);
    given(applied()).when({ type: 'RollbackChangeset', roster: roster(edited), force: ['bob.card'] }).thenMatches((events) => {
      expect(events[0].data).toMatchObject({ force: ['bob.card'], changes: 2 });
    });
    // put back by hand to the old value: nothing to clobber
    const putBack = { ...now, bob: master({ form: '7A' }, { revision: 5 }) };
    given(applied()).when({ type: 'RollbackChangeset', roster: roster(putBack), force: [] }).thenMatches((events) => expect(events).toHaveLength(1));
  });

  it('refuses to discard a changeset with applied changes, and anything on a discarded one', () => {
    given(applied()).when({ type: 'DiscardChangeset' }).thenThrows('conflict');
    const discarded = history(open(bobChange), { type: 'DiscardChangeset' });
    given(discarded).when({ type: 'DecideAll', decision: 'approve' }).thenThrows('conflict', /discarded/);
  });
});

describe('the changeset write to a person', () => {
  const given = spec(personDecider);
  const created: DomainEvent = { type: 'PersonCreated', data: { personId: 'p', listId: 'l', fields: { form: '7A', card: 'X' }, fieldChanges: [] } };
  const write = (over: Partial<Extract<PersonCommand, { type: 'WriteChangeset' }>>): PersonCommand => ({ type: 'WriteChangeset', fields: [], status: null, cause: 'changeset', partial: false, ...over });

  it('writes the fields that hold the expected value, with the cause', () => {
    given([created]).when(write({ fields: [{ field: 'form', expect: '7A', value: '8A' }] })).then([{
      type: 'AttributesChanged', data: { personId: 'p', listId: 'l', scimChanges: [], fields: { form: '8A', card: 'X' }, fieldChanges: [{ field: 'form', old: '7A', new: '8A' }], cause: 'changeset' },
    }]);
  });

  it('refuses the whole write when a field moved (apply), keeps that field only (rollback), writes it when forced', () => {
    const fields = [{ field: 'form', expect: '7B', value: '8A' }, { field: 'card', expect: 'X', value: 'Y' }];
    given([created]).when(write({ fields })).thenThrows('conflict', /moved/);
    given([created]).when(write({ fields, partial: true, cause: 'changeset-rollback' })).thenMatches((events) => {
      expect(events[0].data).toMatchObject({ fieldChanges: [{ field: 'card', old: 'X', new: 'Y' }], cause: 'changeset-rollback' });
    });
    given([created]).when(write({ fields, partial: true, force: new Set(['form']) })).thenMatches((events) => {
      expect((events[0].data as { fields: unknown }).fields).toEqual({ form: '8A', card: 'Y' });
    });
  });

  it('a status write is Deactivated with the cause; a person already there gets nothing', () => {
    given([created]).when(write({ status: { expect: 'active', value: 'inactive' } })).then([{ type: 'Deactivated', data: { personId: 'p', listId: 'l', scimChanges: [], fieldChanges: [], cause: 'changeset' } }]);
    given([created, { type: 'Deactivated', data: { personId: 'p', listId: 'l', scimChanges: [], fieldChanges: [] } }]).when(write({ status: { expect: 'active', value: 'inactive' } })).then([]);
  });
});

describe('session decider', () => {
  const given = spec(sessionDecider);
  const person = (i: number): SnapshotPerson => ({ personId: `p${i}`, revision: 0, status: 'active', linked: false, fields: { form: '7A' }, createdAt: '2026-01-01T00:00:00.000Z' });
  const create = (n: number) => ({ type: 'CreateSession' as const, sessionId: 's', listId: 'l', name: 'Photo day', filter: { 'eq.form': '7A' }, snapshotPosition: 42, people: Array.from({ length: n }, (_, i) => person(i)) });

  it('copies the people in bounded chunks', () => {
    given([]).when(create(SESSION_CHUNK + 1)).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['SessionCreated', 'SessionPeopleCopied', 'SessionPeopleCopied']);
      expect(events[0].data).toMatchObject({ people: SESSION_CHUNK + 1, snapshotPosition: 42 });
    });
  });

  it('edits a copy, counting who differs from the snapshot; an edit back to the snapshot is no longer an edit', () => {
    const h = sessionDecider.decide(create(2), sessionDecider.initialState());
    given(h).when({ type: 'EditSessionPerson', personId: 'p0', fields: { form: '8A' } })
      .then([{ type: 'SessionPersonEdited', data: { sessionId: 's', listId: 'l', personId: 'p0', fieldChanges: [{ field: 'form', old: '7A', new: '8A' }], edited: true, editedPeople: 1 } }]);
    const edited = [...h, ...sessionDecider.decide({ type: 'EditSessionPerson', personId: 'p0', fields: { form: '8A' } }, fold(sessionDecider, h))];
    given(edited).when({ type: 'EditSessionPerson', personId: 'p0', fields: { form: '7A' } }).thenMatches((events) => {
      expect(events[0].data).toMatchObject({ edited: false, editedPeople: 0 });
    });
    given(edited).when({ type: 'EditSessionPerson', personId: 'p0', fields: { form: '8A' } }).then([]);
    given(h).when({ type: 'EditSessionPerson', personId: 'nobody', fields: {} }).thenThrows('not_found');
  });
});

describe('two admins deciding at once, from two processes (optimistic concurrency)', () => {
  it('keeps both decisions: the loser of the race decides again on the stream as it now is', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { openEmbeddedEventStore } = await import('@muster/event-store/embedded');
    const { CommandHandler } = await import('./command-handler.ts');
    const dir = await mkdtemp(join(tmpdir(), 'muster-changeset-race-'));
    const store = await openEmbeddedEventStore({ dir });
    try {
      const ctx = { actor: { kind: 'admin' as const, id: 'a' }, source: { kind: 'admin-api' as const }, correlationId: 'c', now: new Date(), newId: () => crypto.randomUUID() };
      const stream = 'changeset-cs1';
      // each "process" has its own handler and cache over the one store
      const [one, two] = [new CommandHandler(store), new CommandHandler(store)];
      await one.handle(stream, changesetDecider, open(annChange, bobChange), ctx, { isNew: true });
      await Promise.all([one.load(stream, changesetDecider), two.load(stream, changesetDecider)]);
      const tries: number[] = [];
      const decide = (h: InstanceType<typeof CommandHandler>, changeId: string, decision: 'approve' | 'reject', fields?: Record<string, 'master'>) =>
        h.handle(stream, changesetDecider, () => { tries.push(1); return { type: 'DecideChanges' as const, decisions: [{ changeId, decision, fields }] }; }, ctx);
      await Promise.all([decide(one, 'c1', 'approve', { form: 'master' }), decide(two, 'c2', 'reject')]);
      const s = (await new CommandHandler(store).load(stream, changesetDecider))!.state;
      expect(s.changes.map((c) => c.decision).toArray()).toEqual(['approved', 'rejected']);
      expect(tries.length).toBeGreaterThan(2); // one of them lost the race and decided again
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
