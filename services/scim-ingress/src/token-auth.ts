import { streamPrefixes } from '@muster/contracts';
import type { EventStore } from '@muster/event-store';
import { StreamStateCache, hashToken, hashesEqual, tokenIsUsable, tokensDecider, type TokensState } from '@muster/domain';
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

  private lookup(listId: string, hash: string) {
    const state = this.cache.get(`${streamPrefixes.scimTokens}${listId}`);
    if (!state) return undefined;
    for (const t of Object.values(state.tokens)) if (typeof t.hash === 'string' && hashesEqual(t.hash, hash)) return t;
    return undefined;
  }

  /** The token's principal if it is valid for `listId`, else null (wrong list, revoked, expired, unknown). */
  async authenticate(listId: string, token: string): Promise<TokenPrincipal | null> {
    if (!token.startsWith('sct_') || token.length > 200) return null;
    const hash = hashToken(token);
    // revocation and issue take effect on the very next request: the cache is checked against the
    // token stream's last revision (one small read) before the lookup
    await this.cache.getCurrent(`${streamPrefixes.scimTokens}${listId}`);
    const t = this.lookup(listId, hash);
    if (!t || !tokenIsUsable(t, this.now())) return null;
    this.lastUsed.set(t.tokenId, this.now().getTime());
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
