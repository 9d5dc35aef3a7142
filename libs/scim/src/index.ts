export { ERROR_SCHEMA, InvalidFilterError, ScimError, toScimErrorBody } from './errors.ts';
export type { ScimErrorBody, ScimErrorInit, ScimErrorType } from './errors.ts';

export type {
  AttributeDefinition,
  AttributeType,
  Mutability,
  ResourceSchema,
  Returned,
  SchemaDefinition,
  SchemaExtensionRef,
  ScimResource,
  Uniqueness,
} from './schema-types.ts';
export {
  COMMON_ATTRIBUTES,
  createUserResourceSchema,
  ENTERPRISE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA_ID,
  GROUP_RESOURCE_SCHEMA,
  GROUP_SCHEMA,
  GROUP_SCHEMA_ID,
  USER_RESOURCE_SCHEMA,
  USER_SCHEMA,
  USER_SCHEMA_ID,
} from './schemas.ts';
export type { CustomExtension } from './schemas.ts';

export {
  buildListResponse,
  buildResourceTypes,
  buildSchemas,
  buildServiceProviderConfig,
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  resourceSchemas,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
} from './discovery.ts';
export type {
  AuthenticationScheme,
  DiscoveryOptions,
  ListResponse,
  ResourceTypeDocument,
  SchemaDocument,
  ServiceProviderConfig,
  ServiceProviderConfigOptions,
} from './discovery.ts';

export { parseAttributePath, parseFilter, parsePatchPath } from './filter.ts';
export type { AttributePath, CompareOperator, FilterNode, FilterParseOptions, FilterValue, PatchPath } from './filter.ts';
export { evaluateFilter, validateFilter } from './evaluate.ts';
export { DEFAULT_INDEXABLE, filterToQuery } from './query.ts';
export type { EqualityCondition, FilterToQueryOptions } from './query.ts';

export { applyPatch, parsePatchRequest, PATCH_OP_SCHEMA } from './patch.ts';
export type { PatchOperation, PatchOpName } from './patch.ts';
export { diffResources } from './diff.ts';
export type { AttributeChange } from './diff.ts';

export { normalizeResourceInput, normalizeUserInput, projectAttributes, sortResources } from './resource.ts';
export type { NormalizeOptions, ProjectionRequest, SortOrder } from './resource.ts';
export { CustomExtensionCollector, inferCustomExtensions } from './custom.ts';
export { etagMatches, etagOf, ifNoneMatchHits } from './etag.ts';
export { isPlainObject } from './resolve.ts';
export { scimOpenApi } from './openapi.ts';
