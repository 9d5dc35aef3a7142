import { isScimTokensEvent } from '@muster/contracts';
import type { DomainEvent } from '@muster/contracts';
import type { Decider } from './decider.ts';
import { DomainError, conflict, notFound } from './errors.ts';

export interface ScimTokenInfo {
  tokenId: string;
  prefix: string;
  hash: string;
  createdAt: string;
  expiresAt: string | null;
  revoked: boolean;
  rotatedFrom?: string;
  lifetimeDays?: number | null;
  label?: string;
}

export interface TokensState {
  listId: string;
  tokens: Record<string, ScimTokenInfo>;
}

export type TokensCommand =
  | { type: 'IssueToken'; listId: string; tokenId: string; hash: string; prefix: string; expiresAt: string | null; lifetimeDays?: number | null; label?: string; scimConnected: boolean }
  | { type: 'RevokeToken'; tokenId: string }
  | { type: 'RotateToken'; tokenId: string; newTokenId: string; hash: string; prefix: string; overlapMs: number; now: Date }
  | { type: 'RevokeAll'; listId: string };

export function tokenIsUsable(t: ScimTokenInfo, now: Date): boolean {
  return !t.revoked && (t.expiresAt === null || Date.parse(t.expiresAt) > now.getTime());
}

/** the token with this id, if issued (own entries only: an id such as "constructor" names none) */
function tokenOf(s: TokensState, tokenId: string): ScimTokenInfo | undefined {
  return Object.hasOwn(s.tokens, tokenId) ? s.tokens[tokenId] : undefined;
}

export const tokensDecider: Decider<TokensCommand, TokensState> = {
  initialState: () => ({ listId: '', tokens: {} }),
  decide(cmd, s): DomainEvent[] {
    switch (cmd.type) {
      case 'IssueToken':
        if (!cmd.scimConnected) throw conflict('SCIM is not connected on this list; connect it before issuing tokens');
        return [{ type: 'ScimTokenIssued', data: { listId: cmd.listId, tokenId: cmd.tokenId, hash: cmd.hash, prefix: cmd.prefix, expiresAt: cmd.expiresAt, ...(cmd.lifetimeDays ? { lifetimeDays: cmd.lifetimeDays } : {}), ...(cmd.label ? { label: cmd.label } : {}) } }];
      case 'RevokeToken': {
        const t = tokenOf(s, cmd.tokenId);
        if (!t) throw notFound('token not found');
        if (t.revoked) return [];
        return [{ type: 'ScimTokenRevoked', data: { listId: s.listId, tokenId: cmd.tokenId, reason: 'revoked' } }];
      }
      case 'RotateToken': {
        const t = tokenOf(s, cmd.tokenId);
        if (!t) throw notFound('token not found');
        if (!tokenIsUsable(t, cmd.now)) throw conflict('only an active token can be rotated');
        const overlapEnd = new Date(cmd.now.getTime() + cmd.overlapMs).toISOString();
        const expiresAt = t.expiresAt && t.expiresAt < overlapEnd ? t.expiresAt : overlapEnd;
        return [
          // the successor keeps the rotated token's lifetime (a 30-day token rotates into a 30-day token)
          {
            type: 'ScimTokenIssued', data: {
              listId: s.listId, tokenId: cmd.newTokenId, hash: cmd.hash, prefix: cmd.prefix, rotatedFrom: cmd.tokenId,
              expiresAt: t.lifetimeDays ? new Date(cmd.now.getTime() + t.lifetimeDays * 86_400_000).toISOString() : null,
              ...(t.lifetimeDays ? { lifetimeDays: t.lifetimeDays } : {}), ...(t.label ? { label: t.label } : {}),
            },
          },
          { type: 'ScimTokenExpiryScheduled', data: { listId: s.listId, tokenId: cmd.tokenId, expiresAt } },
        ];
      }
      case 'RevokeAll':
        return Object.values(s.tokens)
          .filter((t) => !t.revoked)
          .map((t) => ({ type: 'ScimTokenRevoked' as const, data: { listId: cmd.listId, tokenId: t.tokenId, reason: 'disconnected' as const } }));
      default: {
        const never: never = cmd;
        throw new DomainError('invalid', `unknown command ${(never as { type: string }).type}`);
      }
    }
  },
  evolve(s, e): TokensState {
    if (!isScimTokensEvent(e)) return s; // an event of another stream kind changes nothing here
    switch (e.type) {
      case 'ScimTokenIssued':
        return {
          listId: e.data.listId,
          tokens: {
            ...s.tokens,
            [e.data.tokenId]: {
              tokenId: e.data.tokenId, prefix: e.data.prefix, hash: e.data.hash, createdAt: '', expiresAt: e.data.expiresAt,
              revoked: false, rotatedFrom: e.data.rotatedFrom, lifetimeDays: e.data.lifetimeDays ?? null, label: e.data.label,
            },
          },
        };
      case 'ScimTokenExpiryScheduled': {
        const t = tokenOf(s, e.data.tokenId);
        return t ? { ...s, tokens: { ...s.tokens, [t.tokenId]: { ...t, expiresAt: e.data.expiresAt } } } : s;
      }
      case 'ScimTokenRevoked': {
        // a revocation of an id that was never issued (written before tokenOf checked own entries) changes nothing
        const t = tokenOf(s, e.data.tokenId);
        return t ? { ...s, tokens: { ...s.tokens, [t.tokenId]: { ...t, revoked: true } } } : s;
      }
      default: {
        const never: never = e;
        return never;
      }
    }
  },
};
