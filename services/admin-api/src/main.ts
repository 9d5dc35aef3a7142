import { loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { adminApiModule } from './module.ts';

await runServices([adminApiModule], loadConfig());
