import { describe, expect, it } from 'vitest';
import { EventValidationError, isPersonEvent, parseEvent, toDomainEvent, type DomainEvent } from './events.ts';
import { toNewEvents } from './metadata.ts';
import type { CommandContext } from './envelope.ts';

const ctx: CommandContext = { actor: { kind: 'admin', id: 'a' }, source: { kind: 'admin-api' }, correlationId: 'c', now: new Date('2026-01-01T00:00:00Z'), newId: () => 'id-1' };
const provisioned = { personId: 'p1', listId: 'l1', scim: { userName: 'ada', name: { givenName: 'Ada' } }, fields: { firstName: 'Ada' }, status: 'active', fieldChanges: [{ field: 'firstName', old: null, new: 'Ada' }] };

describe('the event contract', () => {
  it('given a stored event of a known type and version, toDomainEvent returns it typed, with the data object as stored', () => {
    const data = { ...provisioned };
    const e = toDomainEvent({ type: 'PersonProvisioned', data, metadata: { version: 1 } });
    expect(e.type).toBe('PersonProvisioned');
    expect(e.data).toBe(data); // not a copy: the JSON text the hash chain covers keeps its keys
    expect(isPersonEvent(e)).toBe(true);
  });

  it('refuses data that does not fit, an unknown type and an unknown version, naming the type, the field and the stream', () => {
    const bad = () => toDomainEvent({ type: 'PersonProvisioned', data: { ...provisioned, status: 'sleeping' }, metadata: { version: 1 }, streamId: 'person-p1', revision: 3 });
    expect(bad).toThrow(EventValidationError);
    expect(bad).toThrow(/invalid PersonProvisioned event: status: .*\(stream person-p1, revision 3\)/);
    expect(() => toDomainEvent({ type: 'PersonTeleported', data: {} })).toThrow(/unknown event type/);
    expect(() => toDomainEvent({ type: 'PersonProvisioned', data: provisioned, metadata: { version: 2 } })).toThrow(/schema version 2 is not known/);
  });

  it('reads events written before metadata carried more fields (no version given: the current one)', () => {
    expect(toDomainEvent({ type: 'GroupDeleted', data: { groupId: 'g', listId: 'l', members: [] } }).type).toBe('GroupDeleted');
  });

  it('validates on append: toNewEvents refuses an invalid event, so nothing reaches the store', () => {
    const ok = toNewEvents([{ type: 'PersonProvisioned', data: provisioned } as DomainEvent], ctx);
    expect(ok).toHaveLength(1);
    expect(ok[0].metadata).toMatchObject({ version: 1, occurredAt: '2026-01-01T00:00:00.000Z' });
    const invalid = { type: 'GroupDeleted', data: { groupId: 'g', listId: 'l' } } as unknown as DomainEvent;
    expect(() => toNewEvents([{ type: 'PersonProvisioned', data: provisioned } as DomainEvent, invalid], ctx)).toThrow(/invalid GroupDeleted event: members/);
    expect(() => parseEvent('GroupDeleted', { groupId: 'g', listId: 'l', members: [] })).not.toThrow();
  });
});
