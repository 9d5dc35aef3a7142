/**
 * `GET /Users?filter=userName eq "…"` answered from the answers the ingress keeps on its own thread
 * (user-name-answers.ts): the same bytes as the read-model path, and never staler than the event
 * store after any kind of change, by this ingress or by another one writing to the same store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../src/app.ts';
import { GROUP, LIST_RESPONSE, PATCH_OP, connectList, scimStack, type ScimClient } from './support.ts';

const byName = (name: string, extra = '') => `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}${extra}`;

describe('userName eq answers kept by the ingress', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  it('answers with the same bytes as the read-model path, in any case of the value', async () => {
    const created = await c.user('Same.Bytes@example.org', { name: { givenName: 'Same', familyName: 'Bytes' }, emails: [{ value: 'same.bytes@example.org', type: 'work', primary: true }] });
    expect(created.status).toBe(201);
    const kept = await c.req('GET', byName('same.bytes@EXAMPLE.org'));
    expect(kept.status).toBe(200);
    expect(kept.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    // sortBy takes the general filter path through the read model
    const general = await c.req('GET', byName('Same.Bytes@example.org', '&sortBy=userName'));
    expect(kept.text).toBe(general.text);
    expect(kept.body).toMatchObject({ schemas: [LIST_RESPONSE], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(kept.body.Resources[0]).toEqual(created.body);
    // and after a read-model answer has been kept (a restart-free second look)
    expect((await c.req('GET', byName('same.bytes@example.org'))).text).toBe(general.text);
  });

  it('paging and misses: count=0, startIndex past the one result, a userName nobody ever had', async () => {
    await c.user('paging@example.org');
    const none = await c.req('GET', byName('paging@example.org', '&count=0'));
    expect(none.body).toEqual({ schemas: [LIST_RESPONSE], totalResults: 1, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const past = await c.req('GET', byName('paging@example.org', '&startIndex=2'));
    expect(past.body).toEqual({ schemas: [LIST_RESPONSE], totalResults: 1, startIndex: 2, itemsPerPage: 0, Resources: [] });
    const never = await c.req('GET', byName('never.seen@example.org'));
    expect(never.status).toBe(200);
    expect(never.body).toEqual({ schemas: [LIST_RESPONSE], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    expect(never.text).toBe((await c.req('GET', byName('never.seen@example.org', '&sortBy=userName'))).text);
  });

  it('attributes / excludedAttributes still apply (those requests are not answered from the kept bytes)', async () => {
    await c.user('attrs@example.org', { title: 'Engineer' });
    const r = await c.req('GET', byName('attrs@example.org', '&attributes=title'));
    expect(r.body.Resources[0]).toEqual({ schemas: expect.any(Array), id: expect.any(String), title: 'Engineer' });
    const ex = await c.req('GET', byName('attrs@example.org', '&excludedAttributes=title'));
    expect(ex.body.Resources[0]).not.toHaveProperty('title');
  });

  it('reflects every change right after its response: PATCH, PUT, rename, DELETE, re-create', async () => {
    const id = (await c.user('fresh@example.org', { title: 'One' })).body.id as string;
    expect((await c.req('GET', byName('fresh@example.org'))).body.Resources[0].title).toBe('One');

    const patched = await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Two' }] });
    const afterPatch = (await c.req('GET', byName('fresh@example.org'))).body.Resources[0];
    expect(afterPatch.title).toBe('Two');
    expect(afterPatch.meta.version).toBe(patched.body.meta.version);

    await c.req('PUT', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'fresh@example.org', title: 'Three' });
    expect((await c.req('GET', byName('fresh@example.org'))).body.Resources[0].title).toBe('Three');

    await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: 'renamed@example.org' }] });
    expect((await c.req('GET', byName('fresh@example.org'))).body.totalResults).toBe(0);
    expect((await c.req('GET', byName('renamed@example.org'))).body.Resources[0].id).toBe(id);

    expect((await c.req('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await c.req('GET', byName('renamed@example.org'))).body.totalResults).toBe(0);

    const again = await c.user('renamed@example.org', { title: 'Back' });
    expect(again.status).toBe(201);
    const back = (await c.req('GET', byName('renamed@example.org'))).body;
    expect(back.totalResults).toBe(1);
    expect(back.Resources[0]).toEqual(again.body);
  });

  it("reflects group changes in the users' groups: add, rename, remove, delete", async () => {
    const uid = (await c.user('member@example.org')).body.id as string;
    expect((await c.req('GET', byName('member@example.org'))).body.Resources[0]).not.toHaveProperty('groups');
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Badges', members: [{ value: uid }] })).body.id as string;
    const groupsOf = async () => (await c.req('GET', byName('member@example.org'))).body.Resources[0].groups;
    expect(await groupsOf()).toEqual([expect.objectContaining({ value: g, display: 'Badges' })]);
    await c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Access' }] });
    expect(await groupsOf()).toEqual([expect.objectContaining({ value: g, display: 'Access' })]);
    await c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${uid}"]` }] });
    expect(await groupsOf()).toBeUndefined();
    await c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: uid }] }] });
    expect(await groupsOf()).toEqual([expect.objectContaining({ value: g })]);
    expect((await c.req('DELETE', `/Groups/${g}`)).status).toBe(204);
    expect(await groupsOf()).toBeUndefined();
  });

  it('GET /Users/{id} is answered from the same kept entries: same bytes, ETag and If-None-Match, fresh after changes', async () => {
    const created = await c.user('by.id@example.org', { title: 'First' });
    const id = created.body.id as string;
    const got = await c.req('GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.text).toBe(created.text);
    expect(got.headers.get('etag')).toBe(created.body.meta.version);
    expect(got.headers.get('content-type')).toBe('application/scim+json; charset=utf-8');
    expect((await c.req('GET', `/Users/${id}`, undefined, { 'if-none-match': created.body.meta.version })).status).toBe(304);
    const patched = await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Second' }] });
    const again = await c.req('GET', `/Users/${id}`);
    expect(again.body.title).toBe('Second');
    expect(again.headers.get('etag')).toBe(patched.body.meta.version);
    expect((await c.req('GET', `/Users/${id}`, undefined, { 'if-none-match': created.body.meta.version })).status).toBe(200);
    // another list's token never reaches this list's entries
    const other = await connectList(c.stack);
    expect((await other.req('GET', `/Users/${id}`)).status).toBe(404);
    expect((await other.req('GET', byName('by.id@example.org'))).body.totalResults).toBe(0);
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'By Id Group', members: [{ value: id }] })).body.id as string;
    expect((await c.req('GET', `/Users/${id}`)).body.groups).toEqual([expect.objectContaining({ value: g, display: 'By Id Group' })]);
    expect((await c.req('DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await c.req('GET', `/Users/${id}`)).status).toBe(404);
  });

  describe('another ingress writing to the same event store (a second replica)', () => {
    let other: FastifyInstance;
    beforeAll(async () => {
      const a = c.stack.running.adapters;
      other = await build({ store: a.store, readStore: a.readStore, bus: a.bus, publicUrl: c.stack.url });
    });
    afterAll(async () => { await other?.close(); });
    const viaOther = (method: string, path: string, payload?: unknown) => other.inject({
      method: method as 'GET', url: `/scim/v2/lists/${c.listId}${path}`, payload: payload as object,
      headers: { authorization: `Bearer ${c.token}`, ...(payload ? { 'content-type': 'application/scim+json' } : {}) },
    });
    /** what this ingress answers, once its view has caught up (bounded): another writer's change must show up */
    const eventually = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 200; i++) { if (await check()) return true; await new Promise((r) => setTimeout(r, 10)); }
      return false;
    };

    it("stops serving a kept answer once the other replica changes the user (its stream's revision is checked on every answer)", async () => {
      const id = (await c.user('replica@example.org', { title: 'Before' })).body.id as string;
      expect((await c.req('GET', byName('replica@example.org'))).body.Resources[0].title).toBe('Before');
      const r = await viaOther('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'After' }] });
      expect(r.statusCode).toBe(200);
      // by id: the person stream is read once the kept entry is found stale, so at once
      expect((await c.req('GET', `/Users/${id}`)).body.title).toBe('After');
      expect(await eventually(async () => (await c.req('GET', byName('replica@example.org'))).body.Resources?.[0]?.title === 'After')).toBe(true);
      const del = await viaOther('DELETE', `/Users/${id}`);
      expect(del.statusCode).toBe(204);
      expect(await eventually(async () => (await c.req('GET', byName('replica@example.org'))).body.totalResults === 0)).toBe(true);
    });

    it("a replica's own group write shows in its next answer at once, however late its group subscription delivers", async () => {
      // a third ingress whose subscription to group streams lags by half a second
      const a = c.stack.running.adapters;
      const lagging = new Proxy(a.store, {
        get(target, prop) {
          const v = Reflect.get(target, prop, target);
          if (prop !== 'subscribeToAll') return typeof v === 'function' ? v.bind(target) : v;
          return (o: Parameters<typeof target.subscribeToAll>[0], h: Parameters<typeof target.subscribeToAll>[1]) =>
            target.subscribeToAll(o, o.filter?.streamPrefixes?.includes('group-') ? async (e) => { await new Promise((r) => setTimeout(r, 500)); return h(e); } : h);
        },
      });
      const third = await build({ store: lagging, readStore: a.readStore, bus: a.bus, publicUrl: c.stack.url });
      try {
        const call = (method: string, path: string, payload?: unknown) => third.inject({
          method: method as 'GET', url: `/scim/v2/lists/${c.listId}${path}`, payload: payload as object,
          headers: { authorization: `Bearer ${c.token}`, ...(payload ? { 'content-type': 'application/scim+json' } : {}) },
        });
        const uid = (await call('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'lagging.member@example.org' })).json().id as string;
        expect((await call('GET', byName('lagging.member@example.org'))).json().Resources[0]).not.toHaveProperty('groups');
        expect((await call('POST', '/Groups', { schemas: [GROUP], displayName: 'Lagging Group', members: [{ value: uid }] })).statusCode).toBe(201);
        expect((await call('GET', byName('lagging.member@example.org'))).json().Resources[0].groups).toEqual([expect.objectContaining({ display: 'Lagging Group' })]);
      } finally {
        await third.close();
      }
    });

    it("picks up the other replica's group change (through its subscription to group streams)", async () => {
      const uid = (await c.user('replica.member@example.org')).body.id as string;
      expect((await c.req('GET', byName('replica.member@example.org'))).body.Resources[0]).not.toHaveProperty('groups');
      const g = await viaOther('POST', '/Groups', { schemas: [GROUP], displayName: 'Replica Group', members: [{ value: uid }] });
      expect(g.statusCode).toBe(201);
      expect(await eventually(async () => (await c.req('GET', byName('replica.member@example.org'))).body.Resources[0].groups?.[0]?.display === 'Replica Group')).toBe(true);
    });
  });
});
