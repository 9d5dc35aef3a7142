/** Entry point: `npx muster ...` (cli/bin/muster.mjs) or `npm run muster -- ...`. */
import { run } from './run.ts';

// a reader that stops early (`muster events export | head`) is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

try {
  process.exitCode = await run(process.argv.slice(2), { out: process.stdout, err: process.stderr, env: process.env });
} catch (err) {
  process.stderr.write(`muster: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
}
