import { ConfigError, loadConfig } from '@muster/config';
import { EventStoreLockedError } from '@muster/event-store';
import { runServices } from '@muster/runtime';
import { ALL_SERVICES, readStoreHostFor } from './services.ts';
import { publicUrlWarning, startFailure } from './start-problems.ts';

try {
  const config = loadConfig();
  const warning = publicUrlWarning(config);
  if (warning) process.stderr.write(`Warning: ${warning}\n`);
  const running = await runServices(ALL_SERVICES, config, { readStoreHost: readStoreHostFor() });
  process.stdout.write(`Muster is running on ${running.url} (data in ${config.dataDir}; event store ${config.eventStore.kind}, read store ${config.readStore.kind}${running.adapters.projection ? ' (projector thread)' : ''}, bus ${config.bus.kind})\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  // the usual reasons a start fails are one line each, not a stack trace
  const line = startFailure(err, process.env) ?? (err instanceof EventStoreLockedError ? err.message : null);
  if (line) {
    process.stderr.write(`Muster could not start: ${line}\n`);
    process.exit(1);
  }
  throw err;
}
