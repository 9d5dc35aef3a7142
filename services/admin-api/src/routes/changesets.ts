/**
 * Changesets: review a batch of changes field by field (base, roster, incoming), decide each
 * change, apply the approved ones, roll an applied changeset back. Reads come from the changeset's
 * stream (exact, paged); the list of a list's changesets from the changesets read model.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ChangesetStatus, FieldChoice, streams } from '@muster/contracts';
import {
  DomainError, changesetDecider, commandHandlerFor, summarise, toRevert,
  type ChangesetState,
} from '@muster/domain';
import { readModel } from '@muster/read-models';
import { After, helpers, ListParams } from '../context.ts';
import { requireWrite, type Principal } from '../auth.ts';
import { readRoster } from '../changesets/roster.ts';
import { startApply } from '../changesets/apply.ts';
import { PerStream } from '../changesets/serial.ts';
import { decodeCursor, nextCursor } from '../roster-query.ts';
import * as R from '../responses.ts';

const ChangesetParams = z.object({ cid: z.string().min(1).max(100) });

export const changesetRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const handler = commandHandlerFor(ctx.store);
  const { cmd, consistent, listFor, inList } = helpers(ctx);
  const inTurn = new PerStream();

  const changesetFor = (p: Principal, changesetId: string) => inList(p, streams.changeset(changesetId), changesetDecider, 'changeset not found');

  /** the changeset as the API shows it: its summary and one page of its changes */
  const view = (s: ChangesetState, page: { offset: number; limit: number; decision?: string; conflicts?: boolean } = { offset: 0, limit: 100 }) => {
    let changes = s.changes;
    if (page.decision) changes = changes.filter((c) => c.decision === page.decision);
    if (page.conflicts !== undefined) changes = changes.filter((c) => c.fields.some((f) => f.conflict) === page.conflicts);
    const items = changes.skip(page.offset).take(page.limit).toArray();
    const { status, counts, progress } = summarise(s);
    return {
      id: s.changesetId, listId: s.listId, origin: s.origin, status, progress, basePosition: s.basePosition, reviewedPosition: s.reviewedPosition, counts,
      changes: items.map((c) => ({
        id: c.id, personId: c.personId, kind: c.kind, decision: c.decision, applied: c.applied, reverted: c.reverted,
        masterRevision: c.masterRevision, fields: c.fields, status: c.status,
      })),
      total: changes.size, nextCursor: nextCursor(page.offset, items.length, changes.size),
    };
  };

  api.get('/lists/:id/changesets', {
    schema: { tags: ['changesets'], response: { 200: R.Items(R.ChangesetView) }, summary: "The list's changesets, newest first (counts without their changes)", params: ListParams, querystring: z.object({ status: ChangesetStatus.optional(), after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const filter: Record<string, unknown> = { listId: list.listId };
    if (req.query.status) filter.status = req.query.status;
    const docs = await readModel(ctx.readStore, 'changesets').find(filter, { sort: { createdAt: -1, _id: 1 } });
    return { items: docs.map(({ _id, lastPosition: _l, ...rest }) => ({ id: _id, ...rest })) };
  });

  api.get('/changesets/:cid', {
    schema: {
      tags: ['changesets'], response: { 200: R.ChangesetView }, summary: 'A changeset: status, progress, counts, and its changes field by field (base, master, proposed, conflict, locked, choice), paged',
      params: ChangesetParams,
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(200).optional(),
        decision: z.enum(['pending', 'approved', 'rejected']).optional(), conflicts: z.enum(['true', 'false']).optional().describe('only changes with (true) or without (false) a conflicting field'),
      }),
    },
  }, async (req) => {
    const { s } = await changesetFor(req.principal!, req.params.cid);
    return view(s, { offset: decodeCursor(req.query.cursor), limit: req.query.limit, decision: req.query.decision, conflicts: req.query.conflicts === undefined ? undefined : req.query.conflicts === 'true' });
  });

  const DecisionsBody = z.union([
    z.object({
      changes: z.array(z.object({
        changeId: z.string().min(1).max(20), decision: z.enum(['approve', 'reject']),
        fields: z.record(z.string(), FieldChoice).optional().describe('a choice per field: the incoming value (proposed), the roster value (master) or leave it (skip)'),
      })).min(1).max(10_000),
    }).strict(),
    z.object({ all: z.enum(['approve', 'reject']) }).strict(),
  ]);
  api.post('/changesets/:cid/decisions', {
    schema: { tags: ['changesets'], response: { 200: R.ChangesetView }, summary: 'Approve or reject changes, choosing per conflicting field; or all at once (conflicts without a choice stay pending)', params: ChangesetParams, body: DecisionsBody },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const { s } = await changesetFor(p, req.params.cid);
    const command = 'all' in req.body ? { type: 'DecideAll' as const, decision: req.body.all } : { type: 'DecideChanges' as const, decisions: req.body.changes };
    // concurrent deciders: each decision is decided again on the stream as it is (no decision is lost)
    const stream = streams.changeset(s.changesetId);
    const res = await inTurn.run(stream, () => handler.handle(stream, changesetDecider, command, cmd(req, p)));
    return { ...summarise(res.snapshot.state), position: res.position };
  });

  /** answer with the changeset once its run ended (200), or while it goes on (202) */
  const answerRun = async (reply: FastifyReply, changesetId: string, running: Promise<void>) => {
    await Promise.race([running, new Promise((r) => setTimeout(r, ctx.changesetWaitMs).unref())]);
    const snap = await handler.load(streams.changeset(changesetId), changesetDecider);
    const s = snap!.state;
    const busy = s.status === 'applying' || s.status === 'rolling_back';
    // every event of a finished run is at or before the head: a read with ?after=position sees it
    return reply.status(busy ? 202 : 200).send({ ...view(s), position: await ctx.store.headPosition() });
  };

  api.post('/changesets/:cid/apply', {
    schema: { tags: ['changesets'], response: { 200: R.ChangesetView, 202: R.ChangesetView }, summary: 'Apply the approved changes (409 naming what is undecided or in conflict; 202 while a large apply goes on)', params: ChangesetParams },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const { s, list } = await changesetFor(p, req.params.cid);
    const { run } = await startApply(ctx, s.changesetId, list, cmd(req, p));
    return answerRun(reply, s.changesetId, run);
  });

  api.post('/changesets/:cid/rollback', {
    schema: {
      tags: ['changesets'], response: { 200: R.ChangesetView, 202: R.ChangesetView }, summary: 'Put back every field the changeset changed, as new events (409 naming fields changed since unless forced; 202 while it goes on)',
      params: ChangesetParams,
      body: z.object({ force: z.array(z.string().max(200)).max(10_000).default([]).describe('`personId.field` names changed since that are restored anyway') }).nullish(),
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const { s, list } = await changesetFor(p, req.params.cid);
    await handler.handle(streams.changeset(s.changesetId), changesetDecider, async (cur) => {
      const state = cur?.state ?? s;
      const roster = await readRoster(ctx, list, toRevert(state).map((c) => c.personId));
      return { type: 'RollbackChangeset' as const, roster, force: req.body?.force ?? [] };
    }, cmd(req, p));
    return answerRun(reply, s.changesetId, ctx.changesets.run(s.changesetId));
  });

  api.post('/changesets/:cid/discard', {
    schema: { tags: ['changesets'], response: { 200: R.ChangesetView }, summary: 'Discard an open changeset (nothing on the roster changes)', params: ChangesetParams },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const { s } = await changesetFor(p, req.params.cid);
    const res = await handler.handle(streams.changeset(s.changesetId), changesetDecider, { type: 'DiscardChangeset' }, cmd(req, p));
    return { ...summarise(res.snapshot.state), position: res.position };
  });
};
