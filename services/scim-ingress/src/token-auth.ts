import { timingSafeEqual } from 'node:crypto';
import { streamPrefixes } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { StreamStateCache, hashTokenBytes, tokenIsUsable, tokensDecider, type ScimTokenInfo, type TokensState } from '@muster/domain';
import type { ReadStore } from '@muster/read-store';

export interface TokenPrincipal { tokenId: string; listId: string }

/**
 * SCIM bearer tokens: per list, stored as SHA-256 hashes (scimtokens-* streams), compared in
 * constant time, and valid only on their own list's base URL.
 */
export class ScimTokenAuth {
  private readonly cache: StreamStateCache<TokensState>;
  /** hash -> (listId, tokenId); rebuilt lazily from the cache */
  private lastUsed = new Map<string, number>();
  /** listId → its tokens stream id (built once: a string looked up on every request keeps its hash) */
  private readonly streamIds = new Map<string, string>();
  /** a list's token state → its tokens with their stored hashes as bytes (states are immutable: a new event, a new state) */
  private readonly decoded = new WeakMap<TokensState, Array<{ hash: Buffer; token: ScimTokenInfo }>>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(store: EventStore, private readonly readStore: ReadStore, private readonly now: () => Date) {
    this.cache = new StreamStateCache(store, streamPrefixes.scimTokens, tokensDecider.evolve, tokensDecider.initialState);
  }

  async start(): Promise<void> {
    this.cache.start();
    await this.cache.catchUp(30_000);
    // best effort: a read store that is down must not become an unhandled rejection (a crash)
    this.flushTimer = setInterval(() => { this.flushUsage().catch(() => {}); }, 5_000);
    this.flushTimer.unref();
  }

  private streamOf(listId: string): string {
    let id = this.streamIds.get(listId);
    if (id === undefined) {
      if (this.streamIds.size > 10_000) this.streamIds.clear();
      id = `${streamPrefixes.scimTokens}${listId}`;
      this.streamIds.set(listId, id);
    }
    return id;
  }

  /** the token whose stored hash equals `presented` (32 bytes), each comparison in constant time */
  private lookup(stream: string, presented: Buffer) {
    const state = this.cache.get(stream);
    if (!state) return undefined;
    let tokens = this.decoded.get(state);
    if (!tokens) {
      tokens = Object.values(state.tokens).filter((t) => typeof t.hash === 'string' && /^[0-9a-f]{64}$/i.test(t.hash))
        .map((t) => ({ hash: Buffer.from(t.hash, 'hex'), token: t }));
      this.decoded.set(state, tokens);
    }
    for (const t of tokens) if (timingSafeEqual(t.hash, presented)) return t.token;
    return undefined;
  }

  /** The token's principal if it is valid for `listId`, else null (wrong list, revoked, expired, unknown). */
  async authenticate(listId: string, token: string): Promise<TokenPrincipal | null> {
    if (!wellFormed(token)) return null;
    const presented = hashTokenBytes(token);
    const stream = this.streamOf(listId);
    // revocation and issue take effect on the very next request: the cache is checked against the
    // token stream's last revision (one small read) before the lookup
    await this.cache.getCurrent(stream);
    return this.principal(listId, stream, presented);
  }

  /**
   * authenticate() without waiting, for the fast path (fast-path.ts): the same answer when the
   * token cache is known to be current for the list (embedded store), else undefined.
   */
  authenticateNow(listId: string, token: string): TokenPrincipal | null | undefined {
    if (!wellFormed(token)) return null;
    const stream = this.streamOf(listId);
    if (!this.cache.isCurrentNow(stream)) return undefined;
    return this.principal(listId, stream, hashTokenBytes(token));
  }

  private principal(listId: string, stream: string, presented: Buffer): TokenPrincipal | null {
    const t = this.lookup(stream, presented);
    const now = this.now();
    if (!t || !tokenIsUsable(t, now)) return null;
    this.lastUsed.set(t.tokenId, now.getTime());
    return { tokenId: t.tokenId, listId };
  }

  /** "last used" is operational data, not an event: written to its own collection, at most every few seconds. */
  async flushUsage(): Promise<void> {
    if (!this.lastUsed.size) return;
    const batch = [...this.lastUsed];
    this.lastUsed.clear();
    const coll = this.readStore.collection('token_usage');
    for (let i = 0; i < batch.length; i++) {
      const [tokenId, at] = batch[i];
      try {
        await coll.updateOne({ _id: tokenId }, { $max: { lastUsedAt: new Date(at).toISOString() } }, { upsert: true });
      } catch (err) {
        // keep what was not written for the next flush (unless a newer use replaced it), give up for now
        for (const [id, t] of batch.slice(i)) if (!this.lastUsed.has(id)) this.lastUsed.set(id, t);
        throw err;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushUsage().catch(() => {});
    await this.cache.stop();
  }
}

const wellFormed = (token: string) => token.startsWith('sct_') && token.length <= 200;

