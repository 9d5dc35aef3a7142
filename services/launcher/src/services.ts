import type { ServiceModule } from '@muster/runtime';
import { projectorModule, projectorThread } from '@muster/projector';
import { mappingModule } from '@muster/mapping';
import { adminApiModule } from '@muster/admin-api';
import { scimIngressModule } from '@muster/scim-ingress';

/**
 * Every service the one-process runtime runs, in start order (the projector first so read models
 * rebuild from the log, the mapping service before the HTTP services that ask it).
 * Adding a service: write its ServiceModule and list it here.
 */
export const ALL_SERVICES: ServiceModule[] = [projectorModule, mappingModule, adminApiModule, scimIngressModule];

/**
 * Where the one-process runtime keeps its in-memory read store on the embedded stack: in the
 * projector's worker thread (see services/projector/src/thread.ts), off the thread serving HTTP.
 * MUSTER_PROJECTOR_THREAD=inline keeps everything on one thread.
 */
export function readStoreHostFor(env: NodeJS.ProcessEnv = process.env) {
  return env.MUSTER_PROJECTOR_THREAD === 'inline' ? undefined : projectorThread;
}
