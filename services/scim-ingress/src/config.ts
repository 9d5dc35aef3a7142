import { defineServiceConfig, envVar } from '@muster/config';

/**
 * The SCIM ingress's own variables (all optional; the defaults suit production IdP traffic).
 * Per-token rate limit: a token bucket refilled at MUSTER_SCIM_RATE_LIMIT requests per second,
 * holding at most MUSTER_SCIM_RATE_BURST (default twice the rate). Okta and Entra send well under
 * 100 requests per second, so the default never throttles an IdP in normal use.
 */
export const loadScimIngressConfig = defineServiceConfig({
  MUSTER_SCIM_RATE_LIMIT: envVar.int({ min: 1 }).default(1_000),
  MUSTER_SCIM_RATE_BURST: envVar.int({ min: 1 }).optional(),
  /** largest request body outside /Bulk (413 beyond) */
  MUSTER_SCIM_MAX_BODY_BYTES: envVar.int({ min: 1_024, max: 64 * 1_048_576 }).default(1_048_576),
  /** advertised bulk.maxOperations and bulk.maxPayloadSize, enforced (413 beyond) */
  MUSTER_SCIM_BULK_MAX_OPERATIONS: envVar.int({ min: 1, max: 100_000 }).default(1_000),
  MUSTER_SCIM_BULK_MAX_PAYLOAD_BYTES: envVar.int({ min: 1_024, max: 64 * 1_048_576 }).default(4 * 1_048_576),
  /** advertised filter.maxResults: the most resources one page returns */
  MUSTER_SCIM_MAX_RESULTS: envVar.int({ min: 1, max: 10_000 }).default(1_000),
});
