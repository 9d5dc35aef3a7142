/**
 * The `muster` CLI, spawned for real (cli/bin/muster.mjs) against the data directory of a running
 * one-process server, then against a log edited on disk.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, LOG_FILE_NAME, eventHash, logDigest, type RecordedEvent } from '@muster/event-store';
import { toEnvelope } from '@muster/audit';
import { toNewEvents } from '@muster/contracts';
// test-only: the log format, to edit a stored event the way an attacker with disk access would
import { decodeLog, encodeLog } from '../../libs/event-store/src/embedded/format.ts';
import { ADMIN, startStack, type Stack } from '../../tests/helpers.ts';
import { run as runCli } from './run.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'cli', 'bin', 'muster.mjs');

interface Run { code: number | null; stdout: string; stderr: string }

function muster(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MUSTER_DATA_DIR: s.dataDir, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

const lines = (out: string) => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

let s: Stack;
let listId: string;
let grace: string;
let t1: string;
let stored: RecordedEvent[];
let stopped = false;

beforeAll(async () => {
  s = await startStack();
  listId = (await s.admin('POST', '/lists', { name: 'Staff' })).body.id;
  await s.admin('POST', `/lists/${listId}/fields`, { key: 'firstName', label: 'First name', type: 'text' });
  await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Ada' } });
  grace = (await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Grace' } })).body.id;
  await new Promise((r) => setTimeout(r, 15));
  t1 = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 15));
  await s.admin('PATCH', `/lists/${listId}/people/${grace}`, { status: 'inactive' });
  await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: 'Linus' } });
  stored = await s.running.adapters.store.readAll();
});
afterAll(async () => {
  if (!stopped) await s?.stop();
});

describe('muster CLI next to a running server (same MUSTER_DATA_DIR)', () => {
  it('exports, filters, verifies and prints the head while the server keeps writing', async () => {
    const remote = ['--url', s.url, '--token', ADMIN];
    // the server keeps taking writes while the CLI reads the same log
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing) { await s.admin('POST', `/lists/${listId}/people`, { fields: { firstName: `W${n++}` } }); await new Promise((r) => setTimeout(r, 20)); }
    })();
    const [all, filtered, byPerson, verify, head, viaHttp, badTime, rebuildHere, rebuildRemote] = await Promise.all([
      muster(['events', 'export']),
      muster(['events', 'export', '--list', listId, '--type', 'PersonCreated', '--type', 'Deactivated', '--from', t1]),
      muster(['events', 'export', '--person', grace]),
      muster(['audit', 'verify']),
      muster(['audit', 'head', '--position', String(stored[stored.length - 1].position)]),
      muster(['events', 'export', '--type', 'ListCreated', ...remote]),
      muster(['events', 'export', '--from', 'yesterday']),
      muster(['projections', 'rebuild']),
      muster(['projections', 'rebuild', ...remote]),
    ]);
    writing = false;
    await writer;

    expect(all.code, all.stderr).toBe(0);
    const exported = lines(all.stdout);
    expect(exported.length).toBeGreaterThanOrEqual(stored.length);
    expect(exported.slice(0, stored.length)).toEqual(stored.map(toEnvelope));
    expect(exported.map((l) => l.position)).toEqual(exported.map((_, i) => i));

    expect(filtered.code, filtered.stderr).toBe(0);
    const picked = lines(filtered.stdout);
    expect(picked[0]).toMatchObject({ type: 'Deactivated', stream: `person-${grace}` });
    expect(picked[1]).toMatchObject({ type: 'PersonCreated', data: { fields: { firstName: 'Linus' } } });
    expect(picked.every((l) => (l.type === 'PersonCreated' || l.type === 'Deactivated') && l.data.listId === listId && l.occurredAt >= t1)).toBe(true);

    expect(lines(byPerson.stdout).map((l) => l.type)).toEqual(['PersonCreated', 'Deactivated']);

    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK: \d+ events, every hash-chain link intact/);

    expect(head.code, head.stderr).toBe(0);
    expect(JSON.parse(head.stdout)).toEqual(await logDigest(s.running.adapters.store, stored[stored.length - 1].position));

    expect(viaHttp.code, viaHttp.stderr).toBe(0);
    expect(lines(viaHttp.stdout).map((l) => l.data.listId)).toEqual([listId]);

    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/--from must be an RFC 3339 time/);

    expect(rebuildHere.code).toBe(2);
    expect(rebuildHere.stderr).toMatch(/--url/);
    expect(rebuildRemote.code, rebuildRemote.stderr).toBe(0);
    expect(JSON.parse(rebuildRemote.stdout)).toMatchObject({ state: 'done', events: expect.any(Number) });
    expect(rebuildRemote.stderr).toMatch(/rebuild started/);
  });
});

describe('muster events export into a slow reader', () => {
  it('waits for the reader (backpressure) and leaves no listener behind: no MaxListenersExceededWarning', async () => {
    const ctx = { actor: { kind: 'system' as const, id: 'test' }, source: { kind: 'system' as const }, correlationId: 'bulk', now: new Date(), newId: randomUUID };
    for (let i = 0; i < 2_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => {
        const personId = randomUUID();
        return s.running.adapters.store.appendToStream(`person-${personId}`, toNewEvents([{ type: 'PersonCreated', data: { personId, listId, fields: { firstName: `Bulk ${i + k} ${'x'.repeat(400)}` }, fieldChanges: [] } }], ctx), { expectedRevision: 'no_stream' });
      }));
    }
    // an output that takes its time (a pipe to a slow consumer): small buffer, each chunk acknowledged later
    let bytes = 0;
    let mostCloseListeners = 0;
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) { bytes += chunk.length; mostCloseListeners = Math.max(mostCloseListeners, out.listenerCount('close')); setTimeout(cb, 1); },
    });
    const warnings: string[] = [];
    const onWarning = (w: Error) => { warnings.push(w.name); };
    process.on('warning', onWarning);
    try {
      const code = await runCli(['events', 'export'], { out, err: new Writable({ write(_c, _e, cb) { cb(); } }), env: { MUSTER_DATA_DIR: s.dataDir, LOG_LEVEL: 'silent' } } as never);
      expect(code).toBe(0);
    } finally {
      process.off('warning', onWarning);
    }
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(mostCloseListeners).toBeLessThanOrEqual(2);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});

type LogRecords = ReturnType<typeof decodeLog>['records'];

/** edits Grace's PersonCreated event in place; returns its position */
function edit(records: LogRecords, change: (ev: LogRecords[number]['events'][number]) => void): { position: number } {
  const target = stored.find((e) => e.type === 'PersonCreated' && e.streamId === `person-${grace}`)!;
  const rec = records.find((r) => r.firstPosition <= target.position && target.position < r.firstPosition + r.events.length)!;
  change(rec.events[target.position - rec.firstPosition]);
  return { position: target.position };
}

/** recomputes prevHash/hash along one stream, as an attacker who knows the scheme would */
function rechain(records: LogRecords, streamId: string): void {
  let prev = GENESIS_HASH;
  for (const r of records.filter((x) => x.streamId === streamId)) {
    r.events.forEach((ev, i) => {
      const metadata: Record<string, unknown> = { ...ev.metadata, prevHash: prev };
      delete metadata.hash;
      const hash = eventHash({ streamId, revision: r.firstRevision + i, type: ev.type, data: ev.data, metadata, prevHash: prev });
      ev.metadata = { ...metadata, hash };
      prev = hash;
    });
  }
}

describe('muster import csv over the admin API', () => {
  it('uploads, maps (suggested or --map), prints the summary, applies with --apply; exits 1 on invalid rows unless --skip-invalid', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'muster-cli-import-'));
    const list = (await s.admin('POST', '/lists', { name: 'Imported' })).body.id;
    await s.admin('POST', `/lists/${list}/fields`, { key: 'firstName', label: 'First name', type: 'text' });
    await s.admin('POST', `/lists/${list}/fields`, { key: 'email', label: 'Email', type: 'email' });
    const remote = ['--url', s.url, '--token', ADMIN];
    const good = join(dir, 'good.csv');
    await writeFile(good, 'Forename,E-mail\nAda,ada@x.org\nBob,bob@x.org\n');
    const dry = await muster(['import', 'csv', '--list', list, good, ...remote]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(lines(dry.stdout)[0].summary).toMatchObject({ rows: 2, create: 2, invalid: 0 });
    expect(dry.stderr).toMatch(/not applied \(add --apply\)/);
    const applied = await muster(['import', 'csv', '--list', list, good, '--uid', 'E-mail', '--map', 'Forename=firstName:uppercase', '--map', 'E-mail=email:lowercase', '--apply', ...remote]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(lines(applied.stdout).at(-1)).toMatchObject({ status: 'applied' });
    const people = (await s.admin('GET', `/lists/${list}/people?sort=firstName`)).body.items;
    expect(people.map((p: any) => p.fields.firstName)).toEqual(['ADA', 'BOB']);

    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'Forename,E-mail\nCy,cy@x.org\nDee,not-an-email\n');
    const refused = await muster(['import', 'csv', '--list', list, bad, '--apply', ...remote]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/row 2: invalid_email/);
    const skipped = await muster(['import', 'csv', '--list', list, bad, '--apply', '--skip-invalid', ...remote]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect((await s.admin('GET', `/lists/${list}/people`)).body.total).toBe(3);
    const usage = await muster(['import', 'csv', '--list', list, ...remote]);
    expect(usage.code).toBe(2);
  });
});

describe('muster audit verify on a log edited on disk', () => {
  let logPath: string;
  let original: Buffer;
  let anchor: { position: number; digest: string };

  beforeAll(async () => {
    const head = await muster(['audit', 'head']);
    anchor = JSON.parse(head.stdout);
    await s.stop({ keepData: true });
    stopped = true;
    logPath = join(s.dataDir, 'events', LOG_FILE_NAME);
    original = await readFile(logPath);
    expect(anchor.position).toBe(decodeLog(original).records.reduce((n, r) => n + r.events.length, 0) - 1);
  });
  afterAll(async () => {
    const { rm } = await import('node:fs/promises');
    await rm(s.dataDir, { recursive: true, force: true });
  });

  it('reports the first edited event (exit 1), even when the record checksum was recomputed', async () => {
    // rename Grace to Eve in her PersonCreated event, keeping the file well-formed
    const { records } = decodeLog(original);
    const target = edit(records, (ev) => { (ev.data.fields as Record<string, unknown>).firstName = 'Eve'; });
    await writeFile(logPath, encodeLog(records));

    const [text, json] = await Promise.all([muster(['audit', 'verify']), muster(['audit', 'verify', '--json'])]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`BREAK at position ${target.position} (stream person-${grace}, revision 0): hash does not match the event content`);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBreak: { position: target.position, streamId: `person-${grace}`, revision: 0 } });
  });

  it('catches an edit whose stream chain was recomputed too, through the recorded head digest (exit 1)', async () => {
    const { records } = decodeLog(original);
    edit(records, (ev) => { (ev.data.fields as Record<string, unknown>).firstName = 'Eve'; });
    rechain(records, `person-${grace}`);
    await writeFile(logPath, encodeLog(records));

    const [plain, anchored, headNow] = await Promise.all([
      muster(['audit', 'verify']),
      muster(['audit', 'verify', '--anchor', `${anchor.position}:${anchor.digest}`]),
      muster(['audit', 'head', '--position', String(anchor.position)]),
    ]);
    // every link is consistent again: the chain alone cannot see a rewritten stream tail...
    expect(plain.code, plain.stderr).toBe(0);
    // ...the digest an auditor wrote down can
    expect(anchored.code).toBe(1);
    expect(anchored.stderr).toContain(`ANCHOR MISMATCH at position ${anchor.position}: recorded ${anchor.digest}`);
    expect(JSON.parse(headNow.stdout).digest).not.toBe(anchor.digest);
  });

  it('reports a damaged record (exit 1) when bytes were changed without fixing the checksum', async () => {
    const damaged = Buffer.from(original);
    // a list's name is stored in clear (people's names are sealed: see the personal-data tests)
    const at = damaged.indexOf(Buffer.from('"Staff"'));
    expect(at).toBeGreaterThan(0);
    damaged.write('"Stuff"', at);
    await writeFile(logPath, damaged);
    const res = await muster(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/BREAK: the log file is damaged at byte \d+, after position \d+ \(crc mismatch\)/);
  });

  it('says OK (exit 0) and matches the anchor once the original bytes are back', async () => {
    await writeFile(logPath, original);
    const res = await muster(['audit', 'verify', '--anchor', `${anchor.position}:${anchor.digest}`]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`digest up to position ${anchor.position} matches the anchor`);
  });
});
