/**
 * Given/When/Then specs of the Entra pull: a list's runs and sync state, what a run writes to one
 * person, and the Entra settings of a list (no I/O).
 */
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '@muster/contracts';
import { spec } from './spec.ts';
import { entraSyncDecider, liveRun, modeOf, nextRunAt, TRACKED_CHUNK, type EntraSyncCommand, type FinishRun } from './entra-sync.ts';
import { fold } from './decider.ts';
import { personDecider } from './person.ts';
import { listDecider } from './list.ts';

const T0 = new Date('2026-12-01T08:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const LEASE = 60_000;
const zero = { created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0, skipped: 0, errors: 0 };

function history(...commands: EntraSyncCommand[]): DomainEvent[] {
  const events: DomainEvent[] = [];
  for (const c of commands) events.push(...entraSyncDecider.decide(c, fold(entraSyncDecider, events)));
  return events;
}
const start = (runId: string, now = T0, groupIds = ['g1', 'g2']): EntraSyncCommand => ({ type: 'StartRun', listId: 'L', runId, trigger: 'manual', groupIds, now, leaseMs: LEASE });
const finish = (runId: string, o: Partial<FinishRun> = {}): FinishRun => ({
  type: 'FinishRun', runId, now: at(5_000), status: 'succeeded', mode: 'full', fullReason: 'first', summary: zero, pages: 3, throttledWaits: 0, error: null,
  next: { deltaLinks: { users: 'U1', groups: [{ groupIds: ['g1', 'g2'], link: 'G1' }] }, groupIds: ['g2', 'g1'], reset: true, users: [{ id: 'u1', groups: ['g1'], removed: null }], groupNames: { g1: 'Staff' } },
  failures: [], held: 0, changesetId: null, ...o,
});

describe('runs of a list', () => {
  it('the first run is full (first); it holds a lease', () => {
    spec(entraSyncDecider)([]).when(start('r1')).then([{ type: 'EntraRunStarted', data: {
      listId: 'L', runId: 'r1', trigger: 'manual', mode: 'full', fullReason: 'first', startedAt: T0.toISOString(), leaseUntil: at(LEASE).toISOString(),
    } }]);
  });

  it('one run at a time: a second start while the lease holds is refused, naming the running run', () => {
    spec(entraSyncDecider)(history(start('r1'))).when(start('r2', at(30_000))).thenThrows('conflict', /r1/);
    spec(entraSyncDecider)(history(start('r1'), { type: 'RenewLease', runId: 'r1', pages: 4, now: at(50_000), leaseMs: LEASE })).when(start('r2', at(100_000))).thenThrows('conflict');
  });

  it('a run whose lease ran out (its process died) is recorded as interrupted when the next starts; nothing it read is kept', () => {
    spec(entraSyncDecider)(history(start('r1'))).when(start('r2', at(LEASE + 1))).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['EntraRunFinished', 'EntraRunStarted']);
      expect(events[0].data).toMatchObject({ runId: 'r1', status: 'failed', error: { code: 'interrupted' }, deltaLinks: null });
      expect(events[1].data).toMatchObject({ runId: 'r2', mode: 'full', fullReason: 'first' });
    });
  });

  it('a finished run leaves the delta links and who is tracked; the next run is incremental, or full when the groups changed', () => {
    const after = fold(entraSyncDecider, history(start('r1'), finish('r1')));
    expect(after).toMatchObject({ running: null, deltaLinks: { users: 'U1' }, linkGroupIds: ['g1', 'g2'], groupNames: { g1: 'Staff' }, lastRun: { runId: 'r1', status: 'succeeded' } });
    expect([...after.tracked]).toEqual([['u1', { groups: ['g1'], removed: null }]]);
    expect(modeOf(after, ['g2', 'g1'])).toEqual({ mode: 'incremental', fullReason: null });
    expect(modeOf(after, ['g1'])).toEqual({ mode: 'full', fullReason: 'groups_changed' });
  });

  it('a failed run keeps the links and the tracking as they were', () => {
    const before = fold(entraSyncDecider, history(start('r1'), finish('r1')));
    const after = fold(entraSyncDecider, history(start('r1'), finish('r1'), start('r2', at(10_000)), finish('r2', { status: 'failed', error: { code: 'graph_error', message: 'x' }, next: null })));
    expect(after.deltaLinks).toEqual(before.deltaLinks);
    expect([...after.tracked]).toEqual([...before.tracked]);
    expect(after.lastRun).toMatchObject({ runId: 'r2', status: 'failed' });
  });

  it('tracking comes in chunks; an incremental run changes only the users it names (no groups, not removed: forgotten)', () => {
    const many = Array.from({ length: TRACKED_CHUNK + 5 }, (_, i) => ({ id: `u${i}`, groups: ['g1'], removed: null }));
    const events = entraSyncDecider.decide(finish('r1', { next: { ...finish('r1').next!, users: many } }), fold(entraSyncDecider, history(start('r1'))));
    expect(events.map((e) => e.type)).toEqual(['EntraUsersTracked', 'EntraUsersTracked', 'EntraRunFinished']);
    const s = fold(entraSyncDecider, [...history(start('r1')), ...events, ...history(start('r2', at(10_000)))]);
    const inc = entraSyncDecider.decide(finish('r2', { mode: 'incremental', next: { ...finish('r2').next!, reset: false, users: [{ id: 'u0', groups: [], removed: null }, { id: 'u1', groups: ['g1'], removed: 'hard' }] } }), s);
    const after = inc.reduce(entraSyncDecider.evolve, s);
    expect(after.tracked.size).toBe(TRACKED_CHUNK + 4);
    expect(after.tracked.get('u1')).toEqual({ groups: ['g1'], removed: 'hard' });
  });

  it('failures are recorded one event each; the run that finishes must be the running one', () => {
    spec(entraSyncDecider)(history(start('r1'))).when(finish('r1', { failures: [{ userId: 'u9', personId: null, error: { code: 'invalid', message: 'no' } }], next: null })).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['EntraUserFailed', 'EntraRunFinished']);
    });
    spec(entraSyncDecider)(history(start('r1'))).when(finish('r0')).thenThrows('conflict');
  });

  it('the schedule: at once when no run has started, else interval minutes after the last start; none without a schedule', () => {
    expect(nextRunAt({ intervalMinutes: 40 }, null, T0)).toBe(T0.toISOString());
    expect(nextRunAt({ intervalMinutes: 40 }, T0.toISOString(), at(1))).toBe(at(40 * 60_000).toISOString());
    expect(nextRunAt(null, T0.toISOString(), T0)).toBeNull();
    const running = fold(entraSyncDecider, history(start('r1')));
    expect(liveRun(running, at(1))?.runId).toBe('r1');
    expect(liveRun(running, at(LEASE + 1))).toBeNull();
  });
});

describe('what a run writes to one person', () => {
  const user = { id: 'u1', givenName: 'Ada', mail: 'ada@x.org', accountEnabled: true };
  const sync = (o: Partial<{ user: Record<string, unknown>; fields: Record<string, unknown>; active: boolean; gone: boolean }> = {}) => ({
    type: 'SyncEntraUser' as const, personId: 'p1', listId: 'L', user, fields: { firstName: 'Ada' }, active: true, ...o,
  });
  const provisioned = personDecider.decide(sync(), fold(personDecider, []));

  it('creates an active person for a user in scope; never one for a user out of scope or deleted', () => {
    expect(provisioned).toEqual([{ type: 'PersonProvisioned', data: { personId: 'p1', listId: 'L', scim: user, fields: { firstName: 'Ada' }, status: 'active', fieldChanges: [{ field: 'firstName', old: null, new: 'Ada' }] } }]);
    spec(personDecider)([]).when(sync({ active: false })).then([]);
    spec(personDecider)([]).when(sync({ gone: true })).then([]);
  });

  it('writes nothing when nothing changed (a replayed round); a change of fields or of the Graph object is one AttributesChanged', () => {
    spec(personDecider)(provisioned).when(sync()).then([]);
    spec(personDecider)(provisioned).when(sync({ user: { ...user, givenName: 'Augusta' }, fields: { firstName: 'Augusta' } })).thenMatches((events) => {
      expect(events.map((e) => e.type)).toEqual(['AttributesChanged']);
      expect(events[0].data).toMatchObject({ cause: 'idp', fieldChanges: [{ field: 'firstName', old: 'Ada', new: 'Augusta' }], scimChanges: [{ path: 'givenName', old: 'Ada', new: 'Augusta' }] });
    });
  });

  it('deactivates and reactivates with the status; a user deleted for good is unlinked and never comes back', () => {
    spec(personDecider)(provisioned).when(sync({ active: false })).thenMatches((e) => expect(e.map((x) => x.type)).toEqual(['Deactivated']));
    const deactivated = [...provisioned, ...personDecider.decide(sync({ active: false }), fold(personDecider, provisioned))];
    spec(personDecider)(deactivated).when(sync()).thenMatches((e) => expect(e.map((x) => x.type)).toEqual(['Reactivated']));
    const gone = [...provisioned, ...personDecider.decide(sync({ gone: true, active: false }), fold(personDecider, provisioned))];
    expect(gone.map((x) => x.type)).toEqual(['PersonProvisioned', 'PersonUnlinked']);
    spec(personDecider)(gone).when(sync()).then([]);
  });
});

describe('a list\'s Entra settings', () => {
  const created: DomainEvent = { type: 'ListCreated', data: { listId: 'L', orgId: 'o', name: 'Staff' } };
  const connect = { type: 'ConnectEntra' as const, tenantId: 't', clientId: 'c', groupIds: ['g1'], uniqueIdentifier: 'email' as const, extensionAttributes: [], schedule: { intervalMinutes: 40 }, deactivationThreshold: 0.2, knownSource: () => false };
  const connected = [created, ...listDecider.decide(connect, fold(listDecider, [created]))];

  it('connecting records the settings (no secret) and the Entra default mappings', () => {
    const s = fold(listDecider, connected);
    expect(s.sync).toMatchObject({ provider: 'entra', entra: { groupIds: ['g1'], schedule: { intervalMinutes: 40 }, deactivationThreshold: 0.2, secretVersion: 0 } });
    expect(s.mappings.find((m) => m.field === 'email')).toEqual({ source: 'mail', field: 'email', enabled: true, transform: 'direct', fallback: 'userPrincipalName' });
    expect(JSON.stringify(connected)).not.toMatch(/secret"/);
  });

  it('a change records only what differs; the same groups in another order are no change', () => {
    spec(listDecider)(connected).when({ type: 'ChangeEntraSettings', groupIds: ['g1'], schedule: { intervalMinutes: 40 } }).then([]);
    spec(listDecider)(connected).when({ type: 'ChangeEntraSettings', groupIds: ['g2', 'g1'], schedule: null }).then([{ type: 'EntraSettingsChanged', data: { listId: 'L', groupIds: ['g2', 'g1'], schedule: null } }]);
    spec(listDecider)([created]).when({ type: 'ChangeEntraSettings', schedule: null }).thenThrows('conflict');
  });

  it('a new secret is counted (cached tokens of the old one are dropped)', () => {
    const s = fold(listDecider, [...connected, ...listDecider.decide({ type: 'SetEntraSecret' }, fold(listDecider, connected))]);
    expect(s.sync?.entra?.secretVersion).toBe(1);
  });
});
