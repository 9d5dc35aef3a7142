/**
 * The `muster` CLI. Commands that only read (export, verify, head) open the event log read-only, so
 * they work while a server runs on the same MUSTER_DATA_DIR; with --url they ask a server instead.
 *
 * Exit codes: 0 ok, 1 the command ran and found a problem (a broken hash chain, a failed rebuild,
 * an HTTP error), 2 bad usage or configuration.
 */
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { MusterConfig } from '@muster/config';
import type { EmbeddedEventStore, VerifyResult } from '@muster/event-store';
import type { AuditFilter } from '@muster/audit';
import type { RebuildStatus } from '@muster/read-models';
import { NoLogError } from './errors.ts';

// Heavy modules are imported where they are needed, so usage errors and --url commands start fast.
const eventStore = () => import('@muster/event-store');
const stores = () => import('./stores.ts');

export interface Io {
  out: Writable;
  err: Writable;
  env: Record<string, string | undefined>;
}

export class UsageError extends Error {}

const USAGE = `muster — the Muster CLI (reads the same configuration as the services: MUSTER_DATA_DIR, MUSTER_EVENT_STORE, ...)

Usage:
  muster events export [--list ID] [--person ID] [--type TYPE]... [--from TIME] [--to TIME]
                       NDJSON on stdout, one event per line: {position, stream, revision, type, data, ...metadata}
  muster audit verify [--anchor POSITION:DIGEST] [--json]
                       walk the log's hash chain; exit 1 and report the first break
  muster audit head [--position N]
                       {position, digest}: write it down, recompute later with --position to prove nothing changed
  muster projections rebuild [--no-wait]
                       rebuild every read model into fresh collections and switch over when caught up
  muster log rewrite --out DIR [--statement FILE]
                       (server stopped) copy the embedded log into DIR/events with personal data sealed
                       and erased people's values removed, a new hash chain, and a signed statement
                       (FILE, default DIR/rewrite-statement.json) tying the old head digest to the new
  muster log check-statement FILE
                       the statement's signature (this install's key) and that the log in MUSTER_DATA_DIR
                       has the digest it names
  muster import csv --list ID FILE [--map COLUMN=FIELD[:TRANSFORM]]... [--uid COLUMN]
                       [--missing keep|deactivate] [--apply] [--skip-invalid]
                       upload FILE to the list over the admin API (needs --url), map it (the suggested
                       mapping when no --map is given; TRANSFORM: direct, lowercase, uppercase, trim),
                       print the summary and the first faults; --apply applies it (every change without
                       a conflict approved). Exit 1 when rows are invalid unless --skip-invalid.

Options for every command:
  --url URL            ask a running server (MUSTER_URL) instead of reading the log directly
  --token TOKEN        admin token for --url (MUSTER_TOKEN, else MUSTER_ADMIN_TOKEN)
  -h, --help

TIME is RFC 3339 (2025-01-31T12:00:00Z); --from and --to are inclusive.
projections rebuild needs --url (the in-memory read store lives inside the server) unless
MUSTER_READ_STORE=mongodb, where it runs here and the server's projector carries on.
`;

const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  options: ParseArgsConfig['options'];
  /** how many positional arguments the command takes after its two words */
  positionals?: number;
  run: (values: Values, io: Io, positionals: string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'events export': {
    options: { list: { type: 'string' }, person: { type: 'string' }, type: { type: 'string', multiple: true }, from: { type: 'string' }, to: { type: 'string' } },
    run: exportCommand,
  },
  'audit verify': { options: { anchor: { type: 'string' }, json: { type: 'boolean' } }, run: verifyCommand },
  'audit head': { options: { position: { type: 'string' } }, run: headCommand },
  'projections rebuild': { options: { 'no-wait': { type: 'boolean' } }, run: rebuildCommand },
  'log rewrite': { options: { out: { type: 'string' }, statement: { type: 'string' } }, run: (v, io) => import('./rewrite.ts').then((m) => m.rewriteCommand(v, io, { config, write, UsageError })) },
  'log check-statement': { options: {}, positionals: 1, run: (v, io, p) => import('./rewrite.ts').then((m) => m.checkStatementCommand(p, io, { config, write, UsageError })) },
  'import csv': {
    options: { list: { type: 'string' }, map: { type: 'string', multiple: true }, uid: { type: 'string' }, missing: { type: 'string' }, apply: { type: 'boolean' }, 'skip-invalid': { type: 'boolean' } },
    positionals: 1,
    run: (values, io, positionals) => import('./import.ts').then((m) => m.importCommand(values, io, positionals, { remote, http, write, UsageError, HttpFailure })),
  },
};

/** Runs one CLI invocation; returns the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const words = argv.slice(0, 2).join(' ');
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0])) {
    await write(io.out, USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const command = COMMANDS[words];
  if (!command) {
    await write(io.err, `unknown command "${words}"\n\n${USAGE}`);
    return 2;
  }
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv.slice(2), options: { ...COMMON, ...command.options }, strict: true, allowPositionals: !!command.positionals }));
    if (positionals.length > (command.positionals ?? 0)) throw new Error(`unexpected argument${positionals.length > 1 ? 's' : ''}: ${positionals.join(' ')}`);
  } catch (err) {
    await write(io.err, `${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    await write(io.out, USAGE);
    return 0;
  }
  try {
    return await command.run(values, io, positionals);
  } catch (err) {
    if ((err as Error).name === 'ConfigError' || err instanceof UsageError || err instanceof NoLogError || err instanceof TypeError) {
      await write(io.err, `${(err as Error).message}\n`);
      return 2;
    }
    if (err instanceof HttpFailure) {
      await write(io.err, `${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

// ------------------------------------------------------------------ helpers

/** writes, honouring backpressure (the listeners of each wait are removed after it: none pile up on a long export into a slow pipe) */
async function write(stream: Writable, chunk: string): Promise<void> {
  if (stream.write(chunk)) return;
  const done = new AbortController();
  const until = (event: string) => once(stream, event, { signal: done.signal }).catch(() => {});
  await Promise.race([until('drain'), until('close')]);
  done.abort();
}

async function config(io: Io): Promise<MusterConfig> {
  const { loadConfig } = await import('@muster/config');
  return loadConfig(io.env);
}

export interface Remote { url: string; token: string }

function remote(values: Values, io: Io): Remote | null {
  const url = (values.url as string | undefined) ?? io.env.MUSTER_URL;
  if (!url) return null;
  const token = (values.token as string | undefined) ?? io.env.MUSTER_TOKEN ?? io.env.MUSTER_ADMIN_TOKEN;
  if (!token) throw new UsageError('--url needs an admin token: --token, MUSTER_TOKEN or MUSTER_ADMIN_TOKEN');
  return { url: url.replace(/\/+$/, ''), token };
}

export class HttpFailure extends Error {}

async function http(r: Remote, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${r.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${r.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: Error) => { throw new HttpFailure(`cannot reach ${r.url}: ${err.message}`); });
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try { message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text; } catch { /* not JSON */ }
    throw new HttpFailure(`${method} ${path} failed: ${res.status} ${message}`);
  }
  return res;
}

function time(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(s) || !Number.isFinite(Date.parse(s))) {
    throw new UsageError(`--${name} must be an RFC 3339 time such as 2025-01-31T12:00:00Z (got "${s}")`);
  }
  return s;
}

// ------------------------------------------------------------------ events export

async function exportCommand(values: Values, io: Io): Promise<number> {
  const filter: AuditFilter = {
    listId: values.list as string | undefined, personId: values.person as string | undefined,
    types: values.type as string[] | undefined, from: time('from', values.from), to: time('to', values.to),
  };
  const r = remote(values, io);
  if (r) {
    const qs = new URLSearchParams();
    if (filter.listId) qs.set('listId', filter.listId);
    if (filter.personId) qs.set('personId', filter.personId);
    for (const t of filter.types ?? []) qs.append('type', t);
    if (filter.from) qs.set('from', filter.from);
    if (filter.to) qs.set('to', filter.to);
    const res = await http(r, 'GET', `/audit/events?${qs}`);
    if (!res.body) return 0;
    for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream)) await write(io.out, chunk.toString());
    return 0;
  }
  const cfg = await config(io);
  const [{ openLogForReading }, { exportEvents, toEnvelope }] = await Promise.all([stores(), import('@muster/audit')]);
  const log = await openLogForReading(cfg);
  try {
    let buf = '';
    for await (const e of exportEvents(log.store, filter)) {
      buf += `${JSON.stringify(toEnvelope(e))}\n`;
      if (buf.length >= 64 * 1024) { await write(io.out, buf); buf = ''; }
    }
    if (buf) await write(io.out, buf);
  } finally {
    await log.close();
  }
  return 0;
}

// ------------------------------------------------------------------ audit verify / head

interface TailDamage { offset: number; reason: string; afterPosition: number }

/** A damaged record in the embedded log (not a record still being written) ends what can be read. */
async function tailDamage(embedded: EmbeddedEventStore, dir: string): Promise<TailDamage | null> {
  const incomplete = (reason: string | undefined) => !reason || /file ends first|shrank/.test(reason);
  const first = embedded.recovery;
  if (first.tailBytes === 0 || incomplete(first.tailReason)) return null;
  // a server may be writing that record right now: look again once it had time to finish
  await new Promise((r) => setTimeout(r, 300));
  const again = await (await eventStore()).openEmbeddedEventStore({ dir, readOnly: true });
  try {
    const r = again.recovery;
    if (r.validBytes > first.validBytes || r.tailBytes === 0 || incomplete(r.tailReason)) return null;
    return { offset: r.validBytes, reason: r.tailReason ?? 'damage', afterPosition: r.events - 1 };
  } finally {
    await again.close();
  }
}

function parseAnchor(value: unknown): { position: number; digest: string } | undefined {
  if (value === undefined) return undefined;
  const m = /^(-?\d+):([0-9a-f]{64})$/i.exec(String(value));
  if (!m) throw new UsageError('--anchor must be POSITION:DIGEST as printed by `muster audit head`');
  return { position: Number(m[1]), digest: m[2].toLowerCase() };
}

async function verifyCommand(values: Values, io: Io): Promise<number> {
  const anchor = parseAnchor(values.anchor);
  const r = remote(values, io);
  let result: VerifyResult;
  let damage: TailDamage | null = null;
  let anchorCheck: { ok: boolean; position: number; recorded: string; actual: string | null; reason?: string } | undefined;
  if (r) {
    result = (await (await http(r, 'GET', '/audit/verify')).json()) as VerifyResult;
    if (anchor) {
      const got = await http(r, 'GET', `/audit/head?position=${anchor.position}`).then((res) => res.json() as Promise<{ digest: string }>, (err: Error) => ({ error: err.message }));
      anchorCheck = 'digest' in got
        ? { ok: got.digest === anchor.digest, position: anchor.position, recorded: anchor.digest, actual: got.digest }
        : { ok: false, position: anchor.position, recorded: anchor.digest, actual: null, reason: got.error };
    }
  } else {
    const cfg = await config(io);
    const [{ openLogForReading, embeddedLogDir }, { verifyLog, logDigest }] = await Promise.all([stores(), eventStore()]);
    const log = await openLogForReading(cfg);
    try {
      result = await verifyLog(log.stored);
      if (log.embedded) damage = await tailDamage(log.embedded, embeddedLogDir(cfg));
      if (anchor) {
        const head = await log.store.headPosition();
        if (anchor.position > head) {
          anchorCheck = { ok: false, position: anchor.position, recorded: anchor.digest, actual: null, reason: `the log ends at position ${head}, before the anchor` };
        } else {
          const d = await logDigest(log.stored, anchor.position);
          anchorCheck = { ok: d.digest === anchor.digest, position: anchor.position, recorded: anchor.digest, actual: d.digest };
        }
      }
    } finally {
      await log.close();
    }
  }
  const ok = result.ok && !damage && (anchorCheck?.ok ?? true);
  if (values.json) {
    await write(io.out, `${JSON.stringify({ ...result, ok, ...(damage ? { damage } : {}), ...(anchorCheck ? { anchor: anchorCheck } : {}) })}\n`);
    return ok ? 0 : 1;
  }
  const lines: string[] = [];
  if (result.firstBreak) {
    const b = result.firstBreak;
    lines.push(`BREAK at position ${b.position} (stream ${b.streamId}, revision ${b.revision}): ${b.reason}`);
  }
  if (damage) lines.push(`BREAK: the log file is damaged at byte ${damage.offset}, after position ${damage.afterPosition} (${damage.reason}); nothing after it can be read`);
  if (anchorCheck && !anchorCheck.ok) {
    lines.push(`ANCHOR MISMATCH at position ${anchorCheck.position}: recorded ${anchorCheck.recorded}, now ${anchorCheck.actual ?? `unavailable (${anchorCheck.reason})`}`);
  }
  if (ok) {
    lines.push(`OK: ${result.eventsChecked} events, every hash-chain link intact${anchorCheck ? `; digest up to position ${anchorCheck.position} matches the anchor` : ''}`);
  } else {
    lines.push(`FAILED after checking ${result.eventsChecked} events`);
  }
  await write(ok ? io.out : io.err, `${lines.join('\n')}\n`);
  return ok ? 0 : 1;
}

async function headCommand(values: Values, io: Io): Promise<number> {
  let position: number | undefined;
  if (values.position !== undefined) {
    if (!/^-?\d+$/.test(String(values.position))) throw new UsageError('--position must be a whole number');
    position = Number(values.position);
  }
  const r = remote(values, io);
  if (r) {
    const body = await (await http(r, 'GET', `/audit/head${position !== undefined ? `?position=${position}` : ''}`)).json();
    await write(io.out, `${JSON.stringify(body)}\n`);
    return 0;
  }
  const cfg = await config(io);
  const [{ openLogForReading }, { logDigest }] = await Promise.all([stores(), eventStore()]);
  const log = await openLogForReading(cfg);
  try {
    const head = await log.store.headPosition();
    if (position !== undefined && position > head) throw new UsageError(`position ${position} is past the head (${head})`);
    const d = await logDigest(log.stored, position ?? head);
    await write(io.out, `${JSON.stringify({ position: d.position, digest: d.digest })}\n`);
  } finally {
    await log.close();
  }
  return 0;
}

// ------------------------------------------------------------------ projections rebuild

async function rebuildCommand(values: Values, io: Io): Promise<number> {
  const r = remote(values, io);
  const wait = !values['no-wait'];
  if (r) {
    const started = (await (await http(r, 'POST', '/admin/projections/rebuild', { wait: false })).json()) as RebuildStatus & { alreadyRunning: boolean };
    await write(io.err, `${started.alreadyRunning ? 'a rebuild is already running' : 'rebuild started'} (${started.id})\n`);
    if (!wait) {
      await write(io.out, `${JSON.stringify(started)}\n`);
      return 0;
    }
    let last = '';
    for (;;) {
      await new Promise((res) => setTimeout(res, 250));
      const s = (await (await http(r, 'GET', '/admin/projections/rebuild')).json()) as RebuildStatus;
      if (s.id !== started.id) throw new HttpFailure(`another rebuild (${s.id}) replaced ${started.id}`);
      const line = `${s.phase}: position ${s.position} of ${s.head}, ${s.events} events`;
      if (line !== last) { await write(io.err, `${line}\n`); last = line; }
      if (s.state === 'running') continue;
      await write(io.out, `${JSON.stringify(s)}\n`);
      return s.state === 'done' ? 0 : 1;
    }
  }
  const cfg = await config(io);
  if (cfg.readStore.kind !== 'mongodb') {
    throw new UsageError('the in-memory read store lives inside the server: run `muster projections rebuild --url <server> --token <owner token>` (or set MUSTER_READ_STORE=mongodb to rebuild a MongoDB read store from here)');
  }
  const [{ openLogForReading }, { rebuildProjections }, { createMongoReadStore }] = await Promise.all([stores(), import('@muster/projector'), import('@muster/read-store')]);
  const log = await openLogForReading(cfg);
  const readStore = await createMongoReadStore({ url: cfg.readStore.url, dbName: cfg.readStore.db });
  try {
    let lastReport = 0;
    const result = await rebuildProjections({
      store: log.store, readStore,
      onProgress: (p) => {
        if (Date.now() - lastReport < 1_000 && p.phase === 'projecting') return;
        lastReport = Date.now();
        io.err.write(`${p.phase}: position ${p.position} of ${p.head}, ${p.events} events\n`);
      },
    });
    await write(io.out, `${JSON.stringify({ state: 'done', result })}\n`);
    return 0;
  } finally {
    await readStore.close().catch(() => {});
    await log.close();
  }
}
