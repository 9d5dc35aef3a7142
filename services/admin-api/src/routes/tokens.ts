/** A list's SCIM bearer tokens: issue (shown once), list, revoke, rotate. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streams } from '@muster/contracts';
import { generateToken, handleCommand, tokensDecider } from '@muster/domain';
import { After, ErrorResponse, helpers, ListParams, scimBaseUrl, TokenParams } from '../context.ts';
import { requireWrite } from '../auth.ts';

export const tokenRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, gate } = helpers(ctx);

  // Response schemas here are also a guard: serialisation keeps only these keys, so a listing can never carry a token or hash.
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
  const TokenItem = z.object({
    id: z.string(), prefix: z.string().describe('first characters of the token, e.g. sct_a1b2'), label: z.string().nullable().describe('which identity provider holds it'), createdAt: z.string(), lastUsedAt: z.string().nullable(),
    expiresAt: z.string().nullable(), revokedAt: z.string().nullable(), rotatedFrom: z.string().nullable(), status: z.enum(['active', 'expired', 'revoked']),
  });
  const IssuedToken = z.object({
    id: z.string(), token: z.string().describe('the bearer token: sct_ + 256 random bits; shown once, only its hash is stored'), prefix: z.string(),
    scimBaseUrl: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), label: z.string().nullable().optional(), position: z.number().nullable(),
  });
  const tokenStatus = (t: Record<string, unknown>, now: Date) =>
    (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(String(t.expiresAt)) <= now.getTime() ? 'expired' : 'active') as 'active' | 'expired' | 'revoked';
  api.get('/lists/:id/sync/scim/tokens', { schema: { tags: ['tokens'], summary: 'SCIM tokens of a list (prefix, created, last used, expiry; never the token)', params: ListParams, querystring: z.object({ after: After }), response: { 200: z.object({ items: z.array(TokenItem) }), ...errors } } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readStore.collection('tokens').find({ listId: list.listId }, { sort: { createdAt: 1, _id: 1 } });
    const usage = await readStore.collection('token_usage').find({ _id: { $in: docs.map((d) => d._id) } });
    const used = new Map(usage.map((u) => [u._id, u.lastUsedAt as string]));
    const now = ctx.now();
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      items: docs.map((d) => ({
        id: d._id, prefix: String(d.prefix), label: str(d.label), createdAt: String(d.createdAt), lastUsedAt: used.get(d._id) ?? null, expiresAt: str(d.expiresAt),
        revokedAt: str(d.revokedAt), rotatedFrom: str(d.rotatedFrom), status: tokenStatus(d, now),
      })),
    };
  });
  api.post('/lists/:id/sync/scim/tokens', {
    schema: { tags: ['tokens'], summary: 'Issue a SCIM bearer token (shown once, stored as a hash)', params: ListParams, body: z.object({
      expiresInDays: z.number().int().min(1).max(3650).optional().describe('the token stops working after this many days (default: never)'),
      label: z.string().min(1).max(200).optional().describe('which identity provider holds it, e.g. "Okta production"'),
    }).nullish(),
      response: { 201: IssuedToken, ...errors } },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim');
    const { token, hash, displayPrefix } = generateToken('sct_');
    const tokenId = ctx.newId();
    const now = ctx.now();
    const expiresAt = req.body?.expiresInDays ? new Date(now.getTime() + req.body.expiresInDays * 86_400_000).toISOString() : null;
    const res = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, {
      type: 'IssueToken', listId: list.listId, tokenId, hash, prefix: displayPrefix, expiresAt, lifetimeDays: req.body?.expiresInDays ?? null, label: req.body?.label, scimConnected: list.sync?.provider === 'scim',
    }, cmd(req, p, now));
    return reply.status(201).send({ id: tokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt, label: req.body?.label ?? null, position: res.position });
  });
  api.delete('/lists/:id/sync/scim/tokens/:tokenId', { schema: { tags: ['tokens'], summary: 'Revoke a SCIM token (the next request with it is 401)', params: TokenParams, response: { 204: z.null().describe('revoked'), ...errors } } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, { type: 'RevokeToken', tokenId: req.params.tokenId }, cmd(req, p));
    return reply.status(204).send(null);
  });
  api.post('/lists/:id/sync/scim/tokens/:tokenId/rotate', {
    schema: { tags: ['tokens'], summary: 'Rotate a SCIM token: new token now, the old one works for the overlap window', params: TokenParams, body: z.object({ overlapHours: z.number().min(0).max(24 * 30).default(24).describe('how long the old token keeps working (default 24 h)') }).nullish(),
      response: { 201: IssuedToken.extend({ previous: z.object({ id: z.string(), expiresAt: z.string().nullable().describe('end of the overlap window') }) }), ...errors } },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'scim'); // a rotation is an issue: the plan must allow SCIM
    const { token, hash, displayPrefix } = generateToken('sct_');
    const newTokenId = ctx.newId();
    const now = ctx.now();
    const res = await handleCommand(store, streams.scimTokens(list.listId), tokensDecider, {
      type: 'RotateToken', tokenId: req.params.tokenId, newTokenId, hash, prefix: displayPrefix, overlapMs: Math.round((req.body?.overlapHours ?? 24) * 3_600_000), now,
    }, cmd(req, p, now));
    const old = res.state.tokens[req.params.tokenId]; // the decider found it (own entry) or threw 404
    return reply.status(201).send({
      id: newTokenId, token, prefix: displayPrefix, scimBaseUrl: scimBaseUrl(ctx, list.listId), createdAt: now.toISOString(), expiresAt: res.state.tokens[newTokenId]?.expiresAt ?? null,
      previous: { id: req.params.tokenId, expiresAt: old.expiresAt }, position: res.position,
    });
  });
};
