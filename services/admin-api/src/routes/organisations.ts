/** Organisations, their plans and their admin tokens (install-wide admin for changes). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AdminRole, Plan, streams, toNewEvents, type DomainEvent } from '@muster/contracts';
import { DomainError, FEATURE_PLAN, generateToken, handleCommand, load, organisationDecider, planAllows } from '@muster/domain';
import { HttpError } from '@muster/http';
import { After, helpers } from '../context.ts';
import { DEFAULT_ORG, requireRole, requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

export const organisationRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent } = helpers(ctx);

  const OrgBody = z.object({ name: z.string().min(1).max(200), plan: Plan.default('enterprise'), id: z.string().regex(/^[a-z0-9-]{1,64}$/).optional() });
  api.post('/organisations', { schema: { tags: ['organisations'], response: { 201: R.OrganisationView }, summary: 'Create an organisation (install-wide admin only)', body: OrgBody } }, async (req, reply) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can create organisations');
    const orgId = req.body.id ?? ctx.newId();
    const res = await handleCommand(store, streams.organisation(orgId), organisationDecider, { type: 'CreateOrganisation', orgId, name: req.body.name, plan: req.body.plan }, cmd(req, p));
    return reply.status(201).send({ id: orgId, name: req.body.name, plan: req.body.plan, position: res.position });
  });
  api.get('/organisations', { schema: { tags: ['organisations'], response: { 200: R.Items(R.OrganisationView) }, summary: 'Organisations this token can see (all of them for the install-wide admin)', querystring: z.object({ after: After }) } }, async (req) => {
    const p = req.principal!;
    await consistent(req.query.after);
    const docs = await readStore.collection('organisations').find(p.orgId === null ? {} : { _id: p.orgId }, { sort: { createdAt: 1, _id: 1 } });
    const items: Array<Record<string, unknown>> = docs.map(({ _id, lastPosition, ...rest }) => ({ id: _id, ...rest }));
    // the default organisation of a self-hosted install has no stream: enterprise plan
    if ((p.orgId === null || p.orgId === DEFAULT_ORG) && !items.some((o) => o.id === DEFAULT_ORG)) items.unshift({ id: DEFAULT_ORG, name: 'Default', plan: 'enterprise' });
    return { items };
  });
  api.get('/organisations/:orgId', { schema: { tags: ['organisations'], response: { 200: R.OrganisationView }, summary: 'An organisation, its plan and what the plan unlocks', params: z.object({ orgId: z.string() }) } }, async (req) => {
    const p = req.principal!;
    if (p.orgId !== null && p.orgId !== req.params.orgId) throw new DomainError('not_found', 'organisation not found');
    const { state } = await load(store, streams.organisation(req.params.orgId), organisationDecider);
    if (!state.exists && req.params.orgId !== DEFAULT_ORG) throw new DomainError('not_found', 'organisation not found');
    const org = state.exists ? { id: state.orgId, name: state.name, plan: state.plan } : { id: DEFAULT_ORG, name: 'Default', plan: 'enterprise' as const };
    // what the plan unlocks (seeds: SCIM needs Business or above, Entra directory sync Pro or above)
    const features = Object.fromEntries((Object.keys(FEATURE_PLAN) as Array<keyof typeof FEATURE_PLAN>).map((f) => [f, { allowed: planAllows(org.plan, f), requiredPlan: FEATURE_PLAN[f] }]));
    return { ...org, features };
  });
  api.patch('/organisations/:orgId', { schema: { tags: ['organisations'], response: { 200: R.OrganisationView }, summary: "Change an organisation's plan (install-wide admin only)", params: z.object({ orgId: z.string() }), body: z.object({ plan: Plan }) } }, async (req) => {
    const p = requireWrite(req.principal);
    if (p.orgId !== null) throw new HttpError(403, 'forbidden', 'only the install-wide admin can change plans');
    const res = await handleCommand(store, streams.organisation(req.params.orgId), organisationDecider, { type: 'ChangePlan', plan: req.body.plan }, cmd(req, p));
    return { id: req.params.orgId, plan: res.state.plan, position: res.position };
  });
  api.post('/organisations/:orgId/admin-tokens', {
    schema: { tags: ['organisations'], response: { 201: R.IssuedAdminToken }, summary: 'Issue an admin token for an organisation (shown once)', params: z.object({ orgId: z.string() }), body: z.object({ role: AdminRole, label: z.string().max(200).optional() }) },
  }, async (req, reply) => {
    const p = requireRole(req.principal, ['owner']);
    if (p.orgId !== null && p.orgId !== req.params.orgId) throw new DomainError('not_found', 'organisation not found');
    const org = await load(store, streams.organisation(req.params.orgId), organisationDecider);
    if (!org.state.exists && req.params.orgId !== DEFAULT_ORG) throw new DomainError('not_found', 'organisation not found');
    const { token, hash, displayPrefix } = generateToken('mat_');
    const tokenId = ctx.newId();
    const ev: DomainEvent = { type: 'AdminTokenIssued', data: { tokenId, orgId: req.params.orgId, role: req.body.role, hash, prefix: displayPrefix, label: req.body.label } };
    const res = await store.appendToStream(streams.adminToken(tokenId), toNewEvents([ev], cmd(req, p)), { expectedRevision: 'no_stream' });
    return reply.status(201).send({ id: tokenId, token, prefix: displayPrefix, role: req.body.role, orgId: req.params.orgId, position: res.position });
  });
};
