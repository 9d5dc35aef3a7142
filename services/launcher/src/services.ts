import type { ServiceModule } from '@muster/runtime';
import { projectorModule, projectorThread } from '@muster/projector';
import { mappingModule } from '@muster/mapping';
import { adminApiModule } from '@muster/admin-api';
import { scimIngressModule } from '@muster/scim-ingress';
import { entraSyncModule } from '@muster/entra-sync';

/**
 * Every service the one-process runtime runs, in start order (the projector first so read models
 * rebuild from the log, the mapping service before the HTTP services that ask it).
 * Adding a service: write its ServiceModule and list it here.
 */
export const ALL_SERVICES: ServiceModule[] = [projectorModule, mappingModule, adminApiModule, scimIngressModule, entraSyncModule];

/**
 * Node flags `npm start` runs the launcher with (package.json): a 64 MB young-generation semi-space,
 * so the garbage each request leaves is collected in fewer, cheaper scavenges (measured: GC pauses
 * under a steady 1,000 SCIM creates/s fell from ~550 to ~320 ms per 10 s). Benchmarks and tests that
 * start the launcher as its own process use the same.
 */
export const LAUNCHER_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

/**
 * Where the one-process runtime keeps its in-memory read store on the embedded stack: in the
 * projector's worker thread (see services/projector/src/thread.ts), off the thread serving HTTP.
 * MUSTER_PROJECTOR_THREAD=inline keeps everything on one thread.
 */
export function readStoreHostFor(env: NodeJS.ProcessEnv = process.env) {
  return env.MUSTER_PROJECTOR_THREAD === 'inline' ? undefined : projectorThread;
}
