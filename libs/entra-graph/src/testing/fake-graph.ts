/**
 * A fake Microsoft Graph and token endpoint for tests (shared/reference/entra-graph-delta-sync.md
 * section 4): a tenant of users and groups with a change log, users and groups delta rounds with
 * server-chosen pages, absolute links on the fake's own origin, opaque tokens, `@removed` users
 * (soft and hard deletes), `members@delta` additions and removals scoped by `$filter=id eq …`, and
 * faults on demand (throttling with Retry-After, expired delta state as 410 or syncStateNotFound,
 * empty pages that still carry a nextLink). Tests mutate the tenant through its methods.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

interface FakeUser { id: string; attrs: Record<string, unknown>; deleted: 'none' | 'soft' | 'hard' }
interface FakeGroup { id: string; displayName: string; members: Set<string>; deleted: boolean }
interface Change { seq: number; kind: 'user' | 'group'; id: string; member?: string; memberType?: 'user' | 'group'; props?: string[] | 'all' }
interface Cursor { k: 'users' | 'groups'; from: number; upto: number; offset: number; filter: string[] | null; select: string[] | null; minimal?: boolean }

const selectOf = (url: URL): string[] | null => {
  const sel = url.searchParams.get('$select');
  return sel ? sel.split(',').map((x) => x.trim()).filter(Boolean) : null;
};
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const unb64 = <T>(s: string): T => JSON.parse(Buffer.from(s, 'base64url').toString()) as T;

export interface FakeGraphOptions {
  tenantId?: string; clientId?: string; clientSecret?: string; pageSize?: number;
  /** at most this many members@delta entries per group entry: a larger group comes back in slices, on several pages */
  memberSlice?: number;
}

export class FakeGraph {
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string;
  pageSize: number;
  memberSlice: number;
  /** every user item of a users round is sent twice (Graph may repeat an object in a round) */
  duplicateUsers = false;
  /** the next round from a deltaLink replays the changes of the round before it too */
  private replayOnce = false;
  /** answers that are not JSON, for the next `n` Graph requests */
  private garbage = 0;
  /** ms to wait before answering each delta page (a slow tenant) */
  pageDelayMs = 0;
  private readonly users = new Map<string, FakeUser>();
  private readonly groups = new Map<string, FakeGroup>();
  private readonly log: Change[] = [];
  private seq = 0;
  private readonly issued = new Set<string>();
  private server: Server | null = null;
  origin = '';
  /** requests answered, by path (for assertions) */
  readonly requests: string[] = [];
  /** requests answered, with their whole URL */
  readonly urls: string[] = [];
  private throttles: Array<{ retryAfter: string | null; status: number; after: number }> = [];
  /** the next round's second page comes back empty (with a nextLink to where it was) */
  private emptyMidRound = false;
  /** answer as if `Prefer: return=minimal` was never sent (Graph's default mode) */
  ignorePrefer = false;
  private expiry: '410' | 'syncStateNotFound' | null = null;
  private emptyPages = 0;

  constructor(o: FakeGraphOptions = {}) {
    this.tenantId = o.tenantId ?? randomUUID();
    this.clientId = o.clientId ?? randomUUID();
    this.clientSecret = o.clientSecret ?? 'fake-secret';
    this.pageSize = o.pageSize ?? 200;
    this.memberSlice = o.memberSlice ?? 1_000;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => { this.handle(req, res).catch((err) => { res.statusCode = 500; res.end(String(err)); }); });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.origin = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    // idle keep-alive connections of a client that is still around would hold close() open
    this.server?.closeIdleConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  // ---- the tenant ---------------------------------------------------------------------------

  private touch(kind: Change['kind'], id: string, extra: Partial<Change> = {}) {
    this.log.push({ seq: ++this.seq, kind, id, ...extra });
  }

  addUser(attrs: Record<string, unknown>, id: string = randomUUID()): string {
    this.users.set(id, { id, attrs: { accountEnabled: true, ...attrs }, deleted: 'none' });
    this.touch('user', id, { props: 'all' });
    return id;
  }
  /** a patch: null clears an attribute (a complex property, such as onPremisesExtensionAttributes, is replaced whole) */
  updateUser(id: string, patch: Record<string, unknown>) {
    const u = this.users.get(id)!;
    u.attrs = { ...u.attrs, ...patch };
    this.touch('user', id, { props: Object.keys(patch) });
  }
  user(id: string) { return this.users.get(id); }
  softDeleteUser(id: string) { this.users.get(id)!.deleted = 'soft'; this.touch('user', id); }
  restoreUser(id: string) { this.users.get(id)!.deleted = 'none'; this.touch('user', id, { props: 'all' }); }
  hardDeleteUser(id: string) { this.users.get(id)!.deleted = 'hard'; this.touch('user', id); }

  addGroup(displayName: string, members: string[] = [], id: string = randomUUID()): string {
    this.groups.set(id, { id, displayName, members: new Set(members), deleted: false });
    this.touch('group', id);
    return id;
  }
  /** a direct member: a user, or (nested) another group */
  addMember(groupId: string, memberId: string, memberType: 'user' | 'group' = 'user') {
    this.groups.get(groupId)!.members.add(memberId);
    if (memberType === 'group') this.nested.add(memberId);
    this.touch('group', groupId, { member: memberId, memberType });
  }
  private readonly nested = new Set<string>();
  removeMember(groupId: string, userId: string) { this.groups.get(groupId)!.members.delete(userId); this.touch('group', groupId, { member: userId }); }
  deleteGroup(groupId: string) { this.groups.get(groupId)!.deleted = true; this.touch('group', groupId); }
  renameGroup(groupId: string, displayName: string) { this.groups.get(groupId)!.displayName = displayName; this.touch('group', groupId); }

  // ---- faults -------------------------------------------------------------------------------

  /** the next `n` Graph requests answer `status` (429 by default) with this Retry-After (null: none) */
  throttle(n: number, retryAfter: string | null = '0', status = 429, after = 0) {
    for (let i = 0; i < n; i++) this.throttles.push({ retryAfter, status, after: i === 0 ? after : 0 });
  }
  /** clear pending faults */
  heal() { this.throttles = []; this.garbage = 0; this.expiry = null; }
  /** every delta link issued so far is refused: 410 Gone with a Location, or 400 syncStateNotFound */
  expireDeltaState(how: '410' | 'syncStateNotFound') { this.expiry = how; this.issuedBefore = this.seq; }
  private issuedBefore = -1;
  /** the next `n` pages come back empty, with a nextLink to the same place */
  emptyPagesNext(n: number) { this.emptyPages = n; }
  /** the second page of the next round comes back empty, still with a nextLink */
  emptyPageMidRound() { this.emptyMidRound = true; }
  /** the next `n` Graph answers are 200 with an HTML body (a proxy's error page) */
  garbageNext(n: number) { this.garbage = n; }
  /** the next round started from a deltaLink sends the previous round's changes again */
  replayNextRound() { this.replayOnce = true; }

  // ---- HTTP ---------------------------------------------------------------------------------

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, this.origin);
    this.requests.push(`${req.method} ${url.pathname}`);
    this.urls.push(`${req.method} ${url.href}`);
    if (req.method === 'POST' && url.pathname === `/${this.tenantId}/oauth2/v2.0/token`) return this.token(req, res);
    if (req.method === 'POST' && /\/oauth2\/v2\.0\/token$/.test(url.pathname)) {
      return this.send(res, 400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${url.pathname.split('/')[1]}' not found.` });
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!auth || !this.issued.has(auth[1])) return this.send(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty or invalid.' } });
    if (this.garbage > 0) { this.garbage--; res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html><body>Bad gateway</body></html>'); return; }
    const fault = this.throttles[0] && this.throttles[0].after-- <= 0 ? this.throttles.shift() : undefined;
    if (fault) return this.send(res, fault.status, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter });
    const path = url.pathname.replace('/microsoft.graph.delta', '/delta');
    const minimal = !this.ignorePrefer && /return=minimal/i.test(String(req.headers.prefer ?? ''));
    if (this.pageDelayMs && path.endsWith('/delta')) await new Promise((r) => setTimeout(r, this.pageDelayMs));
    if (path === '/v1.0/users/delta') return this.delta(res, url, 'users', minimal);
    if (path === '/v1.0/groups/delta') return this.delta(res, url, 'groups', minimal);
    const user = /^\/v1\.0\/users\/([^/]+)$/.exec(path);
    if (user) {
      const u = this.users.get(user[1]);
      if (!u || u.deleted !== 'none') return this.send(res, 404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${user[1]}' does not exist.` } });
      return this.send(res, 200, this.selected({ id: u.id, ...u.attrs }, selectOf(url)));
    }
    const group = /^\/v1\.0\/groups\/([^/]+)$/.exec(path);
    if (group) {
      const g = this.groups.get(group[1]);
      if (!g || g.deleted) return this.send(res, 404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${group[1]}' does not exist.` } });
      return this.send(res, 200, { id: g.id, displayName: g.displayName });
    }
    return this.send(res, 404, { error: { code: 'BadRequest', message: `no fake for ${path}` } });
  }

  private async token(req: IncomingMessage, res: ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'client_credentials' || !form.get('scope')?.endsWith('/.default')) {
      return this.send(res, 400, { error: 'invalid_scope', error_description: 'AADSTS70011: The provided value for the input parameter \'scope\' is not valid.' });
    }
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      return this.send(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
    }
    const token = `fake-${randomUUID()}`;
    this.issued.add(token);
    return this.send(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: token });
  }

  /** a round's items, computed once per round (its pages slice them; the tenant can change meanwhile without moving them) */
  private readonly rounds = new Map<string, Array<Record<string, unknown>>>();

  private items(c: Cursor): Array<Record<string, unknown>> {
    const key = JSON.stringify([c.k, c.from, c.upto, c.filter, c.select, !!c.minimal, this.duplicateUsers, this.memberSlice]);
    let items = this.rounds.get(key);
    if (!items) {
      items = this.computeItems(c);
      this.rounds.set(key, items);
      if (this.rounds.size > 8) this.rounds.delete(this.rounds.keys().next().value!);
    }
    return items;
  }

  private computeItems(c: Cursor): Array<Record<string, unknown>> {
    const changed = (kind: Change['kind']) => {
      const ids = new Map<string, Change[]>();
      for (const ch of this.log) if (ch.kind === kind && ch.seq > c.from && ch.seq <= c.upto) ids.set(ch.id, [...(ids.get(ch.id) ?? []), ch]);
      return ids;
    };
    if (c.k === 'users') {
      const out: Array<Record<string, unknown>> = [];
      const touched = changed('user');
      const pick = c.from === 0 ? [...this.users.keys()] : [...touched.keys()];
      for (const id of pick) {
        const u = this.users.get(id)!;
        if (u.deleted !== 'none') { if (c.from > 0) out.push({ id, '@removed': { reason: u.deleted === 'soft' ? 'changed' : 'deleted' } }); continue; }
        let item = this.selected({ id, ...u.attrs }, c.select);
        if (c.from > 0 && c.minimal) {
          // only what changed in the window (a user created or restored in it comes whole)
          const chs = touched.get(id) ?? [];
          if (!chs.some((ch) => ch.props === 'all')) {
            const props = new Set(chs.flatMap((ch) => (Array.isArray(ch.props) ? ch.props : [])));
            item = Object.fromEntries(Object.entries(item).filter(([k]) => k === 'id' || props.has(k)));
            for (const p of props) if (!(p in item) && (!c.select || c.select.includes(p))) item[p] = null;
          }
        }
        out.push(item);
        if (this.duplicateUsers) out.push({ ...item });
      }
      return out;
    }
    const out: Array<Record<string, unknown>> = [];
    const inScope = (id: string) => !c.filter || c.filter.includes(id);
    const touched = changed('group');
    const pick = c.from === 0 ? [...this.groups.keys()] : [...touched.keys()];
    for (const id of pick.filter(inScope)) {
      const g = this.groups.get(id)!;
      if (g.deleted) { if (c.from > 0) out.push({ id, '@removed': { reason: 'deleted' } }); continue; }
      const type = (m: string) => (this.nested.has(m) ? '#microsoft.graph.group' : '#microsoft.graph.user');
      const members = c.from === 0 || !touched.get(id)!.some((ch) => ch.member)
        ? (c.from === 0 ? [...g.members].map((m) => ({ '@odata.type': type(m), id: m })) : [])
        : [...new Set(touched.get(id)!.filter((ch) => ch.member).map((ch) => ch.member!))].map((m) => (g.members.has(m)
          ? { '@odata.type': type(m), id: m }
          : { '@odata.type': type(m), id: m, '@removed': { reason: 'deleted' } }));
      // a large group comes back as several entries of the same id, each with a slice of its members
      if (!members.length) out.push({ id, displayName: g.displayName });
      for (let i = 0; i < members.length; i += this.memberSlice) out.push({ id, displayName: g.displayName, 'members@delta': members.slice(i, i + this.memberSlice) });
    }
    return out;
  }

  /** a user with only `id` and the selected properties that are set (or explicitly null) */
  private selected(user: Record<string, unknown>, select: string[] | null): Record<string, unknown> {
    if (!select) return user;
    const out: Record<string, unknown> = { id: user.id };
    for (const p of select) if (p in user) out[p] = user[p];
    return out;
  }

  private delta(res: ServerResponse, url: URL, k: Cursor['k'], minimal: boolean) {
    const skip = url.searchParams.get('$skiptoken');
    const deltaToken = url.searchParams.get('$deltatoken') ?? url.searchParams.get('$deltaToken');
    for (const bad of ['$expand', '$orderby']) {
      if (url.searchParams.has(bad)) return this.send(res, 400, { error: { code: 'Request_UnsupportedQuery', message: `${bad} is not supported with delta` } });
    }
    if ((skip || deltaToken) && (url.searchParams.has('$select') || url.searchParams.has('$filter'))) {
      return this.send(res, 400, { error: { code: 'Request_BadRequest', message: 'query options cannot be sent again with a state token' } });
    }
    let c: Cursor;
    if (skip) c = { ...unb64<Cursor>(skip), minimal };
    else if (deltaToken) {
      const t = unb64<{ k: Cursor['k']; seq: number; prev: number; filter: string[] | null; select: string[] | null }>(deltaToken);
      if (this.expiry && t.seq <= this.issuedBefore) {
        const initial = `${this.origin}/v1.0/${k}/delta${t.filter ? `?$filter=${encodeURIComponent(t.filter.map((id) => `id eq '${id}'`).join(' or '))}` : ''}`;
        if (this.expiry === '410') return this.send(res, 410, { error: { code: 'SyncStateNotFound', message: 'The sync state is gone.' } }, { location: initial });
        return this.send(res, 400, { error: { code: 'syncStateNotFound', message: 'The sync state generation is not found. The delta token is expired and data must be synchronized again.' } });
      }
      const from = this.replayOnce ? t.prev : t.seq;
      this.replayOnce = false;
      c = { k, from, upto: this.seq, offset: 0, filter: t.filter, select: t.select, minimal };
    } else {
      const f = url.searchParams.get('$filter');
      const filter = f ? [...f.matchAll(/id eq '([^']+)'/g)].map((m) => m[1]) : null;
      if (filter && filter.length > 50) return this.send(res, 400, { error: { code: 'Request_BadRequest', message: `$filter has ${filter.length} ids; at most 50 are allowed` } });
      c = { k, from: 0, upto: this.seq, offset: 0, filter, select: selectOf(url), minimal };
    }
    const base = `${this.origin}/v1.0/${k}/delta`;
    if (this.emptyPages > 0) {
      this.emptyPages--;
      return this.send(res, 200, { value: [], '@odata.nextLink': `${base}?$skiptoken=${b64(c)}` });
    }
    if (this.emptyMidRound && c.offset > 0) {
      this.emptyMidRound = false;
      return this.send(res, 200, { value: [], '@odata.nextLink': `${base}?$skiptoken=${b64(c)}` });
    }
    const all = this.items(c);
    const page = all.slice(c.offset, c.offset + this.pageSize);
    const next = c.offset + page.length < all.length
      ? { '@odata.nextLink': `${base}?$skiptoken=${b64({ ...c, offset: c.offset + page.length })}` }
      : { '@odata.deltaLink': `${base}?$deltatoken=${b64({ k, seq: c.upto, prev: c.from, filter: c.filter, select: c.select })}` };
    return this.send(res, 200, { '@odata.context': `${this.origin}/v1.0/$metadata#${k}`, value: page, ...next });
  }
}
