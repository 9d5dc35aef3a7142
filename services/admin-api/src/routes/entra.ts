/**
 * Entra directory sync of a list (Pro plan or above): connect with the tenant, app and client
 * secret, the groups to pull and when; change any of it; test the connection; start runs and read
 * them. The pull is the entra-sync service's (over the bus): it seals the client secret, which
 * never enters an event, a read model, a log line or an answer.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntraSchedule, UniqueIdentifier, streams } from '@muster/contracts';
import { DomainError, entraSyncDecider, handleCommand, listDecider, load, nextRunAt, type ListState } from '@muster/domain';
import { EntraSyncError } from '@muster/entra-sync-contract';
import { HttpError } from '@muster/http';
import { DIRECTORY_EXTENSION, isEntraSource } from '@muster/mapping-contract';
import { readModel, type EntraRunDoc } from '@muster/read-models';
import { helpers, ListParams } from '../context.ts';
import { requireWrite } from '../auth.ts';
import * as R from '../responses.ts';

const Uuid = (what: string) => z.string().uuid({ error: `${what} must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)` });
const GroupIds = z.array(Uuid('each group id')).min(1, { error: 'groupIds needs at least one group' }).max(5_000)
  .refine((ids) => new Set(ids.map((x) => x.toLowerCase())).size === ids.length, { error: 'groupIds lists a group twice' });
const Extensions = z.array(z.string().regex(DIRECTORY_EXTENSION, { error: 'extension attributes are full Graph names: extension_<app id without dashes>_<name>' })).max(100);
const Secret = z.string().min(1, { error: 'clientSecret must not be empty' }).max(1_000);
const Threshold = z.number().min(0).max(1).nullable().describe('share (0 to 1) of the active people one run may deactivate before it holds them for review; null: no guard');

const ConnectBody = z.object({
  tenantId: Uuid('tenantId'), clientId: Uuid('clientId'), clientSecret: Secret, groupIds: GroupIds, uniqueIdentifier: UniqueIdentifier.default('email'),
  schedule: EntraSchedule.default({ intervalMinutes: 40 }), extensionAttributes: Extensions.default([]), deactivationThreshold: Threshold.default(0.2),
});
const PatchBody = z.object({
  groupIds: GroupIds.optional(), clientSecret: Secret.optional(), schedule: EntraSchedule.optional(), extensionAttributes: Extensions.optional(),
  deactivationThreshold: Threshold.optional(),
}).refine((b) => Object.keys(b).length > 0, { error: 'nothing to change: give groupIds, clientSecret, schedule, extensionAttributes or deactivationThreshold' });
const RunParams = z.object({ id: z.string().min(1).max(100), runId: z.string().min(1).max(100) });

/** Entra's answers as HTTP: refused (422), unreachable or broken (502) */
function entraHttp(err: unknown): never {
  if (err instanceof EntraSyncError) {
    const status = err.code === 'authentication_failed' || err.code === 'group_not_found' ? 422 : 502;
    throw new HttpError(status, err.code, err.message, err.details);
  }
  throw err;
}

export function runView(d: EntraRunDoc) {
  return {
    runId: d._id, status: d.status, trigger: d.trigger, mode: d.mode, fullReason: d.fullReason, summary: d.summary, pages: d.pages, throttledWaits: d.throttledWaits,
    startedAt: d.startedAt, finishedAt: d.finishedAt, error: d.error, held: d.held, changesetId: d.changesetId,
  };
}

export const entraRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store, readStore } = ctx;
  const { cmd, consistent, listFor, gate, disconnectSync } = helpers(ctx);

  const view = async (list: ListState) => {
    await consistent();
    const e = list.sync?.provider === 'entra' ? list.sync.entra : undefined;
    const doc = await readStore.collection('lists').findOne({ _id: list.listId }, { projection: { sync: 1 } });
    const runs = await readModel(readStore, 'entra_runs').find({ listId: list.listId }, { sort: { startedAt: -1 }, limit: 1 });
    const sync = await load(store, streams.entraSync(list.listId), entraSyncDecider);
    return {
      connected: !!e, provider: list.sync?.provider ?? null, uniqueIdentifier: list.sync?.uniqueIdentifier ?? null,
      tenantId: e?.tenantId ?? null, clientId: e?.clientId ?? null, groupIds: e?.groupIds ?? [], extensionAttributes: e?.extensionAttributes ?? [],
      schedule: e?.schedule ?? null, deactivationThreshold: e ? e.deactivationThreshold : null,
      clientSecretSetAt: ((doc?.sync ?? null) as { secretSetAt?: string } | null)?.secretSetAt ?? null,
      lastRun: runs[0] ? runView(runs[0]) : null,
      nextRunAt: e ? nextRunAt(e.schedule, sync.state.lastStartedAt, ctx.now()) : null,
    };
  };

  api.get('/lists/:id/sync/entra', { schema: { tags: ['entra'], response: { 200: R.EntraView }, summary: "The list's Entra directory sync: tenant, app, groups, schedule, last run and next run (never the secret)", params: ListParams } }, async (req) => {
    return view(await listFor(req.principal!, req.params.id));
  });

  api.post('/lists/:id/sync/entra', {
    schema: { tags: ['entra'], response: { 201: R.EntraView }, summary: 'Connect Entra directory sync (one sync provider per list; creates the 9 default fields and Entra mappings; a schedule starts the first run at once)', params: ListParams, body: ConnectBody },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'entra');
    const { clientSecret, ...settings } = req.body;
    const connect = { type: 'ConnectEntra' as const, ...settings, knownSource: (s: string) => isEntraSource(s, settings.extensionAttributes) };
    listDecider.decide(connect, list); // 409 before the secret is kept
    try { await ctx.entra.setSecret(list.listId, clientSecret); } catch (err) { entraHttp(err); }
    const c = cmd(req, p);
    const res = await handleCommand(store, streams.list(list.listId), listDecider, connect, c);
    const secret = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'SetEntraSecret' }, { ...c, now: ctx.now() });
    let firstRun: { runId: string } | null = null;
    if (settings.schedule) firstRun = await ctx.entra.run(list.listId, 'schedule').catch(() => null);
    const ev = res.events[0];
    return reply.status(201).send({
      ...(await view(secret.state)), fieldsAdded: ev.type === 'EntraConnected' ? ev.data.fieldsAdded.map((f) => f.key) : [],
      firstRunId: firstRun?.runId ?? null, position: secret.position,
    });
  });

  api.patch('/lists/:id/sync/entra', {
    schema: { tags: ['entra'], response: { 200: R.EntraView }, summary: 'Change the groups, schedule, client secret, extension attributes or deactivation guard (a partial body; a change of groups makes the next run full)', params: ListParams, body: PatchBody },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'entra') throw new DomainError('conflict', 'Entra directory sync is not connected on this list');
    const { clientSecret, ...settings } = req.body;
    let state = list;
    let position: number | null = null;
    if (Object.keys(settings).length) {
      const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'ChangeEntraSettings', ...settings }, cmd(req, p));
      state = res.state;
      position = res.position ?? position;
    }
    if (clientSecret !== undefined) {
      try { await ctx.entra.setSecret(list.listId, clientSecret); } catch (err) { entraHttp(err); }
      const res = await handleCommand(store, streams.list(list.listId), listDecider, { type: 'SetEntraSecret' }, cmd(req, p));
      state = res.state;
      position = res.position ?? position;
    }
    return { ...(await view(state)), position };
  });

  api.delete('/lists/:id/sync/entra', { schema: { tags: ['entra'], response: { 200: R.SyncView }, summary: 'Disconnect Entra directory sync: people are kept, synced fields become editable, the secret is forgotten', params: ListParams } }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'entra') throw new DomainError('conflict', 'Entra directory sync is not connected on this list');
    const { position } = await disconnectSync(list, cmd(req, p));
    return { connected: false, peopleKept: true, position };
  });

  api.post('/lists/:id/sync/entra/test', {
    schema: { tags: ['entra'], response: { 200: R.EntraTestResult }, summary: 'Test the connection: a real token request, then each group looked up (422 authentication_failed or group_not_found, 502 graph_unreachable)', params: ListParams },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    if (list.sync?.provider !== 'entra') throw new DomainError('conflict', 'Entra directory sync is not connected on this list');
    try { return await ctx.entra.test(list.listId); } catch (err) { return entraHttp(err); }
  });

  api.post('/lists/:id/sync/entra/runs', {
    schema: { tags: ['entra'], response: { 202: R.EntraRunStarted }, summary: 'Start a run now (202); 409 with the running run\'s runId while one goes on', params: ListParams },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = await listFor(p, req.params.id);
    await gate(list, 'entra');
    if (list.sync?.provider !== 'entra') throw new DomainError('conflict', 'Entra directory sync is not connected on this list');
    const started = await ctx.entra.run(list.listId, 'manual');
    return reply.status(202).send(started);
  });

  api.get('/lists/:id/sync/entra/runs', {
    schema: { tags: ['entra'], response: { 200: R.Items(R.EntraRunView) }, summary: 'The runs of the list, newest first', params: ListParams, querystring: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent();
    const docs = await readModel(readStore, 'entra_runs').find({ listId: list.listId }, { sort: { startedAt: -1 }, limit: req.query.limit });
    return { items: docs.map(runView) };
  });

  api.get('/lists/:id/sync/entra/runs/:runId', { schema: { tags: ['entra'], response: { 200: R.EntraRunView }, summary: 'One run: status, mode, summary, pages, throttled waits, error', params: RunParams } }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent();
    const doc = await readModel(readStore, 'entra_runs').findOne({ _id: req.params.runId });
    if (!doc || doc.listId !== list.listId) throw new DomainError('not_found', 'run not found');
    return runView(doc);
  });
};
