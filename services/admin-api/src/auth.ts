import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AdminRole } from '@muster/contracts';
import { streamPrefixes, streams, toNewEvents } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { StreamStateCache, adminTokenEvolve, adminTokenUsable, generateToken, hashToken, hashesEqual, type AdminTokenState } from '@muster/domain';
import type { ReadStore } from '@muster/read-store';
import { AuthFailureLimiter, HttpError, bearerToken } from '@muster/http';

export interface Principal {
  tokenId: string;
  /** null for the install-wide (bootstrap) admin, who may act on every organisation */
  orgId: string | null;
  role: AdminRole;
}

declare module 'fastify' {
  interface FastifyRequest { principal?: Principal }
}

export const DEFAULT_ORG = 'default';

/** Admin bearer tokens: event-sourced (admintoken-*), stored as SHA-256 hashes, compared in constant time. */
/**
 * Characters of an operator-chosen MUSTER_ADMIN_TOKEN kept as its display prefix. Fewer than the
 * 8 of generated tokens: the prefix is in the event log (auditors export it) next to the token's
 * SHA-256, and an operator's token may be far shorter than a generated one.
 */
const ENV_TOKEN_PREFIX = 4;
/** below this length an operator-chosen admin token draws a warning at start (generated ones have 43+) */
export const ADMIN_TOKEN_MIN_LENGTH = 32;

/**
 * The warning for an operator-chosen admin token that is short enough to be guessed from what the
 * event log keeps of it (its SHA-256 and first characters, which auditors can export); null when
 * it is long enough or none was set.
 */
export function weakAdminTokenWarning(envToken: string | undefined): string | null {
  if (!envToken || envToken.length >= ADMIN_TOKEN_MIN_LENGTH) return null;
  return `MUSTER_ADMIN_TOKEN has ${envToken.length} characters. The event log keeps its SHA-256 and first ${ENV_TOKEN_PREFIX} characters, `
    + `and auditors can export both, so a short or guessable token can be recovered from them: use ${ADMIN_TOKEN_MIN_LENGTH} or more random characters `
    + '(e.g. `openssl rand -hex 24`), or leave it unset to have one generated.';
}

/** how often an admin token's "last used" time is written (at most once a minute per token) */
export const USAGE_FLUSH_MS = 60_000;

export class AdminAuth {
  readonly cache: StreamStateCache<AdminTokenState>;
  /** last use per token since the last flush (operational data, not events) */
  private readonly lastUsed = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | null = null;

  /** failed authentications per client address (brute force) */
  readonly failures: AuthFailureLimiter;

  constructor(private readonly store: EventStore, private readonly readStore?: ReadStore, private readonly now: () => Date = () => new Date(), failuresPerMinute = 30) {
    this.failures = new AuthFailureLimiter(failuresPerMinute, () => this.now().getTime());
    this.cache = new StreamStateCache(store, streamPrefixes.adminToken, adminTokenEvolve, () => ({ exists: false, tokenId: '', orgId: null, role: 'viewer', hash: '', revoked: false }));
  }

  start() {
    this.cache.start();
    if (this.readStore) { this.flushTimer = setInterval(() => { void this.flushUsage().catch(() => {}); }, USAGE_FLUSH_MS); this.flushTimer.unref?.(); }
    return this.cache.catchUp(30_000);
  }
  async stop() {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushUsage().catch(() => {});
    await this.cache.stop();
  }

  /** writes the uses since the last flush to token_usage (the read store the token lists read) */
  async flushUsage(): Promise<void> {
    if (!this.readStore || !this.lastUsed.size) return;
    const batch = [...this.lastUsed];
    this.lastUsed.clear();
    const coll = this.readStore.collection('token_usage');
    for (const [tokenId, at] of batch) await coll.updateOne({ _id: tokenId }, { $max: { lastUsedAt: new Date(at).toISOString() } }, { upsert: true });
  }

  /** every token as this process knows it (the command side's view: current) */
  tokens(): AdminTokenState[] {
    return [...this.cache.all()].map(([, s]) => s).filter((s) => s.exists);
  }

  private find(hash: string): AdminTokenState | undefined {
    let hit: AdminTokenState | undefined;
    for (const [, s] of this.cache.all()) if (s.exists && hashesEqual(s.hash, hash)) hit = s;
    return hit;
  }

  async authenticate(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    let s = this.find(hash);
    if (!s) { await this.cache.catchUp(); s = this.find(hash); }
    if (!s || !adminTokenUsable(s, this.now())) return null;
    this.lastUsed.set(s.tokenId, this.now().getTime());
    return { tokenId: s.tokenId, orgId: s.orgId, role: s.role };
  }

  /**
   * First start: make sure the bootstrap admin token exists. With MUSTER_ADMIN_TOKEN set, its hash is
   * recorded (once); without it, a token is generated and returned so the caller prints it once.
   */
  async bootstrap(envToken: string | undefined, now: Date): Promise<{ generated?: string }> {
    await this.cache.catchUp(30_000);
    const ctx = { actor: { kind: 'system' as const, id: 'bootstrap' }, source: { kind: 'system' as const }, correlationId: randomUUID(), now, newId: randomUUID };
    if (envToken) {
      const hash = hashToken(envToken);
      if (this.find(hash)) return {};
      const tokenId = `bootstrap-${hash.slice(0, 16)}`;
      await this.store.appendToStream(streams.adminToken(tokenId), toNewEvents([{ type: 'AdminTokenIssued', data: { tokenId, orgId: null, role: 'owner', hash, prefix: envToken.slice(0, ENV_TOKEN_PREFIX), label: 'MUSTER_ADMIN_TOKEN' } }], ctx), { expectedRevision: 'any' });
      // a new value replaces the previous environment token (it does not add one more owner)
      for (const s of this.tokens()) {
        if (s.tokenId !== tokenId && s.tokenId.startsWith('bootstrap-') && !s.revoked) {
          await this.store.appendToStream(streams.adminToken(s.tokenId), toNewEvents([{ type: 'AdminTokenRevoked', data: { tokenId: s.tokenId, reason: 'replaced' } }], ctx), { expectedRevision: 'any' });
        }
      }
      await this.cache.catchUp();
      return {};
    }
    for (const [, s] of this.cache.all()) if (s.orgId === null && adminTokenUsable(s, now)) return {};
    const { token, hash, displayPrefix } = generateToken('mat_');
    const tokenId = 'bootstrap';
    await this.store.appendToStream(streams.adminToken(tokenId), toNewEvents([{ type: 'AdminTokenIssued', data: { tokenId, orgId: null, role: 'owner', hash, prefix: displayPrefix, label: 'generated at first start' } }], ctx), { expectedRevision: 'no_stream' });
    await this.cache.catchUp();
    return { generated: token };
  }

  /**
   * Whether an Authorization header carries an install-wide admin token (any role): an operator, who
   * may read the runtime's internals (/healthz details, /readyz reasons, /metrics). Failures count
   * towards the address's limit like any failed authentication.
   */
  async isOperator(ip: string, authorization: unknown): Promise<boolean> {
    if (this.failures.retryAfter(ip) > 0) return false;
    const token = bearerToken(authorization);
    if (token === null) return false;
    const p = await this.authenticate(token);
    if (!p) { this.failures.failed(ip); return false; }
    return p.orgId === null;
  }

  /** Fastify preHandler: 401 JSON error unless a valid admin bearer token is presented. */
  hook = async (req: FastifyRequest, reply: FastifyReply) => {
    const wait = this.failures.retryAfter(req.ip);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new HttpError(429, 'too_many_failed_attempts', `too many failed authentications from this address; try again in ${wait} s`);
    }
    const token = bearerToken(req.headers.authorization);
    if (token === null) { this.failures.failed(req.ip); throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <admin token>)'); }
    const p = await this.authenticate(token);
    if (!p) { this.failures.failed(req.ip); throw new HttpError(401, 'unauthorized', 'invalid, revoked or expired admin token'); }
    req.principal = p;
  };
}

const WRITE_ROLES: AdminRole[] = ['owner', 'admin'];
export function requireWrite(p: Principal | undefined): Principal {
  if (!p) throw new HttpError(401, 'unauthorized', 'not authenticated');
  if (!WRITE_ROLES.includes(p.role)) throw new HttpError(403, 'forbidden', `the ${p.role} role is read-only`);
  return p;
}
export function requireRole(p: Principal | undefined, roles: AdminRole[]): Principal {
  if (!p) throw new HttpError(401, 'unauthorized', 'not authenticated');
  if (!roles.includes(p.role)) throw new HttpError(403, 'forbidden', `this action needs one of the roles: ${roles.join(', ')}`);
  return p;
}
