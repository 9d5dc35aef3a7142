/**
 * Sessions: a snapshot of part of a list to work on outside the roster (a photo day, a print run, a
 * clean-up). Edits change the session's copy; a push turns them into a changeset for review.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { streams, type ProposedChange, type SnapshotPerson } from '@muster/contracts';
import {
  DomainError, changeIdAt, changesetDecider, commandHandlerFor, reviewPerson, sessionDecider,
} from '@muster/domain';
import { readModel } from '@muster/read-models';
import { After, helpers, ListParams } from '../context.ts';
import { requireWrite, type Principal } from '../auth.ts';
import { validateFieldValues } from '../fields.ts';
import { decodeCursor, FILTER_PARAM, nextCursor, RosterQuery, rosterFilter, rosterSort } from '../roster-query.ts';
import { readRoster } from '../changesets/roster.ts';
import { PerStream } from '../changesets/serial.ts';
import * as R from '../responses.ts';

/** the most people one session may hold (narrow the filter beyond it) */
export const MAX_SESSION_PEOPLE = 50_000;

const SessionParams = z.object({ sid: z.string().min(1).max(100) });
const SessionPersonParams = z.object({ sid: z.string().min(1).max(100), personId: z.string().min(1).max(100) });

export const sessionRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const { store } = ctx;
  const handler = commandHandlerFor(store);
  const { cmd, consistent, projectedToHead, listFor, inList, writable } = helpers(ctx);
  const inTurn = new PerStream();

  const sessionFor = (p: Principal, sessionId: string) => inList(p, streams.session(sessionId), sessionDecider, 'session not found');

  const sessionView = (doc: Record<string, unknown>) => {
    const { _id, lastPosition: _l, ...rest } = doc;
    return { id: _id, ...rest };
  };

  api.post('/lists/:id/sessions', {
    schema: {
      tags: ['sessions'], response: { 201: R.SessionView }, summary: "Take a session: a snapshot of the list's people the filter chooses (people query parameters: status, q, eq.<field>, contains.<field>)",
      params: ListParams,
      body: z.object({ name: z.string().trim().min(1).max(200), filter: z.record(z.string(), z.string().max(200)).default({}) }),
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = writable(await listFor(p, req.params.id));
    const bad = Object.keys(req.body.filter).filter((k) => !FILTER_PARAM.test(k));
    if (bad.length) throw new DomainError('invalid', `unknown filter ${bad.map((k) => `"${k}"`).join(', ')}: a session's filter takes the people query's status, q, eq.<field> and contains.<field>`);
    const filter = rosterFilter(list, req.body.filter, { listId: list.listId });
    // the copy is read once the read models hold the log's head: snapshotPosition
    const snapshotPosition = await projectedToHead();
    const people = readModel(ctx.readStore, 'people');
    const count = await people.countDocuments(filter);
    if (count > MAX_SESSION_PEOPLE) throw new DomainError('invalid', `the filter chooses ${count} people; a session holds at most ${MAX_SESSION_PEOPLE}: narrow the filter`);
    const docs = await people.find(filter, { sort: { createdAt: 1, _id: 1 }, projection: { fields: 1, status: 1, linked: 1, revision: 1, createdAt: 1 } });
    const copy: SnapshotPerson[] = docs.map((d) => ({ personId: d._id, revision: d.revision, status: d.status, linked: d.linked, fields: d.fields, createdAt: d.createdAt }));
    const sessionId = ctx.newId();
    const res = await handler.handle(streams.session(sessionId), sessionDecider, {
      type: 'CreateSession', sessionId, listId: list.listId, name: req.body.name, filter: req.body.filter, snapshotPosition, people: copy,
    }, cmd(req, p), { isNew: true });
    return reply.status(201).send({ id: sessionId, listId: list.listId, name: req.body.name, filter: req.body.filter, people: copy.length, snapshotPosition, position: res.position });
  });

  api.get('/lists/:id/sessions', {
    schema: { tags: ['sessions'], response: { 200: R.Items(R.SessionView) }, summary: "The list's sessions, newest first", params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readModel(ctx.readStore, 'sessions').find({ listId: list.listId }, { sort: { createdAt: -1, _id: 1 } });
    return { items: docs.map(sessionView) };
  });

  api.get('/sessions/:sid', {
    schema: { tags: ['sessions'], response: { 200: R.SessionView }, summary: 'A session: its filter, snapshot position, size, edits and the changesets pushed from it', params: SessionParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const { s } = await sessionFor(req.principal!, req.params.sid);
    await consistent(req.query.after);
    const doc = await readModel(ctx.readStore, 'sessions').findOne({ _id: s.sessionId });
    return {
      id: s.sessionId, listId: s.listId, name: s.name, filter: s.filter, snapshotPosition: s.snapshotPosition,
      people: s.people.size, edited: s.edited.size, changesets: doc?.changesets ?? [], createdAt: doc?.createdAt ?? null,
    };
  });

  const SessionPeopleQuery = RosterQuery.extend({
    edited: z.enum(['true', 'false']).optional().describe('only the people whose copy was (true) or was not (false) edited'),
    after: After,
  }).catchall(z.string());
  api.get('/sessions/:sid/people', {
    schema: { tags: ['sessions'], response: { 200: R.Page(R.SessionPerson) }, summary: "The session's copies of its people: the people query's parameters (status, q, eq./contains. field filters, sort, cursor)", params: SessionParams, querystring: SessionPeopleQuery },
  }, async (req) => {
    const { s, list } = await sessionFor(req.principal!, req.params.sid);
    await consistent(req.query.after);
    const filter = rosterFilter(list, req.query, { sessionId: s.sessionId });
    if (req.query.edited) filter.edited = req.query.edited === 'true';
    const offset = decodeCursor(req.query.cursor);
    const coll = readModel(ctx.readStore, 'session_people');
    const [items, total] = await Promise.all([
      coll.find(filter, { sort: rosterSort(list, req.query.sort, req.query.order, []), skip: offset, limit: req.query.limit }),
      coll.countDocuments(filter),
    ]);
    return {
      items: items.map((d) => ({ id: d.personId, status: d.status, fields: d.fields, edited: d.edited, base: { status: d.base.status, fields: d.base.fields } })),
      total, nextCursor: nextCursor(offset, items.length, total),
    };
  });

  api.patch('/sessions/:sid/people/:personId', {
    schema: {
      tags: ['sessions'], response: { 200: R.SessionPerson }, summary: "Edit a person's copy in the session (fields checked against the list's field types; the roster is not touched)",
      params: SessionPersonParams,
      body: z.object({ fields: z.record(z.string(), z.unknown()).optional(), status: z.enum(['active', 'inactive']).optional() }).refine((b) => b.fields || b.status, 'give fields or status'),
    },
  }, async (req) => {
    const p = requireWrite(req.principal);
    const { s, list } = await sessionFor(p, req.params.sid);
    if (!s.people.has(req.params.personId)) throw new DomainError('not_found', 'this person is not in the session');
    // synced fields may be edited here: the lock applies when the change comes back as a changeset
    const fields = req.body.fields ? validateFieldValues(list.fields, req.body.fields, { partial: true }) : {};
    const stream = streams.session(s.sessionId);
    const res = await inTurn.run(stream, () => handler.handle(stream, sessionDecider, { type: 'EditSessionPerson', personId: req.params.personId, fields, status: req.body.status }, cmd(req, p)));
    const copy = res.snapshot.state.people.get(req.params.personId)!;
    return { id: req.params.personId, sessionId: s.sessionId, status: copy.status, fields: copy.fields, edited: res.snapshot.state.edited.has(req.params.personId), position: res.position };
  });

  api.post('/sessions/:sid/push', {
    schema: { tags: ['sessions'], response: { 201: R.Pushed }, summary: "Turn the session's edits into a changeset against the roster (nothing on the roster changes yet)", params: SessionParams },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const { s, list } = await sessionFor(p, req.params.sid);
    if (!s.edited.size) throw new DomainError('conflict', 'nothing to push: no one in the session was edited');
    const edited = [...s.edited.keys()].map((id) => s.people.get(id)!)
      .sort((a, b) => (a.base.createdAt < b.base.createdAt ? -1 : a.base.createdAt > b.base.createdAt ? 1 : a.base.personId < b.base.personId ? -1 : 1));
    const roster = await readRoster(ctx, list, edited.map((x) => x.base.personId));
    const changes: ProposedChange[] = [];
    for (const x of edited) {
      const master = roster.people.get(x.base.personId);
      if (!master) continue;
      const change = reviewPerson(x.base.personId, x.base, { fields: x.fields, status: x.status }, master, roster);
      if (change) changes.push({ id: changeIdAt(changes.length), ...change });
    }
    if (!changes.length) throw new DomainError('conflict', 'nothing to push: every edit in the session is already on the roster');
    const changesetId = ctx.newId();
    const res = await handler.handle(streams.changeset(changesetId), changesetDecider, {
      type: 'OpenChangeset', changesetId, listId: list.listId, origin: { kind: 'session', id: s.sessionId },
      basePosition: s.snapshotPosition, reviewedPosition: roster.position, changes,
    }, cmd(req, p), { isNew: true });
    const summary = (res.events[res.events.length - 1].data as { summary: { counts: unknown } }).summary;
    return reply.status(201).send({ changesetId, counts: summary.counts, position: res.position });
  });
};
