/**
 * `muster import csv`: a CSV import over the admin API. The file is streamed up (never read whole),
 * mapped (the server's suggestion unless --map says), validated by the server; the summary and the
 * first faults are printed; --apply applies it. Progress is a bar on a terminal, plain lines otherwise.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { Io, Remote } from './run.ts';

type Values = Record<string, string | boolean | string[] | undefined>;

export interface ImportDeps {
  remote: (values: Values, io: Io) => Remote | null;
  http: (r: Remote, method: string, path: string, body?: unknown) => Promise<Response>;
  write: (stream: Writable, chunk: string) => Promise<void>;
  UsageError: new (message: string) => Error;
  HttpFailure: new (message: string) => Error;
}

const TRANSFORMS = ['direct', 'lowercase', 'uppercase', 'trim'];

/** --map COLUMN=FIELD[:TRANSFORM] (the column may itself hold '=': the last one splits) */
function parseMap(values: string[], UsageError: ImportDeps['UsageError']) {
  const columns: Record<string, { field: string; transform: string }> = {};
  for (const v of values) {
    const at = v.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--map ${v}: write COLUMN=FIELD or COLUMN=FIELD:TRANSFORM`);
    const [field, transform = 'direct'] = v.slice(at + 1).split(':');
    if (!field) throw new UsageError(`--map ${v}: no field after =`);
    if (!TRANSFORMS.includes(transform)) throw new UsageError(`--map ${v}: the transform is one of ${TRANSFORMS.join(', ')}`);
    columns[v.slice(0, at)] = { field, transform };
  }
  return columns;
}

function progressLine(label: string, p: { done: number; total: number } | null, tty: boolean): string {
  if (!p || !p.total) return tty ? `\r${label}…` : `${label}\n`;
  const pct = Math.min(100, Math.floor((p.done / p.total) * 100));
  if (!tty) return `${label}: ${p.done} of ${p.total}\n`;
  const width = 30;
  const filled = Math.round((pct / 100) * width);
  return `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% (${p.done}/${p.total})`;
}

export async function importCommand(values: Values, io: Io, positionals: string[], d: ImportDeps): Promise<number> {
  const file = positionals[0];
  const listId = values.list as string | undefined;
  if (!file || !listId) throw new d.UsageError('muster import csv needs --list ID and a FILE');
  const r = d.remote(values, io);
  if (!r) throw new d.UsageError('muster import csv works over the admin API: give --url (or MUSTER_URL) and a token');
  const missing = (values.missing as string | undefined) ?? 'keep';
  if (!['keep', 'deactivate'].includes(missing)) throw new d.UsageError('--missing is keep or deactivate');
  const size = await stat(file).then((st) => st.size).catch(() => { throw new d.UsageError(`cannot read ${file}`); });
  const tty = !!(io.err as { isTTY?: boolean }).isTTY;
  const base = `/lists/${encodeURIComponent(listId)}/imports`;

  await d.write(io.err, `uploading ${basename(file)} (${size} bytes)\n`);
  const res = await fetch(`${r.url}/api/v1${base}?fileName=${encodeURIComponent(basename(file))}`, {
    method: 'POST', headers: { authorization: `Bearer ${r.token}`, 'content-type': 'text/csv' },
    body: Readable.toWeb(createReadStream(file)) as unknown as BodyInit, duplex: 'half',
  } as RequestInit).catch((err: Error) => { throw new d.HttpFailure(`cannot reach ${r.url}: ${err.message}`); });
  const uploaded = await res.json() as { id: string; columns: string[]; rows: number; suggestedMapping: Record<string, string | null>; error?: { message: string } };
  if (!res.ok) throw new d.HttpFailure(`upload failed: ${res.status} ${uploaded.error?.message ?? ''}`);
  await d.write(io.err, `uploaded: ${uploaded.rows} rows, columns ${uploaded.columns.join(', ')}\n`);

  const given = parseMap((values.map as string[] | undefined) ?? [], d.UsageError);
  const columns = Object.keys(given).length ? given
    : Object.fromEntries(Object.entries(uploaded.suggestedMapping).filter(([, f]) => f).map(([c, f]) => [c, { field: f!, transform: 'direct' }]));
  const uid = (values.uid as string | undefined)
    ?? ['employeeNumber', 'email', 'primaryEmail'].map((f) => Object.keys(columns).find((c) => columns[c].field === f)).find(Boolean);
  if (!uid) throw new d.UsageError('say which column identifies people: --uid COLUMN');
  await d.http(r, 'PUT', `${base}/${uploaded.id}/mapping`, { uniqueIdentifier: { column: uid }, columns, missing });

  type ImportView = { status: string; progress: { done: number; total: number } | null; summary: Record<string, number> | null; failure: string | null };
  const poll = async (until: (v: ImportView) => boolean, label: string): Promise<ImportView> => {
    let last = '';
    for (;;) {
      const v = await (await d.http(r, 'GET', `${base}/${uploaded.id}`)).json() as ImportView;
      if (until(v)) { if (tty && last) await d.write(io.err, '\n'); return v; }
      const line = progressLine(label, v.progress, tty);
      if (line !== last) await d.write(io.err, line); // plain lines only when something moved
      last = line;
      await new Promise((res2) => setTimeout(res2, 200));
    }
  };
  const validated = await poll((v) => v.status !== 'validating', 'validating');
  if (validated.status === 'failed') throw new d.HttpFailure(`validation failed: ${validated.failure}`);
  await d.write(io.out, `${JSON.stringify({ import: uploaded.id, summary: validated.summary })}\n`);
  const invalid = validated.summary?.invalid ?? 0;
  if (invalid) {
    const errors = await (await d.http(r, 'GET', `${base}/${uploaded.id}/errors?limit=10`)).json() as { items: Array<{ row: number; code: string; message: string }>; total: number };
    for (const e of errors.items) await d.write(io.err, `row ${e.row}: ${e.code}: ${e.message}\n`);
    if (errors.total > errors.items.length) await d.write(io.err, `… and ${errors.total - errors.items.length} more (GET /api/v1${base}/${uploaded.id}/errors)\n`);
    if (!values['skip-invalid']) {
      await d.write(io.err, `${invalid} invalid row${invalid > 1 ? 's' : ''}: nothing applied (--skip-invalid applies the valid rows)\n`);
      return 1;
    }
  }
  if (!values.apply) {
    await d.write(io.err, 'not applied (add --apply)\n');
    return 0;
  }
  await d.http(r, 'POST', `${base}/${uploaded.id}/apply`, { approveAll: true });
  const done = await poll((v) => v.status !== 'applying' && v.status !== 'ready', 'applying');
  await d.write(io.out, `${JSON.stringify({ import: uploaded.id, status: done.status })}\n`);
  return done.status === 'applied' ? 0 : 1;
}
