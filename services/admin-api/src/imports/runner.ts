/**
 * Validates imports in the background: the file (kept in the import directory) read against the
 * mapping and the roster, recorded as the import's faults and summary, and its changeset opened in
 * the same atomic append where the store can (otherwise the changeset first). An import left
 * `validating` by a restart is validated again at start; a run of a mapping that was replaced since
 * records nothing.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { streams, toNewEvents, type CommandContext, type DomainEvent, type EventMetadata } from '@muster/contracts';
import {
  changesetDecider, commandHandlerFor, importDecider, listDecider, type CommandHandler, type ImportState,
} from '@muster/domain';
import { lastEventOf, type EventStore } from '@muster/event-store';
import type { MappingClient } from '@muster/mapping-contract';
import { readModel } from '@muster/read-models';
import type { ReadStore } from '@muster/read-store';
import { sniff } from './parse.ts';
import { validate, type RosterPerson } from './validate.ts';

/** up to this many changes (a few megabytes) a changeset is appended with its import atomically; beyond, in parts of about PART_BYTES (one chunk of changes: encoding, validating and hashing a part holds the event loop for tens of milliseconds, not hundreds) */
const ATOMIC_CHANGES = 2_000;
const PART_BYTES = 512 * 1024;

export interface ImportRunnerOptions {
  store: EventStore;
  readStore: ReadStore;
  mapping: MappingClient;
  /** where uploaded files are kept (`<importId>.csv`) until their import is applied */
  dir: string;
  now: () => Date;
  newId: () => string;
  log: (message: string, err?: unknown) => void;
  projectedTo: (position: number, timeoutMs: number) => Promise<boolean>;
}

export class ImportRunner {
  private readonly runs = new Map<string, Promise<void>>();
  /** rows read so far by each run in progress */
  readonly progress = new Map<string, { done: number; total: number }>();
  private readonly handler: CommandHandler;
  private stopping = false;

  constructor(private readonly opts: ImportRunnerOptions) {
    this.handler = commandHandlerFor(opts.store);
  }

  get dir(): string {
    return this.opts.dir;
  }

  fileOf(importId: string): string {
    return join(this.opts.dir, `${importId}.csv`);
  }

  start(): void {
    void this.resume();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.runs.values()]);
  }

  /** validate the import's current mapping (a run already going on for it is that run) */
  run(importId: string): Promise<void> {
    let p = this.runs.get(importId);
    if (!p) {
      p = this.execute(importId).catch((err) => this.opts.log(`import ${importId}: validation failed`, err))
        .finally(() => { this.runs.delete(importId); this.progress.delete(importId); });
      this.runs.set(importId, p);
    }
    return p;
  }

  /** the file of an applied import is no longer needed */
  async forget(importId: string): Promise<void> {
    await rm(this.fileOf(importId), { force: true });
  }

  private async resume(): Promise<void> {
    try {
      const head = await this.opts.store.headPosition();
      if (head >= 0 && !(await this.opts.projectedTo(head, 10 * 60_000))) return;
      if (this.stopping) return;
      const docs = await readModel(this.opts.readStore, 'imports').find({ status: 'validating' }, { projection: { _id: 1 } });
      for (const d of docs) void this.run(d._id);
      await this.removeAppliedFiles();
    } catch (err) {
      if (!this.stopping) this.opts.log('imports: could not look for validations to resume', err);
    }
  }

  /** files of imports whose changeset was applied while no request waited for it (a restart mid-apply) */
  private async removeAppliedFiles(): Promise<void> {
    const applied = await readModel(this.opts.readStore, 'changesets').find({ 'origin.kind': 'csv', status: { $in: ['applied', 'rolling_back', 'rolled_back'] } }, { projection: { origin: 1 } });
    for (const c of applied) await this.forget(c.origin.id);
  }

  /** who set the mapping, from where: the faults and the changeset are stamped with it */
  private async contextOf(importId: string): Promise<CommandContext> {
    const set = await lastEventOf(this.opts.store, streams.import(importId), ['ImportMappingSet']);
    const m = (set?.metadata ?? {}) as Partial<EventMetadata>;
    return {
      actor: m.actor ?? { kind: 'system', id: 'imports' }, source: { ...(m.source ?? { kind: 'admin-api' }), kind: 'csv' },
      correlationId: importId, causationId: set?.eventId ?? importId, now: this.opts.now(), newId: this.opts.newId,
    };
  }

  private async rosterOf(listId: string): Promise<{ people: RosterPerson[]; position: number }> {
    const position = await this.opts.store.headPosition();
    if (position >= 0 && !(await this.opts.projectedTo(position, 60_000))) throw new Error('the read models are behind the event log');
    const docs = await readModel(this.opts.readStore, 'people').find({ listId }, { projection: { fields: 1, status: 1, linked: 1, revision: 1 } });
    return { people: docs.map((d) => ({ personId: d._id, revision: d.revision, status: d.status, linked: d.linked, fields: d.fields })), position };
  }

  private async execute(importId: string): Promise<void> {
    const stream = streams.import(importId);
    const s = (await this.handler.load(stream, importDecider))?.state;
    if (!s || s.status !== 'validating' || !s.mapping) return;
    const version = s.mappingVersion;
    const ctx = await this.contextOf(importId);
    try {
      await this.validateOnce(s, ctx);
    } catch (err) {
      if (this.stopping) return; // resumed at the next start
      await this.handler.handle(stream, importDecider, { type: 'Fail', mappingVersion: version, reason: (err as Error).message.slice(0, 500) }, { ...ctx, now: this.opts.now() });
      throw err;
    }
  }

  /** events to one new stream in appends of about PART_BYTES, each expecting the revision the last one left */
  private async appendInParts(streamId: string, events: DomainEvent[], ctx: CommandContext): Promise<void> {
    let revision: number | 'no_stream' = 'no_stream';
    // the changeset as folded here is what reading it back would give: kept in the command side's
    // cache, so the first read of a changeset of 100,000 changes does not decode 90 MB at once
    let state = changesetDecider.initialState();
    let part: DomainEvent[] = [];
    let bytes = 0;
    const flush = async () => {
      if (!part.length) return;
      const res = await this.opts.store.appendToStream(streamId, toNewEvents(part, ctx), { expectedRevision: revision });
      revision = res.nextExpectedRevision;
      for (const e of part) state = changesetDecider.evolve(state, e);
      part = [];
      bytes = 0;
      await new Promise((r) => setImmediate(r)); // let requests in between the parts
    };
    const at = ctx.now.toISOString();
    for (const e of events) {
      // about 1 KB a change (the estimate only bounds the part; the store counts exactly)
      const n = 1_024 * ((e.data as { changes?: unknown[] }).changes?.length ?? 1);
      if (bytes + n > PART_BYTES) await flush();
      part.push(e);
      bytes += n;
    }
    await flush();
    if (typeof revision === 'number') this.handler.cache.remember(streamId, { state, revision, created: at, lastModified: at });
  }

  /** changesets of earlier validations of this import that were written but never named by it (a crash in between) */
  private async discardOrphans(s: ImportState, ctx: CommandContext): Promise<void> {
    const docs = await readModel(this.opts.readStore, 'changesets').find({ 'origin.id': s.importId, status: 'open' }, { projection: { _id: 1 } });
    for (const d of docs) {
      if (d._id === s.changesetId) continue;
      await this.handler.handle(streams.changeset(d._id), changesetDecider, { type: 'DiscardChangeset' }, { ...ctx, now: this.opts.now() });
    }
  }

  private async validateOnce(s: ImportState, ctx: CommandContext): Promise<void> {
    const list = (await this.handler.load(streams.list(s.listId), listDecider))!.state;
    this.progress.set(s.importId, { done: 0, total: s.rows });
    const roster = await this.rosterOf(s.listId);
    await this.discardOrphans(s, ctx);
    const path = this.fileOf(s.importId);
    const result = await validate({
      path, shape: await sniff(path), columns: s.columns, list, mapping: s.mapping!, roster, newId: this.opts.newId,
      mapRows: async (rows) => (await this.opts.mapping.mapCsv({ listId: s.listId, columns: s.columns, mapping: s.mapping!.columns, rows })).results,
      onProgress: (done) => this.progress.set(s.importId, { done, total: s.rows }),
    });
    const changesetId = result.changes.length ? this.opts.newId() : null;
    const record = { type: 'RecordValidation' as const, mappingVersion: s.mappingVersion, summary: result.summary, errors: result.errors, changesetId };
    const opened = changesetId
      ? changesetDecider.decide({ type: 'OpenChangeset', changesetId, listId: s.listId, origin: { kind: 'csv', id: s.importId }, basePosition: roster.position, reviewedPosition: roster.position, changes: result.changes }, changesetDecider.initialState())
      : [];
    const now = { ...ctx, now: this.opts.now() };
    // one atomic append when it is small; a large changeset (tens of megabytes) goes in bounded
    // appends first, named by the import only once complete (an orphan of a crash in between is
    // discarded when the validation runs again)
    if (changesetId && this.handler.atomicAppends && result.changes.length <= ATOMIC_CHANGES) {
      await this.handler.handle(streams.import(s.importId), importDecider, record, now, {
        alongside: () => [{ streamId: streams.changeset(changesetId), events: toNewEvents(opened, now), expectedRevision: 'no_stream' }],
      });
      return;
    }
    if (changesetId) await this.appendInParts(streams.changeset(changesetId), opened, now);
    await this.handler.handle(streams.import(s.importId), importDecider, record, now);
  }
}
