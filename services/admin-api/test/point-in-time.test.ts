/**
 * GET /lists/{id}/people?asOf= against an oracle: the whole log's person and group events of the
 * list, up to the time, folded by the projections in log order (what the endpoint computed before it
 * learnt to read only the list's own streams). A seeded random history over two lists: creates,
 * attribute changes, deactivations, deletes (unlink) and re-creates (relink), groups created,
 * renamed, changed and deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { streamPrefixes, toNewEvents, type DomainEvent } from '@muster/contracts';
import { Projections, collectionNames } from '@muster/read-models';
import { createMemoryReadStore } from '@muster/read-store-memory';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { ENTERPRISE, GROUP_SCHEMA, expectStatus, patchOps, scimList, scimUser, type ScimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

function rng(seed: number) {
  let x = seed >>> 0;
  return () => { x = (x * 1664525 + 1013904223) >>> 0; return x / 2 ** 32; };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the oracle: every person and group event of the list up to `asOf`, folded in log order */
async function oracle(listId: string, asOf: string) {
  const scratch = createMemoryReadStore();
  const projections = new Projections(scratch, collectionNames(''));
  const events = await s.running.adapters.store.readAll({ filter: { streamPrefixes: [streamPrefixes.person, streamPrefixes.group] } });
  for (const e of events) {
    if ((e.data as { listId?: unknown }).listId !== listId) continue;
    if (Date.parse(String(e.metadata.occurredAt)) <= Date.parse(asOf)) await projections.apply(e);
  }
  const docs = await scratch.collection('people').find({ listId }, { sort: { createdAt: 1, _id: 1 } });
  await scratch.close();
  return docs.map((d) => ({ id: d._id, status: d.status, fields: d.fields, groups: d.groups, linked: d.linked, scim: d.scim, updatedAt: d.updatedAt }));
}

async function asOf(listId: string, at: string) {
  const res = await s.admin('GET', `/lists/${listId}/people?asOf=${encodeURIComponent(at)}&status=all&limit=500`);
  expectStatus(res, 200);
  expect(res.body.total).toBe(res.body.items.length);
  return res.body.items.map((d: any) => ({ id: d.id, status: d.status, fields: d.fields, groups: d.groups, linked: d.linked, scim: d.scim, updatedAt: d.updatedAt }));
}

describe('point in time over a random history (oracle: the whole log folded)', () => {
  it('answers what folding every event of the list up to that time gives, at every step', async () => {
    const r = rng(20261204);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const lists: ScimList[] = [await scimList(s, { name: 'History A' }), await scimList(s, { name: 'History B' })];
    const users = new Map<string, { list: ScimList; name: string; id: string | null }>();
    const groups: Array<{ list: ScimList; id: string; name: string }> = [];
    const times: string[] = [new Date().toISOString()];
    let n = 0;
    for (let step = 0; step < 70; step++) {
      const list = pick(lists);
      const mine = [...users.values()].filter((u) => u.list === list);
      const linked = mine.filter((u) => u.id);
      const roll = r();
      if (roll < 0.3 || linked.length < 2) {
        const name = `p${n++}`;
        const res = await s.scim(list.token, 'POST', `${list.base}/Users`, scimUser(name));
        expectStatus(res, 201);
        users.set(name, { list, name, id: res.body.id });
      } else if (roll < 0.45) {
        const u = pick(linked);
        expectStatus(await s.scim(list.token, 'PATCH', `${list.base}/Users/${u.id}`, patchOps({ op: 'replace', path: 'title', value: `T${step}` })), 200);
      } else if (roll < 0.55) {
        const u = pick(linked);
        expectStatus(await s.scim(list.token, 'PATCH', `${list.base}/Users/${u.id}`, patchOps({ op: 'replace', value: { active: r() < 0.5 } })), 200);
      } else if (roll < 0.62) {
        const u = pick(linked);
        expectStatus(await s.scim(list.token, 'DELETE', `${list.base}/Users/${u.id}`), 204);
        u.id = null;
      } else if (roll < 0.67 && mine.some((u) => !u.id)) {
        const u = pick(mine.filter((x) => !x.id));
        const res = await s.scim(list.token, 'POST', `${list.base}/Users`, scimUser(u.name, { title: 'Back' }));
        expectStatus(res, 201);
        u.id = res.body.id;
      } else if (roll < 0.75) {
        const members = linked.filter(() => r() < 0.4).map((u) => ({ value: u.id }));
        const res = await s.scim(list.token, 'POST', `${list.base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: `G${step}`, members });
        expectStatus(res, 201);
        groups.push({ list, id: res.body.id, name: `G${step}` });
      } else if (roll < 0.88 && groups.some((g) => g.list === list)) {
        const g = pick(groups.filter((x) => x.list === list));
        const u = pick(linked);
        const op = r() < 0.6 ? patchOps({ op: 'add', path: 'members', value: [{ value: u.id }] }) : r() < 0.5
          ? patchOps({ op: 'remove', path: `members[value eq "${u.id}"]` }) : patchOps({ op: 'replace', path: 'displayName', value: `${g.name}-r${step}` });
        expectStatus(await s.scim(list.token, 'PATCH', `${list.base}/Groups/${g.id}`, op), 204);
      } else if (roll < 0.93 && groups.some((g) => g.list === list)) {
        const g = pick(groups.filter((x) => x.list === list));
        expectStatus(await s.scim(list.token, 'DELETE', `${list.base}/Groups/${g.id}`), 204);
        groups.splice(groups.indexOf(g), 1);
      } else {
        const u = pick(linked);
        expectStatus(await s.scim(list.token, 'PATCH', `${list.base}/Users/${u.id}`, patchOps({ op: 'replace', path: `${ENTERPRISE}:department`, value: `D${step}` })), 200);
      }
      await sleep(3);
      times.push(new Date().toISOString());
      await sleep(3);
    }
    // one time before anything, every step, and the future
    const checks = [new Date(Date.parse(times[0]) - 60_000).toISOString(), ...times.filter((_, i) => i % 3 === 0), new Date(Date.now() + 60_000).toISOString()];
    let nonEmpty = 0;
    for (const at of checks) {
      for (const l of lists) {
        const expected = await oracle(l.id, at);
        expect(await asOf(l.id, at), `${l.id} as of ${at}`).toEqual(expected);
        if (expected.some((p) => (p.groups as string[]).length > 0)) nonEmpty++;
      }
    }
    // the history exercised group memberships, not only people
    expect(nonEmpty).toBeGreaterThan(5);
  });

  it('waits for the read models it uses as its index: people stored just before the request are all there', async () => {
    const l = await scimList(s, { name: 'Just now' });
    // 2,000 people appended at once (as a burst of IdP writes would): the projector needs a moment for them
    const ctx = { actor: { kind: 'system' as const, id: 'test' }, source: { kind: 'scim' as const }, correlationId: randomUUID(), now: new Date(), newId: randomUUID };
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => {
      const personId = randomUUID();
      const event: DomainEvent = { type: 'PersonProvisioned', data: { personId, listId: l.id, scim: { userName: `burst${i}@example.org` }, fields: { firstName: `B${i}` }, status: 'active', fieldChanges: [] } };
      return s.running.adapters.store.appendToStream(`person-${personId}`, toNewEvents([event], ctx), { expectedRevision: 'no_stream' });
    }));
    const res = await s.admin('GET', `/lists/${l.id}/people?asOf=${encodeURIComponent(new Date(Date.now() + 1_000).toISOString())}&limit=1`);
    expectStatus(res, 200);
    expect(res.body.total).toBe(2_000);
  });
});
