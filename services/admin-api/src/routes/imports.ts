/**
 * CSV imports: upload (streamed to a file, never whole in memory), map columns to fields, validate
 * in the background into a changeset, apply it. The file is `text/csv` as the request body, or the
 * one file of a `multipart/form-data` request.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ImportMapping, streams } from '@muster/contracts';
import { DomainError, changesetDecider, commandHandlerFor, importDecider, summarise, type ImportState, type ListState } from '@muster/domain';
import { HttpError } from '@muster/http';
import { readModel } from '@muster/read-models';
import { After, helpers, ListParams } from '../context.ts';
import { requireWrite, type Principal } from '../auth.ts';
import { startApply } from '../changesets/apply.ts';
import { decodeCursor, nextCursor } from '../roster-query.ts';
import { CsvFormatError, columnsOf, readRecords, sniff } from '../imports/parse.ts';
import { suggestMapping } from '../imports/suggest.ts';
import * as R from '../responses.ts';

const ImportParams = z.object({ id: z.string().min(1).max(100), importId: z.string().min(1).max(100) });
const CSV_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/vnd.ms-excel', 'text/tab-separated-values'];

class TooLarge extends Error {}

/** the request's bytes into `path`, counted and hashed; TooLarge past `max` */
async function receive(body: Readable, path: string, max: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > max) return done(new TooLarge());
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(body, meter, createWriteStream(path));
  return { bytes, sha256: hash.digest('hex') };
}

/** the header and the number of data rows (and how many are ragged), read through once */
async function survey(path: string) {
  const shape = await sniff(path);
  let header: string[] | null = null;
  let rows = 0;
  let ragged = 0;
  for await (const record of readRecords(path, shape)) {
    if (!header) { header = record; continue; }
    rows++;
    if (record.length !== header.length) ragged++;
  }
  if (!header) throw new CsvFormatError('the file is empty: it needs a header row naming the columns');
  return { shape, header, rows, ragged };
}

export const importRoutes: FastifyPluginAsync = async (app) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const ctx = app.admin;
  const handler = commandHandlerFor(ctx.store);
  const { cmd, consistent, listFor, writable } = helpers(ctx);

  // the body of an upload is a stream: it is written to disk as it arrives
  api.addContentTypeParser(CSV_TYPES, (_req, payload, done) => done(null, payload));
  await api.register(multipart, { limits: { files: 1, fileSize: ctx.importMaxBytes, fields: 5 } });

  const importFor = async (p: Principal, listId: string, importId: string): Promise<{ s: ImportState; list: ListState }> => {
    const list = await listFor(p, listId);
    const snap = await handler.load(streams.import(importId), importDecider);
    if (!snap?.state.exists || snap.state.listId !== list.listId) throw new DomainError('not_found', 'import not found');
    return { s: snap.state, list };
  };

  /** the import as the API shows it: while its changeset applies, its status and progress are the changeset's */
  const view = async (s: ImportState) => {
    let status: string = s.status;
    let progress = ctx.imports.progress.get(s.importId) ?? null;
    let changeset = null;
    if (s.changesetId) {
      const cs = (await handler.load(streams.changeset(s.changesetId), changesetDecider))?.state;
      if (cs) {
        changeset = summarise(cs);
        if (cs.status === 'applying' || cs.status === 'applied') { status = cs.status; progress = cs.progress; }
      }
    }
    return {
      id: s.importId, listId: s.listId, status, progress, fileName: s.fileName, bytes: s.bytes, encoding: s.encoding, delimiter: s.delimiter,
      columns: s.columns, rows: s.rows, mapping: s.mapping, summary: s.summary, errors: s.errors.size, changesetId: s.changesetId,
      changeset: changeset && { status: changeset.status, counts: changeset.counts }, failure: s.failure,
    };
  };

  api.post('/lists/:id/imports', {
    schema: {
      tags: ['imports'], response: { 201: R.ImportView }, params: ListParams, querystring: z.object({ fileName: z.string().max(200).optional() }),
      summary: 'Upload a CSV file (text/csv body, or multipart/form-data with one file): UTF-8 (BOM or not) or UTF-16; , ; or tab delimited; 413 past MUSTER_IMPORT_MAX_BYTES',
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const list = writable(await listFor(p, req.params.id));
    const importId = ctx.newId();
    await mkdir(ctx.imports.dir, { recursive: true });
    const part = `${ctx.imports.fileOf(importId)}.part`;
    let fileName = req.query.fileName ?? null;
    let body: Readable;
    let truncated = () => false;
    if (req.isMultipart()) {
      const file = await req.file();
      if (!file) throw new DomainError('invalid', 'the multipart request has no file');
      fileName = file.filename || fileName;
      body = file.file;
      truncated = () => file.file.truncated;
    } else if (req.body && typeof (req.body as Readable).pipe === 'function') {
      body = req.body as Readable;
    } else {
      throw new HttpError(415, 'unsupported_media_type', `send the file as ${CSV_TYPES[0]} or multipart/form-data`);
    }
    const tooLarge = () => new HttpError(413, 'too_large', `the file is larger than ${ctx.importMaxBytes} bytes (MUSTER_IMPORT_MAX_BYTES); nothing was kept`, { maxBytes: ctx.importMaxBytes });
    let received: { bytes: number; sha256: string };
    try {
      received = await receive(body, part, ctx.importMaxBytes);
      if (truncated()) throw new TooLarge();
    } catch (err) {
      await rm(part, { force: true });
      if (err instanceof TooLarge) { reply.header('connection', 'close'); throw tooLarge(); }
      throw err;
    }
    let facts;
    try {
      facts = await survey(part);
    } catch (err) {
      await rm(part, { force: true });
      if (err instanceof CsvFormatError) throw new DomainError('invalid', err.message);
      throw err;
    }
    const { columns, renamed } = columnsOf(facts.header);
    await rename(part, ctx.imports.fileOf(importId));
    const res = await handler.handle(streams.import(importId), importDecider, {
      type: 'Upload', importId, listId: list.listId, fileName, bytes: received.bytes, sha256: received.sha256,
      encoding: facts.shape.encoding, delimiter: facts.shape.delimiter, columns, rows: facts.rows,
    }, cmd(req, p), { isNew: true });
    return reply.status(201).send({
      id: importId, status: 'uploaded', columns, rows: facts.rows, raggedRows: facts.ragged, encoding: facts.shape.encoding, delimiter: facts.shape.delimiter,
      renamedColumns: renamed, suggestedMapping: suggestMapping(columns, list.fields), position: res.position,
    });
  });

  api.get('/lists/:id/imports', {
    schema: { tags: ['imports'], response: { 200: R.Items(R.ImportView) }, summary: "The list's imports, newest first", params: ListParams, querystring: z.object({ after: After }) },
  }, async (req) => {
    const list = await listFor(req.principal!, req.params.id);
    await consistent(req.query.after);
    const docs = await readModel(ctx.readStore, 'imports').find({ listId: list.listId }, { sort: { createdAt: -1, _id: 1 } });
    return { items: docs.map(({ _id, lastPosition: _l, ...rest }) => ({ id: _id, ...rest })) };
  });

  api.get('/lists/:id/imports/:importId', {
    schema: { tags: ['imports'], response: { 200: R.ImportView }, summary: 'An import: status, progress, the summary of what it would change, its changeset', params: ImportParams },
  }, async (req) => {
    const { s } = await importFor(req.principal!, req.params.id, req.params.importId);
    return view(s);
  });

  api.get('/lists/:id/imports/:importId/errors', {
    schema: {
      tags: ['imports'], response: { 200: R.Page(R.ImportError) }, summary: 'The faulty rows: the first fault of each (row, column, field, code, message, value)', params: ImportParams,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), cursor: z.string().max(200).optional() }),
    },
  }, async (req) => {
    const { s } = await importFor(req.principal!, req.params.id, req.params.importId);
    const offset = decodeCursor(req.query.cursor);
    const items = s.errors.skip(offset).take(req.query.limit).toArray();
    return { items, total: s.errors.size, nextCursor: nextCursor(offset, items.length, s.errors.size) };
  });

  api.put('/lists/:id/imports/:importId/mapping', {
    schema: { tags: ['imports'], response: { 202: R.ImportView }, summary: 'Map columns to fields (with transforms) and say which column identifies people: validates in the background (202)', params: ImportParams, body: ImportMapping },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const { s, list } = await importFor(p, req.params.id, req.params.importId);
    const fieldKeys = new Set(list.fields.map((f) => f.key));
    const unknown = [...Object.values(req.body.columns).map((c) => c.field), ...(req.body.uniqueIdentifier.field ? [req.body.uniqueIdentifier.field] : [])].filter((f) => !fieldKeys.has(f));
    if (unknown.length) throw new DomainError('invalid', `the list has no field ${[...new Set(unknown)].map((f) => `"${f}"`).join(', ')}`);
    if (req.body.missing === 'deactivate' && list.sync) throw new DomainError('invalid', `this list is synced by ${list.sync.provider.toUpperCase()}, which owns who is active: an import cannot deactivate people here`);
    // a changeset of an earlier mapping still open is replaced
    if (s.changesetId) {
      const cs = (await handler.load(streams.changeset(s.changesetId), changesetDecider))!.state;
      if (cs.status !== 'open') throw new DomainError('conflict', `this import's changeset is ${cs.status}; it can no longer be mapped again`);
      await handler.handle(streams.changeset(s.changesetId), changesetDecider, { type: 'DiscardChangeset' }, cmd(req, p));
    }
    const res = await handler.handle(streams.import(s.importId), importDecider, { type: 'SetMapping', mapping: req.body }, cmd(req, p));
    void ctx.imports.run(s.importId);
    return reply.status(202).send({ ...(await view(res.snapshot.state)), position: res.position });
  });

  api.post('/lists/:id/imports/:importId/apply', {
    schema: {
      tags: ['imports'], response: { 202: R.ImportView }, summary: "Apply the import's changeset (approveAll: approve every change without a conflict first); 202 while it goes on",
      params: ImportParams, body: z.object({ approveAll: z.boolean().default(false) }).nullish(),
    },
  }, async (req, reply) => {
    const p = requireWrite(req.principal);
    const { s, list } = await importFor(p, req.params.id, req.params.importId);
    if (s.status !== 'ready') throw new DomainError('conflict', `the import is ${s.status}; it can be applied once it is ready`, { status: s.status });
    if (!s.changesetId) {
      // nothing to change (every row unchanged or left out): applied as it is
      await handler.handle(streams.import(s.importId), importDecider, { type: 'Complete' }, cmd(req, p));
      await ctx.imports.forget(s.importId);
    } else {
      if (req.body?.approveAll) await handler.handle(streams.changeset(s.changesetId), changesetDecider, { type: 'DecideAll', decision: 'approve' }, cmd(req, p));
      const { run } = await startApply(ctx, s.changesetId, list, { ...cmd(req, p), correlationId: s.importId });
      void run.then(async () => {
        const cs = (await handler.load(streams.changeset(s.changesetId!), changesetDecider))?.state;
        if (cs?.status === 'applied') await ctx.imports.forget(s.importId);
      });
    }
    const now = (await handler.load(streams.import(s.importId), importDecider))!.state;
    return reply.status(202).send({ ...(await view(now)), position: await ctx.store.headPosition() });
  });
};
