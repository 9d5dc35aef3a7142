import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PATCH_OP, USER, domainEvents, expectScimError, scimStack, type ScimClient } from './support.ts';

describe('ETags and concurrency over HTTP', () => {
  let c: ScimClient;
  beforeAll(async () => { c = await scimStack(); });
  afterAll(async () => { await c?.stack.stop(); });

  it('meta.version is the stream revision; If-Match mismatch → 412 on PUT/PATCH/DELETE; If-None-Match match → 304', async () => {
    const r = await c.user('etag@example.org');
    const id = r.body.id;
    expect(r.body.meta.version).toBe('W/"0"');
    const events = await c.stack.running.adapters.store.readStream(`person-${id}`);
    expect(events.at(-1)!.revision).toBe(0);
    const p = await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'A' }] }, { 'if-match': 'W/"0"' });
    expect(p.status).toBe(200);
    expect(p.body.meta.version).toBe('W/"1"');
    expectScimError(await c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'B' }] }, { 'if-match': 'W/"0"' }), 412);
    expectScimError(await c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'etag@example.org' }, { 'if-match': '"7"' }), 412);
    expectScimError(await c.req('DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"0"' }), 412);
    expect((await c.req('GET', `/Users/${id}`)).body.title).toBe('A');
    const nm = await c.req('GET', `/Users/${id}`, undefined, { 'if-none-match': 'W/"1"' });
    expect(nm.status).toBe(304);
    expect(nm.headers.get('etag')).toBe('W/"1"');
    expect((await c.req('GET', `/Users/${id}`, undefined, { 'if-none-match': 'W/"0"' })).status).toBe(200);
    expect((await c.req('PUT', `/Users/${id}`, { schemas: [USER], userName: 'etag@example.org', title: 'C' }, { 'if-match': '*' })).status).toBe(200);
    expect((await c.req('DELETE', `/Users/${id}`, undefined, { 'if-match': 'W/"2"' })).status).toBe(204);
    // groups too
    const g = await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'ETag group' });
    expect((await c.req('GET', `/Groups/${g.body.id}`, undefined, { 'if-none-match': g.body.meta.version })).status).toBe(304);
    expectScimError(await c.req('PATCH', `/Groups/${g.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] }, { 'if-match': 'W/"9"' }), 412);
  });

  it('parallel PATCHes of different attributes of one person all land (no lost update), with bounded retries', async () => {
    const id = (await c.user('race@example.org')).body.id;
    const attrs = ['title', 'nickName', 'displayName', 'userType', 'locale', 'timezone', 'preferredLanguage', 'profileUrl'];
    const results = await Promise.all(attrs.map((a) => c.req('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: a, value: a === 'profileUrl' ? 'https://x.example' : `v-${a}` }] })));
    for (const r of results) expect(r.status, r.text).toBe(200);
    const got = await c.req('GET', `/Users/${id}`);
    for (const a of attrs) expect(got.body[a]).toBe(a === 'profileUrl' ? 'https://x.example' : `v-${a}`);
    const events = await c.stack.running.adapters.store.readStream(`person-${id}`);
    expect(events.map((e) => e.type)).toEqual(['PersonProvisioned', ...attrs.map(() => 'AttributesChanged')]);
    expect(got.body.meta.version).toBe(`W/"${attrs.length}"`);
  });

  it('parallel member adds to one group all land', async () => {
    const users = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => c.user(`member${i}@example.org`)));
    const g = (await c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Racers' })).body.id;
    const res = await Promise.all(users.map((u) => c.req('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: u.body.id }] }] })));
    for (const r of res) expect(r.status, r.text).toBe(204);
    expect((await c.req('GET', `/Groups/${g}`)).body.members).toHaveLength(6);
  });

  it('two concurrent POSTs of one userName → exactly one 201 and one 409; one person', async () => {
    for (let round = 0; round < 3; round++) {
      const name = `twin${round}@example.org`;
      const mark = await c.head();
      const [a, b] = await Promise.all([c.user(name), c.user(name.toUpperCase())]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      expect((a.status === 409 ? a : b).body.scimType).toBe('uniqueness');
      expect(domainEvents(await c.since(mark)).filter((e) => e.type === 'PersonProvisioned')).toHaveLength(1);
    }
    const g = await Promise.all([c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Twins' }), c.req('POST', '/Groups', { schemas: [GROUP], displayName: 'twins' })]);
    expect(g.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('a GET right after a write reflects it: by id and by filter', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await c.user(`ryw${i}@example.org`, { title: 'first' });
      const byFilter = await c.req('GET', `/Users?filter=${encodeURIComponent(`userName eq "ryw${i}@example.org"`)}`);
      expect(byFilter.body.totalResults).toBe(1);
      await c.req('PATCH', `/Users/${r.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `second-${i}` }] });
      expect((await c.req('GET', `/Users/${r.body.id}`)).body.title).toBe(`second-${i}`);
      const f2 = await c.req('GET', `/Users?filter=${encodeURIComponent(`title eq "second-${i}"`)}`);
      expect(f2.body.Resources.map((x: any) => x.id)).toEqual([r.body.id]);
    }
  });
});
