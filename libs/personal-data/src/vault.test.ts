import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERASED, toDomainEvent, toNewEvents, type CommandContext, type DomainEvent } from '@muster/contracts';
import { openEmbeddedEventStore, verifyLog, withHashChain, type EventStore } from '@muster/event-store';
import { SecretBox } from '@muster/secret-box';
import { FileDataKeyStore } from './key-store.ts';
import { PersonalDataVault, secretBoxWrapper } from './vault.ts';
import { withPersonalData } from './store.ts';

const ctx = (): CommandContext => ({ actor: { kind: 'admin', id: 't' }, source: { kind: 'admin-api' }, correlationId: 'c', now: new Date('2026-12-05T10:00:00Z'), newId: randomUUID });
const provisioned = (personId: string, email: string): DomainEvent => ({
  type: 'PersonProvisioned',
  data: {
    personId, listId: 'l1', status: 'active',
    scim: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: personId, userName: email, name: { givenName: 'Ada', familyName: 'Lovelace' }, active: true },
    fields: { email, firstName: 'Ada' },
    fieldChanges: [{ field: 'email', old: null, new: email }, { field: 'firstName', old: null, new: 'Ada' }],
  },
});

describe('personal data sealed in the log (crypto-shredding)', () => {
  let dir: string;
  let raw: EventStore;
  let store: EventStore;
  let keys: FileDataKeyStore;
  let vault: PersonalDataVault;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'muster-vault-'));
    raw = withHashChain(await openEmbeddedEventStore({ dir: join(dir, 'events') }));
    keys = await FileDataKeyStore.open({ dir: join(dir, 'keys') });
    vault = new PersonalDataVault(keys, secretBoxWrapper(SecretBox.fromKey(Buffer.alloc(32, 7))));
    store = withPersonalData(raw, vault);
  });
  afterEach(async () => {
    await store.close();
    await keys.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores ciphertext, gives readers the clear event, and [erased] once the key is deleted; the chain verifies throughout', async () => {
    await store.appendToStream('person-p1', toNewEvents([provisioned('p1', 'ada@example.org')], ctx()));
    await store.appendToStream('person-p2', toNewEvents([provisioned('p2', 'grace@example.org')], ctx()));
    const [stored] = await raw.readStream('person-p1');
    const text = JSON.stringify(stored.data);
    expect(text).not.toContain('ada@example.org');
    expect(text).not.toContain('Lovelace');
    // ids, statuses, field keys and the SCIM attribute names stay in clear
    expect(stored.data).toMatchObject({ personId: 'p1', listId: 'l1', status: 'active', fields: { email: '[sealed]', firstName: '[sealed]' } });
    expect((stored.data.scim as Record<string, unknown>).active).toBe(true);
    const [opened] = await store.readStream('person-p1');
    expect(opened.data).toEqual(provisioned('p1', 'ada@example.org').data);
    expect(() => toDomainEvent(opened)).not.toThrow();

    await vault.erase(['p1']);
    const [erased] = await store.readStream('person-p1');
    expect(erased.data.fields).toEqual({ email: ERASED, firstName: ERASED });
    expect(erased.data.fieldChanges).toEqual([{ field: 'email', old: null, new: ERASED }, { field: 'firstName', old: null, new: ERASED }]);
    expect(erased.data.scim).toMatchObject({ id: 'p1', userName: ERASED, name: ERASED, active: true });
    expect(() => toDomainEvent(erased)).not.toThrow();
    // the other person is untouched; every reader path agrees
    const all = await store.readAll();
    expect(all.find((e) => e.streamId === 'person-p2')!.data.fields).toEqual({ email: 'grace@example.org', firstName: 'Ada' });
    const seen: string[] = [];
    const sub = store.subscribeToAll({}, (e) => { seen.push(String((e.data.fields as Record<string, unknown>).email)); });
    await expect.poll(() => seen.length).toBe(2);
    await sub.stop();
    expect(seen).toEqual([ERASED, 'grace@example.org']);
    expect(await verifyLog(raw)).toMatchObject({ ok: true, eventsChecked: 2 });
    // nothing of an erased subject is written again: a late write stores the marker
    await store.appendToStream('person-p1', toNewEvents([{ type: 'AttributesChanged', data: { personId: 'p1', listId: 'l1', scimChanges: [], fields: { email: 'new@example.org' }, fieldChanges: [{ field: 'email', old: 'ada@example.org', new: 'new@example.org' }], cause: 'admin' } }], ctx()));
    const [, late] = await raw.readStream('person-p1');
    expect(JSON.stringify(late.data)).not.toContain('example.org');
  });

  it('seals each person of a multi-person event with their own key (a session copy, a changeset proposal)', async () => {
    const people = ['p1', 'p2'].map((personId) => ({ personId, revision: 0, status: 'active' as const, linked: false, fields: { lastName: `Name-${personId}` }, createdAt: '2026-12-05T10:00:00Z' }));
    await store.appendToStream('session-s1', toNewEvents([{ type: 'SessionPeopleCopied', data: { sessionId: 's1', listId: 'l1', people } }], ctx()));
    const [stored] = await raw.readStream('session-s1');
    expect(JSON.stringify(stored.data)).not.toContain('Name-');
    await vault.erase(['p2']);
    const [opened] = await store.readStream('session-s1');
    expect((opened.data.people as Array<{ fields: unknown }>).map((p) => p.fields)).toEqual([{ lastName: 'Name-p1' }, { lastName: ERASED }]);
    expect(() => toDomainEvent(opened)).not.toThrow();
  });

  it('reads a damaged ciphertext as erased instead of failing', async () => {
    await store.appendToStream('person-p3', toNewEvents([provisioned('p3', 'x@example.org')], ctx()));
    const [stored] = await raw.readStream('person-p3');
    const sealed = stored.data.sealed as { s: string; c: string };
    const damaged = { ...stored, data: { ...stored.data, sealed: { ...sealed, c: sealed.c.slice(0, -4) + 'AAAA' } } };
    const opened = vault.open(damaged.type, damaged.data, damaged.eventId);
    expect(opened.fields).toEqual({ email: ERASED, firstName: ERASED });
    // and a ciphertext copied into another event does not open there
    expect(vault.open(stored.type, stored.data, randomUUID()).fields).toEqual({ email: ERASED, firstName: ERASED });
  });
});
