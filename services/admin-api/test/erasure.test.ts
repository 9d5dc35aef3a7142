/**
 * Erasure (GDPR Art. 17) through the real stack: the person's data key is deleted, so their
 * personal data reads `[erased]` in every event; the read models forget them; the identifiers are
 * free again; the log still verifies; nothing of theirs is left in clear anywhere in the data
 * directory (log, key store, read-model snapshot after a restart).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, muster, startStack, type Stack } from '../../../tests/helpers.ts';
import { createUser, eventually, expectStatus, organisation, provisioningLog, scimList, scimUser, type ScimList } from './support.ts';


/** every file under `dir` whose bytes contain one of `needles` (in UTF-8 or as UTF-16 LE) */
async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = join(dir, entry);
    if (!(await stat(file)).isFile()) continue;
    const bytes = await readFile(file);
    for (const n of needles) {
      if (bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le'))) hits.push(`${entry}: ${n}`);
    }
  }
  return hits;
}

let s: Stack;
let l: ScimList;
beforeAll(async () => {
  s = await startStack();
  l = await scimList(s, { uniqueIdentifier: 'email' });
});
afterAll(async () => { await s?.stop(); });

describe('erasing a person', () => {
  it('is for owners, with a reason', async () => {
    const id = await createUser(s, l, 'rolecheck');
    const viewer = await organisation(s, 'Viewers', 'pro', 'viewer');
    expectStatus(await s.admin('POST', `/lists/${l.id}/people/${id}/erase`, { reason: 'asked' }, viewer.token), 403);
    const admin = await s.admin('POST', '/admin-tokens', { role: 'admin' });
    expectStatus(admin, 201);
    const res = await s.admin('POST', `/lists/${l.id}/people/${id}/erase`, { reason: 'asked' }, admin.body.token);
    expectStatus(res, 403);
    expect(res.body.error.code).toBe('forbidden');
    const blank = await s.admin('POST', `/lists/${l.id}/people/${id}/erase`, { reason: '  ' });
    expectStatus(blank, 400);
    expectStatus(await s.admin('POST', `/lists/${l.id}/people/no-such-person/erase`, { reason: 'asked' }), 404);
  });

  it('shreds the data, forgets the person everywhere, frees the identifiers, and keeps the log verifiable', async () => {
    const id = await createUser(s, l, 'zelda', { name: { givenName: 'Zelda', familyName: 'Quintessa' }, phoneNumbers: [{ value: '+44 20 7946 0999', type: 'work' }] });
    const keep = await createUser(s, l, 'kept');
    const group = await s.scim(l.token, 'POST', `${l.base}/Groups`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Year 9', members: [{ value: id }, { value: keep }] });
    expectStatus(group, 201);
    const patched = await s.scim(l.token, 'PATCH', `${l.base}/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Head of Quintessential Studies' }] });
    expectStatus(patched, 200);
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 10));
    expect((await provisioningLog(s, l.id, `personId=${id}`)).length).toBeGreaterThan(0);
    const headBefore = (await s.admin('GET', '/audit/head')).body;

    const res = await s.admin('POST', `/lists/${l.id}/people/${id}/erase`, { reason: 'GDPR request 2026-118' });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ personId: id, erased: true, alreadyErased: false });
    const again = await s.admin('POST', `/lists/${l.id}/people/${id}/erase`, { reason: 'twice' });
    expect(again.body).toMatchObject({ erased: true, alreadyErased: true, position: null });

    // the read models forget them: roster, counts, person, provisioning log, group members
    const after = `after=${res.body.position}`;
    const people = (await s.admin('GET', `/lists/${l.id}/people?${after}`)).body.items.map((p: { id: string }) => p.id);
    expect(people).toContain(keep);
    expect(people).not.toContain(id);
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/${id}`), 404);
    expectStatus(await s.admin('GET', `/lists/${l.id}/people/${id}/export`), 404);
    expect(await provisioningLog(s, l.id, `personId=${id}`)).toEqual([]);
    expect((await s.admin('GET', `/lists/${l.id}`)).body.counts).toMatchObject({ active: people.length });
    const g = await s.scim(l.token, 'GET', `${l.base}/Groups/${group.body.id}`);
    expect(g.body.members.map((m: { value: string }) => m.value)).toEqual([keep]);
    // SCIM: gone by id and by filter
    expectStatus(await s.scim(l.token, 'GET', `${l.base}/Users/${id}`), 404);
    const byName = await s.scim(l.token, 'GET', `${l.base}/Users?filter=${encodeURIComponent('userName eq "zelda@example.org"')}`);
    expect(byName.body.totalResults).toBe(0);

    // the log keeps the history, [erased] where it held personal data, and says who erased, when, why
    const exported = await s.admin('GET', `/audit/events?personId=${id}`);
    expectStatus(exported, 200);
    const all = String(exported.body).trim().split('\n').map((line) => JSON.parse(line));
    const events = all.filter((e) => e.stream === `person-${id}`);
    expect(events.map((e) => e.type)).toEqual(['PersonProvisioned', 'AttributesChanged', 'PersonErased']);
    // the identifiers they held: reserved and released (the values are not written there)
    const reservations = all.filter((e) => e.type === 'ValueReserved' || e.type === 'ValueReleased');
    expect(reservations.map((e) => e.type)).toEqual(['ValueReserved', 'ValueReserved', 'ValueReleased', 'ValueReleased']);
    expect(reservations.every((e) => !('value' in e.data))).toBe(true);
    expect(JSON.stringify(all)).not.toMatch(/zelda|Quintessa|7946 0999/i);
    expect(events[0].data.fields.email).toBe('[erased]');
    expect(events[0].data.scim.userName).toBe('[erased]');
    expect(events[0].data).toMatchObject({ personId: id, listId: l.id, status: 'active' });
    expect(events[1].data.scimChanges[0]).toMatchObject({ path: 'title', new: '[erased]' });
    expect(events[2]).toMatchObject({ data: { personId: id, reason: 'GDPR request 2026-118', trigger: 'request' }, actor: { kind: 'admin' } });
    expect(JSON.stringify(events)).not.toMatch(/zelda|Quintessa|7946 0999/i);
    // point in time before the erasure: the person was there, their data reads [erased]
    const asOf = await s.admin('GET', `/lists/${l.id}/people?asOf=${encodeURIComponent(before)}&limit=100`);
    expectStatus(asOf, 200);
    const then = asOf.body.items.find((p: { id: string }) => p.id === id);
    expect(then.fields.email).toBe('[erased]');
    // the chain covers what is stored, so it still verifies; the head moved on from the digest before
    expect((await s.admin('GET', '/audit/verify')).body).toMatchObject({ ok: true });
    const headAfter = (await s.admin('GET', `/audit/head?position=${headBefore.position}`)).body;
    expect(headAfter.digest).toBe(headBefore.digest);

    // the operator sees the vault at work (details for an install-wide admin token)
    const health = await fetch(`${s.url}/healthz`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const vault = ((await health.json()) as { services: Record<string, { personalData?: Record<string, number> }> }).services['admin-api'].personalData!;
    expect(vault.keysCreated).toBeGreaterThan(0);
    expect(vault.sealed).toBeGreaterThan(0);
    expect(vault.erasedReads).toBeGreaterThan(0);

    // the IdP provisions the same person again: a new person
    const back = await s.scim(l.token, 'POST', `${l.base}/Users`, scimUser('zelda'));
    expectStatus(back, 201);
    expect(back.body.id).not.toBe(id);
    await eventually(async () => expect((await s.admin('GET', `/lists/${l.id}/people/${back.body.id}`)).body.fields.email).toBe('zelda@example.org'));
  });

  it('an erasure cut short after the key was deleted (a crash) is finished by asking again after a restart, identifiers released', async () => {
    const t = await startStack();
    let stopped = false;
    try {
      const list = await scimList(t, { uniqueIdentifier: 'email' });
      const id = await createUser(t, list, 'cutshort');
      await t.running.adapters.vault!.erase([id]); // the shred happened; the append did not
      const dir = t.dataDir;
      await t.stop({ keepData: true });
      stopped = true;
      // a new process: the person's events read [erased], the read model still knows their identifiers
      const again = await startStack({}, dir);
      try {
        const res = await again.admin('POST', `/lists/${list.id}/people/${id}/erase`, { reason: 'asked again' });
        expectStatus(res, 200);
        expect(res.body.alreadyErased).toBe(false);
        const released = await again.admin('GET', `/audit/events?personId=${id}&type=ValueReleased`);
        const lines = typeof released.body === 'string' ? released.body.trim().split('\n') : [released.body];
        expect(lines).toHaveLength(2); // userName and email
      } finally {
        await again.stop();
      }
    } finally {
      if (!stopped) await t.stop();
    }
  });

  it('DELETE of a person on a list with no sync erases them; on a synced list the IdP removes people', async () => {
    const list = (await s.admin('POST', '/lists', { name: 'Visitors' })).body.id;
    expectStatus(await s.admin('POST', `/lists/${list}/fields`, { key: 'fullName', label: 'Full name', type: 'text' }), 201);
    const p = await s.admin('POST', `/lists/${list}/people`, { fields: { fullName: 'Oswin Visitor' } });
    expectStatus(p, 201);
    const del = await s.admin('DELETE', `/lists/${list}/people/${p.body.id}?reason=${encodeURIComponent('left the site')}`);
    expectStatus(del, 200);
    expect(del.body).toMatchObject({ personId: p.body.id, erased: true, alreadyErased: false });
    expectStatus(await s.admin('GET', `/lists/${list}/people/${p.body.id}`), 404);
    const synced = await createUser(s, l, 'synced');
    const refused = await s.admin('DELETE', `/lists/${l.id}/people/${synced}`);
    expectStatus(refused, 409);
    expect(refused.body.error.message).toMatch(/identity provider/);
  });
});

describe('nothing of an erased person is left in clear in the data directory', () => {
  it('after the erasure and a restart that rebuilds the read models, grep finds neither name nor email; muster audit verify is clean', async () => {
    const t = await startStack({ MUSTER_SNAPSHOTS: 'on' });
    let stopped = false;
    try {
      const list = await scimList(t, { uniqueIdentifier: 'email' });
      const needles = ['Philippa', 'Marchbanks', 'philippa.marchbanks@example.org', '+44 1632 960777'];
      const res = await t.scim(list.token, 'POST', `${list.base}/Users`, scimUser('philippa.marchbanks', {
        userName: 'philippa.marchbanks@example.org', name: { givenName: 'Philippa', familyName: 'Marchbanks' }, displayName: 'Philippa Marchbanks',
        emails: [{ value: 'philippa.marchbanks@example.org', type: 'work', primary: true }], phoneNumbers: [{ value: '+44 1632 960777', type: 'mobile' }],
      }));
      expectStatus(res, 201);
      const other = await createUser(t, list, 'bystander');
      // a failed request about the person is logged too (its detail sealed under their key)
      const dup = await t.scim(list.token, 'POST', `${list.base}/Users`, scimUser('philippa.marchbanks', { userName: 'philippa.marchbanks@example.org' }));
      expect(dup.status).toBe(409);
      // an admin looked at them, a session copied them
      expectStatus(await t.admin('POST', `/lists/${list.id}/sessions`, { name: 'Photo day', filter: {} }), 201);
      expectStatus(await t.admin('POST', `/lists/${list.id}/people/${res.body.id}/erase`, { reason: 'left, asked for erasure' }), 200);
      const dir = t.dataDir;
      await t.stop({ keepData: true });
      stopped = true;
      // the snapshot written at the stop holds the read models after the erasure; the log and keys hold ciphertext
      expect(await filesContaining(dir, needles)).toEqual([]);

      // a start with no snapshot rebuilds everything from the log: still nothing, the others intact
      const again = await startStack({ MUSTER_SNAPSHOTS: 'off' }, dir);
      try {
        await eventually(async () => expect((await again.admin('GET', `/lists/${list.id}/people/${other}`)).status).toBe(200));
        const people = (await again.admin('GET', `/lists/${list.id}/people`)).body.items;
        expect(people.map((p: { id: string }) => p.id)).toEqual([other]);
        expect(JSON.stringify(people)).toContain('bystander@example.org');
        expect(JSON.stringify((await again.admin('GET', `/lists/${list.id}/provisioning-log?limit=200`)).body)).not.toMatch(/Philippa|Marchbanks/);
      } finally {
        await again.stop({ keepData: true });
      }
      expect(await filesContaining(dir, needles)).toEqual([]);
      // everyone's personal data is sealed in the log and the key store (the read models hold it in clear)
      expect(await filesContaining(join(dir, 'events'), ['bystander@example.org'])).toEqual([]);
      expect(await filesContaining(join(dir, 'keys'), ['bystander@example.org'])).toEqual([]);
      const verify = await muster(['audit', 'verify'], dir);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/OK/);
    } finally {
      if (!stopped) await t.stop();
    }
  });
});
