/**
 * `muster log rewrite` and `muster log check-statement` (the procedure: docs/operations.md,
 * "Rewriting a log written before personal data was sealed").
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import type { MusterConfig } from '@muster/config';
import { EventStoreLockedError, logDigest, openEmbeddedEventStore, withHashChain } from '@muster/event-store';
import { openVault, rewriteLog, signStatement, statementKey, verifyStatement, type RewriteStatement } from '@muster/personal-data';
import { embeddedLogDir } from './stores.ts';

interface Io { out: Writable; err: Writable; env: Record<string, string | undefined> }
interface Deps {
  config: (io: Io) => Promise<MusterConfig>;
  write: (stream: Writable, chunk: string) => Promise<void>;
  UsageError: new (message: string) => Error;
}

const STATEMENT_LABEL = 'muster log rewrite statement';

export async function rewriteCommand(values: Record<string, unknown>, io: Io, d: Deps): Promise<number> {
  const cfg = await d.config(io);
  if (cfg.eventStore.kind !== 'embedded') throw new d.UsageError('log rewrite copies the embedded log (MUSTER_EVENT_STORE=embedded); an EventStoreDB log is copied into a new database with the same steps by a migration job, not this command');
  const out = values.out as string | undefined;
  if (!out) throw new d.UsageError('log rewrite needs --out DIR (a new, empty directory for the rewritten log)');
  const targetDir = join(resolve(out), 'events');
  await mkdir(targetDir, { recursive: true });
  if ((await readdir(targetDir)).length) throw new d.UsageError(`${targetDir} is not empty`);
  // the writer's lock: the server must be stopped (it writes the same log and data keys)
  const source = await openEmbeddedEventStore({ dir: embeddedLogDir(cfg) }).catch((err: Error) => {
    if (err instanceof EventStoreLockedError) throw new d.UsageError(`the log in ${embeddedLogDir(cfg)} is in use: stop the server first`);
    throw err;
  });
  const target = withHashChain(await openEmbeddedEventStore({ dir: targetDir }));
  const { vault, keys, box } = await openVault({ dataDir: cfg.dataDir, secretKey: cfg.secretKey });
  try {
    const unsigned = await rewriteLog(source, target, vault, {
      now: new Date(),
      onProgress: (n) => { if (n % 100_000 === 0) void d.write(io.err, `${n} events\n`); },
    });
    const statement = signStatement(unsigned, statementKey(box.derive(STATEMENT_LABEL)));
    const file = (values.statement as string | undefined) ?? join(resolve(out), 'rewrite-statement.json');
    await writeFile(file, `${JSON.stringify(statement, null, 2)}\n`, { mode: 0o644 });
    await d.write(io.out, `${JSON.stringify({ before: statement.before, after: statement.after, counts: statement.counts, statement: file, log: targetDir })}\n`);
    await d.write(io.err, `rewritten: ${statement.counts.sealed} events sealed, ${statement.counts.erased} with an erased person's data removed, ${statement.counts.unchanged} as they were\n`);
    return 0;
  } finally {
    await target.close();
    await source.close();
    await keys.close();
  }
}

export async function checkStatementCommand(positionals: string[], io: Io, d: Deps): Promise<number> {
  const cfg = await d.config(io);
  const [file] = positionals;
  if (!file) throw new d.UsageError('log check-statement needs the statement FILE');
  const statement = JSON.parse(await readFile(file, 'utf8')) as RewriteStatement;
  const { keys, box } = await openVault({ dataDir: cfg.dataDir, secretKey: cfg.secretKey, readOnly: true });
  await keys.close();
  if (!verifyStatement(statement, statementKey(box.derive(STATEMENT_LABEL)))) {
    await d.write(io.err, 'BAD SIGNATURE: the statement was not signed by this install\'s key, or was changed\n');
    return 1;
  }
  const log = await openEmbeddedEventStore({ dir: embeddedLogDir(cfg), readOnly: true });
  try {
    const digest = await logDigest(log, statement.after.position);
    if (digest.digest !== statement.after.digest || digest.position !== statement.after.position) {
      await d.write(io.err, `MISMATCH: the log's digest up to position ${statement.after.position} is ${digest.digest}, the statement says ${statement.after.digest}\n`);
      return 1;
    }
  } finally {
    await log.close();
  }
  await d.write(io.out, `OK: signed by this install; the log matches the rewritten head (position ${statement.after.position}); it replaced a log whose head was ${statement.before.digest} at position ${statement.before.position}\n`);
  return 0;
}
