import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaResetError, EntraAuthError, FormTokenProvider, GraphClient, GraphError, type DeltaPage } from './index.ts';
import { FakeGraph } from './testing/fake-graph.ts';

let fake: FakeGraph;
beforeAll(async () => { fake = new FakeGraph({ pageSize: 2 }); await fake.start(); });
afterAll(async () => { await fake.stop(); });

const tokens = (secret = fake.clientSecret) => new FormTokenProvider({ authorityUrl: fake.origin, tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: secret });
const waits: number[] = [];
const client = () => new GraphClient({ baseUrl: fake.origin, tokens: tokens(), sleep: async (ms) => { waits.push(ms); } });

/** a whole round: every item, and the deltaLink */
async function round(c: GraphClient, url: string) {
  const items: DeltaPage['value'] = [];
  const deltaLink = await c.deltaRound(url, (p) => { items.push(...p.value); });
  return { items, deltaLink };
}

describe('client-credentials tokens (the form POST)', () => {
  it('gets a token with the right secret and reuses it; a wrong secret is authentication_failed with Entra\'s words', async () => {
    const t = tokens();
    const before = fake.requests.length;
    const a = await t.getToken();
    expect(await t.getToken()).toBe(a);
    expect(fake.requests.slice(before).filter((r) => r.endsWith('/token'))).toHaveLength(1);
    const bad = tokens('wrong');
    await expect(bad.getToken()).rejects.toMatchObject({ name: 'EntraAuthError', code: 'authentication_failed', entraError: 'invalid_client', message: expect.stringMatching(/AADSTS7000215/) });
    const nowhere = new FormTokenProvider({ authorityUrl: 'http://127.0.0.1:9', tenantId: 't', clientId: 'c', clientSecret: 's' });
    await expect(nowhere.getToken()).rejects.toBeInstanceOf(EntraAuthError);
    await expect(nowhere.getToken()).rejects.toMatchObject({ code: 'graph_unreachable' });
  });
});

describe('delta rounds', () => {
  it('follows nextLinks verbatim (empty pages too) to a deltaLink; the next round brings updates, soft and hard deletes', async () => {
    const ids = ['ada', 'bob', 'cy', 'dee', 'eve'].map((n) => fake.addUser({ displayName: n, mail: `${n}@x.org` }));
    const c = client();
    fake.emptyPagesNext(1);
    const first = await round(c, c.url('users/delta?$select=displayName,mail,accountEnabled'));
    expect(first.items.map((u) => u.displayName)).toEqual(expect.arrayContaining(['ada', 'bob', 'cy', 'dee', 'eve']));
    expect(c.pages).toBe(4); // one empty page, then 2 + 2 + 1
    fake.updateUser(ids[0], { mail: null });
    fake.softDeleteUser(ids[1]);
    fake.hardDeleteUser(ids[2]);
    const second = await round(c, first.deltaLink);
    expect(second.items).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: ids[0], mail: null }),
      { id: ids[1], '@removed': { reason: 'changed' } },
      { id: ids[2], '@removed': { reason: 'deleted' } },
    ]));
    expect(second.items).toHaveLength(3);
    const third = await round(c, second.deltaLink);
    expect(third.items).toEqual([]);
  });

  it('scopes groups by $filter and reports membership as members@delta additions and removals', async () => {
    const [u1, u2, u3] = ['m1', 'm2', 'm3'].map((n) => fake.addUser({ displayName: n }));
    const staff = fake.addGroup('Staff', [u1, u2]);
    fake.addGroup('Other', [u3]);
    const c = client();
    const first = await round(c, c.url(`groups/delta?$select=displayName,members&$filter=${encodeURIComponent(`id eq '${staff}'`)}`));
    expect(first.items).toEqual([{ id: staff, displayName: 'Staff', 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: u1 }, { '@odata.type': '#microsoft.graph.user', id: u2 }] }]);
    fake.addMember(staff, u3);
    fake.removeMember(staff, u1);
    const second = await round(c, first.deltaLink);
    expect(second.items).toEqual([{ id: staff, displayName: 'Staff', 'members@delta': expect.arrayContaining([
      { '@odata.type': '#microsoft.graph.user', id: u3 },
      { '@odata.type': '#microsoft.graph.user', id: u1, '@removed': { reason: 'deleted' } },
    ]) }]);
  });
});

describe('throttling and resets', () => {
  it('waits Retry-After on 429 and backs off without it (503 too), counting the waits; gives up after maxAttempts', async () => {
    const c = client();
    waits.length = 0;
    fake.throttle(1, '2');
    fake.throttle(1, null, 503);
    await round(c, c.url('users/delta'));
    expect(c.throttledWaits).toBe(2);
    expect(waits[0]).toBe(2000);
    expect(waits[1]).toBeGreaterThanOrEqual(1600); // second attempt: about 2 s with jitter
    const impatient = new GraphClient({ baseUrl: fake.origin, tokens: tokens(), maxAttempts: 3, sleep: async () => {} });
    fake.throttle(3, '0');
    await expect(impatient.get(impatient.url('users/delta'))).rejects.toBeInstanceOf(GraphError);
  });

  it('an expired delta state (410 with Location, or syncStateNotFound) is a DeltaResetError', async () => {
    const c = client();
    const { deltaLink } = await round(c, c.url('users/delta'));
    fake.expireDeltaState('410');
    const gone = await c.deltaRound(deltaLink, () => {}).catch((e) => e);
    expect(gone).toBeInstanceOf(DeltaResetError);
    expect(gone.location).toBe(`${fake.origin}/v1.0/users/delta`);
    fake.expireDeltaState('syncStateNotFound');
    await expect(c.deltaRound(deltaLink, () => {})).rejects.toMatchObject({ name: 'DeltaResetError', location: null });
    // a full round from the initial query still works
    expect((await round(c, gone.location)).deltaLink).toMatch(/\$deltatoken=/);
  });
});

describe('tokens through MSAL (production path), its network seam pointed at the fake', () => {
  /** MSAL's requests, sent to the fake instead of login.microsoftonline.com */
  const toFake = {
    seen: [] as string[],
    async send(url: string, method: 'GET' | 'POST', options?: { headers?: Record<string, string>; body?: string }) {
      this.seen.push(`${method} ${url}`);
      const u = new URL(url);
      const res = await fetch(`${fake.origin}${u.pathname}${u.search}`, { method, headers: options?.headers, body: options?.body });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => { headers[k] = v; });
      return { headers, body: (await res.json()) as never, status: res.status };
    },
    sendGetRequestAsync(url: string, options?: { headers?: Record<string, string> }) { return toFake.send(url, 'GET', options); },
    sendPostRequestAsync(url: string, options?: { headers?: Record<string, string>; body?: string }) { return toFake.send(url, 'POST', options); },
  };

  it('gets a token from the public cloud\'s token endpoint, reuses it, and says authentication_failed with Entra\'s words for a bad secret', async () => {
    const { MsalTokenProvider } = await import('./msal.ts');
    const msal = new MsalTokenProvider({ tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: fake.clientSecret, networkClient: toFake });
    const token = await msal.getToken();
    expect(token).toMatch(/^fake-/);
    expect(await msal.getToken()).toBe(token);
    expect(toFake.seen.map((x) => x.split('?')[0])).toEqual([`POST https://login.microsoftonline.com/${fake.tenantId}/oauth2/v2.0/token`]);
    const g = new GraphClient({ baseUrl: fake.origin, tokens: msal });
    fake.addUser({ displayName: 'Via MSAL' });
    expect((await round(g, g.url('users/delta?$select=displayName'))).items.length).toBeGreaterThan(0);
    const bad = new MsalTokenProvider({ tenantId: fake.tenantId, clientId: fake.clientId, clientSecret: 'wrong', networkClient: toFake });
    await expect(bad.getToken()).rejects.toMatchObject({ name: 'EntraAuthError', code: 'authentication_failed', message: expect.stringMatching(/AADSTS7000215/) });
  });
});
