import { loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { projectorModule } from './module.ts';

await runServices([projectorModule], loadConfig());
