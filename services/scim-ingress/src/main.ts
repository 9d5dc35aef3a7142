import { loadConfig } from '@muster/config';
import { runServices } from '@muster/runtime';
import { scimIngressModule } from './module.ts';

await runServices([scimIngressModule], loadConfig());
