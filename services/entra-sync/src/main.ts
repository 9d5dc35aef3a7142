import { loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { entraSyncModule } from './module.ts';

await runServices([entraSyncModule], loadConfig());
