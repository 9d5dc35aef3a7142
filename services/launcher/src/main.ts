import { ConfigError, loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { ALL_SERVICES, readStoreHostFor } from './services.ts';

try {
  const config = loadConfig();
  const running = await runServices(ALL_SERVICES, config, { readStoreHost: readStoreHostFor() });
  process.stdout.write(`Muster is running on ${running.url} (data in ${config.dataDir}; event store ${config.eventStore.kind}, read store ${config.readStore.kind}${running.adapters.projection ? ' (projector thread)' : ''}, bus ${config.bus.kind})\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
