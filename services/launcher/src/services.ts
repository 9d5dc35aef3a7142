import type { ServiceModule } from '@muster/runtime';
import { projectorModule } from '@muster/projector';
import { mappingModule } from '@muster/mapping';
import { adminApiModule } from '@muster/admin-api';
import { scimIngressModule } from '@muster/scim-ingress';

/**
 * Every service the one-process runtime runs, in start order (the projector first so read models
 * rebuild from the log, the mapping service before the HTTP services that ask it).
 * Adding a service: write its ServiceModule and list it here.
 */
export const ALL_SERVICES: ServiceModule[] = [projectorModule, mappingModule, adminApiModule, scimIngressModule];
