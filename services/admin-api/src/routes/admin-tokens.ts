/**
 * Admin tokens and their lifecycle: list (with last use), issue (label, role, expiry), revoke,
 * rotate with an overlap. Owners only; an organisation's owner sees and manages its own tokens, the
 * install-wide owner every token. The last working install-wide owner token is not revoked without
 * `?confirm=last-owner` (after that, the next start prints a newly generated one, or takes a new
 * MUSTER_ADMIN_TOKEN): the way back is a restart, so the confirmation says so.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AdminRole, streams, toNewEvents, type DomainEvent } from '@muster/contracts';
import { DomainError, adminTokenUsable, generateToken, load, organisationDecider, type AdminTokenState } from '@muster/domain';
import { HttpError } from '@muster/http';
import { helpers } from '../context.ts';
import { DEFAULT_ORG, requireRole, type Principal } from '../auth.ts';
import * as R from '../responses.ts';

const TokenIdParams = z.object({ tokenId: z.string().min(1).max(100) });
const IssueBody = z.object({
  role: AdminRole, label: z.string().min(1).max(200).optional(),
  /** the organisation (install-wide owners only may leave it out: an install-wide token) */
  orgId: z.string().max(64).nullable().optional(),
  expiresInDays: z.number().int().min(1).max(3_650).nullable().default(null).describe('days until the token stops working; null: never'),
});

export const adminTokenRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent } = helpers(ctx);

  const mayManage = (p: Principal, t: AdminTokenState) => p.orgId === null || t.orgId === p.orgId;
  const tokenFor = (p: Principal, tokenId: string) => {
    const t = ctx.auth.tokens().find((x) => x.tokenId === tokenId);
    if (!t || !mayManage(p, t)) throw new DomainError('not_found', 'admin token not found');
    return t;
  };
  const view = async (tokens: AdminTokenState[], caller: Principal) => {
    // the read model (created, revoked, reason) as far as the log goes: a token the start just replaced shows why
    await consistent();
    const ids = tokens.map((t) => t.tokenId);
    const [docs, usage] = await Promise.all([
      readStore.collection('admin_tokens').find({ _id: { $in: ids } }),
      readStore.collection('token_usage').find({ _id: { $in: ids } }),
    ]);
    const doc = new Map(docs.map((d) => [d._id, d]));
    const used = new Map(usage.map((u) => [u._id, u.lastUsedAt]));
    const now = ctx.now();
    return tokens.map((t) => ({
      id: t.tokenId, orgId: t.orgId, role: t.role, label: t.label ?? null, prefix: t.prefix ?? null,
      createdAt: doc.get(t.tokenId)?.createdAt ?? null, expiresAt: t.expiresAt ?? null, lifetimeDays: t.lifetimeDays ?? null,
      revokedAt: doc.get(t.tokenId)?.revokedAt ?? null, revokedReason: doc.get(t.tokenId)?.revokedReason ?? null,
      active: adminTokenUsable(t, now), lastUsedAt: used.get(t.tokenId) ?? null, current: t.tokenId === caller.tokenId,
    }));
  };

  async function issue(req: FastifyRequest, p: Principal, o: { orgId: string | null; role: z.infer<typeof AdminRole>; label?: string; lifetimeDays: number | null; rotatedFrom?: string }) {
    const { token, hash, displayPrefix } = generateToken('mat_');
    const tokenId = ctx.newId();
    const now = ctx.now();
    const expiresAt = o.lifetimeDays ? new Date(now.getTime() + o.lifetimeDays * 86_400_000).toISOString() : null;
    const ev: DomainEvent = { type: 'AdminTokenIssued', data: {
      tokenId, orgId: o.orgId, role: o.role, hash, prefix: displayPrefix, ...(o.label ? { label: o.label } : {}), expiresAt, lifetimeDays: o.lifetimeDays,
      ...(o.rotatedFrom ? { rotatedFrom: o.rotatedFrom } : {}),
    } };
    const res = await store.appendToStream(streams.adminToken(tokenId), toNewEvents([ev], cmd(req, p)), { expectedRevision: 'no_stream' });
    await ctx.auth.cache.catchUp();
    return { id: tokenId, token, prefix: displayPrefix, role: o.role, orgId: o.orgId, label: o.label ?? null, expiresAt, position: res.position };
  }

  api.get('/admin-tokens', { schema: { tags: ['admin-tokens'], response: { 200: R.Items(R.AdminTokenView) }, summary: "Admin tokens (an organisation owner: its own; the install-wide owner: all), with label, expiry and last use; never the token" } }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    await ctx.auth.cache.catchUp();
    await ctx.auth.flushUsage();
    return { items: await view(ctx.auth.tokens().filter((t) => mayManage(p, t)), p) };
  });

  api.get('/organisations/:orgId/admin-tokens', { schema: { tags: ['admin-tokens'], response: { 200: R.Items(R.AdminTokenView) }, summary: "An organisation's admin tokens", params: z.object({ orgId: z.string() }) } }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    if (p.orgId !== null && p.orgId !== req.params.orgId) throw new DomainError('not_found', 'organisation not found');
    await ctx.auth.cache.catchUp();
    await ctx.auth.flushUsage();
    return { items: await view(ctx.auth.tokens().filter((t) => t.orgId === req.params.orgId), p) };
  });

  api.post('/admin-tokens', { schema: { tags: ['admin-tokens'], response: { 201: R.IssuedAdminToken }, summary: 'Issue an admin token (shown once)', body: IssueBody } }, async (req, reply) => {
    const p = requireRole(req.principal, ['owner']);
    const orgId = req.body.orgId === undefined ? p.orgId : req.body.orgId;
    if (p.orgId !== null && orgId !== p.orgId) throw new HttpError(403, 'forbidden', "an organisation's owner issues tokens of its own organisation only");
    if (orgId !== null && orgId !== DEFAULT_ORG && !(await load(store, streams.organisation(orgId), organisationDecider)).state.exists) throw new DomainError('not_found', 'organisation not found');
    return reply.status(201).send(await issue(req, p, { orgId, role: req.body.role, label: req.body.label, lifetimeDays: req.body.expiresInDays }));
  });

  api.delete('/admin-tokens/:tokenId', {
    schema: { tags: ['admin-tokens'], response: { 200: R.TokenRevoked }, summary: 'Revoke an admin token (the last working install-wide owner token only with ?confirm=last-owner)', params: TokenIdParams, querystring: z.object({ confirm: z.literal('last-owner').optional() }) },
  }, async (req) => {
    const p = requireRole(req.principal, ['owner']);
    const t = tokenFor(p, req.params.tokenId);
    if (t.revoked) return { id: t.tokenId, revoked: true, changed: false };
    const now = ctx.now();
    const owners = ctx.auth.tokens().filter((x) => x.orgId === null && x.role === 'owner' && adminTokenUsable(x, now));
    if (t.orgId === null && t.role === 'owner' && owners.length === 1 && owners[0].tokenId === t.tokenId && req.query.confirm !== 'last-owner') {
      throw new HttpError(409, 'last_owner_token', 'this is the last working install-wide owner token: without it nobody can administer the install until a restart (which prints a newly generated token, or takes a new MUSTER_ADMIN_TOKEN); repeat with ?confirm=last-owner to revoke it anyway', { tokenId: t.tokenId });
    }
    const res = await store.appendToStream(streams.adminToken(t.tokenId), toNewEvents([{ type: 'AdminTokenRevoked', data: { tokenId: t.tokenId, reason: 'revoked' } }], cmd(req, p)), { expectedRevision: 'any' });
    await ctx.auth.cache.catchUp();
    return { id: t.tokenId, revoked: true, changed: true, position: res.position };
  });

  api.post('/admin-tokens/:tokenId/rotate', {
    schema: {
      tags: ['admin-tokens'], response: { 201: R.IssuedAdminToken }, summary: 'Rotate: a new token (same role, organisation, label and lifetime), the old one working until the overlap ends (shown once)',
      params: TokenIdParams, body: z.object({ overlapHours: z.number().min(0).max(720).default(24) }).default({ overlapHours: 24 }),
    },
  }, async (req, reply) => {
    const p = requireRole(req.principal, ['owner']);
    const t = tokenFor(p, req.params.tokenId);
    const now = ctx.now();
    if (!adminTokenUsable(t, now)) throw new DomainError('conflict', 'only a working token can be rotated');
    const fresh = await issue(req, p, { orgId: t.orgId, role: t.role, label: t.label, lifetimeDays: t.lifetimeDays ?? null, rotatedFrom: t.tokenId });
    const overlapEnd = new Date(now.getTime() + (req.body?.overlapHours ?? 24) * 3_600_000).toISOString();
    const expiresAt = t.expiresAt && t.expiresAt < overlapEnd ? t.expiresAt : overlapEnd;
    await store.appendToStream(streams.adminToken(t.tokenId), toNewEvents([{ type: 'AdminTokenExpiryScheduled', data: { tokenId: t.tokenId, expiresAt } }], cmd(req, p)), { expectedRevision: 'any' });
    await ctx.auth.cache.catchUp();
    return reply.status(201).send({ ...fresh, rotatedFrom: t.tokenId, previousExpiresAt: expiresAt });
  });
};
