import { ConfigError, loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { ALL_SERVICES } from './services.ts';

try {
  const config = loadConfig();
  const running = await runServices(ALL_SERVICES, config);
  process.stdout.write(`Muster is running on ${running.url} (data in ${config.dataDir}; event store ${config.eventStore.kind}, read store ${config.readStore.kind}, bus ${config.bus.kind})\n`);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
