import { loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { mappingModule } from './module.ts';

await runServices([mappingModule], loadConfig());
