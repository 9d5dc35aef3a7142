/** Discovery documents of RFC 7644 §4 / RFC 7643 §5–7: ServiceProviderConfig, ResourceTypes, Schemas. */
import type { ResourceSchema, SchemaDefinition } from './schema-types.ts';
import { createUserResourceSchema, GROUP_RESOURCE_SCHEMA, type CustomExtension } from './schemas.ts';

export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export interface AuthenticationScheme {
  type: string;
  name: string;
  description: string;
  specUri?: string;
  documentationUri?: string;
  primary?: boolean;
}

export interface ServiceProviderConfigOptions {
  /** Base URL of the SCIM endpoint (no trailing slash); sets meta.location when given. */
  baseUrl?: string;
  documentationUri?: string;
  /** default true */
  patch?: boolean;
  /** default { supported: false, maxOperations: 0, maxPayloadSize: 0 } */
  bulk?: { supported?: boolean; maxOperations: number; maxPayloadSize: number };
  /** default { supported: true, maxResults: 200 } */
  filter?: { supported?: boolean; maxResults: number };
  /** default true */
  sort?: boolean;
  /** default false */
  etag?: boolean;
  /** Passwords are never stored: always false. */
  changePassword?: false;
  /** default: one OAuth bearer token scheme */
  authenticationSchemes?: AuthenticationScheme[];
}

export interface ServiceProviderConfig {
  schemas: [typeof SERVICE_PROVIDER_CONFIG_SCHEMA];
  documentationUri?: string;
  patch: { supported: boolean };
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number };
  changePassword: { supported: boolean };
  sort: { supported: boolean };
  etag: { supported: boolean };
  authenticationSchemes: AuthenticationScheme[];
  meta: { resourceType: 'ServiceProviderConfig'; location?: string };
}

const BEARER: AuthenticationScheme = {
  type: 'oauthbearertoken',
  name: 'OAuth Bearer Token',
  description: 'Authentication scheme using the OAuth Bearer Token Standard',
  specUri: 'https://www.rfc-editor.org/info/rfc6750',
  primary: true,
};

function positiveInt(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${n}`);
  return n;
}

export function buildServiceProviderConfig(options: ServiceProviderConfigOptions = {}): ServiceProviderConfig {
  const bulk = options.bulk ?? { supported: false, maxOperations: 0, maxPayloadSize: 0 };
  const filter = options.filter ?? { supported: true, maxResults: 200 };
  const config: ServiceProviderConfig = {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: options.patch ?? true },
    bulk: {
      supported: bulk.supported ?? true,
      maxOperations: positiveInt('bulk.maxOperations', bulk.maxOperations),
      maxPayloadSize: positiveInt('bulk.maxPayloadSize', bulk.maxPayloadSize),
    },
    filter: { supported: filter.supported ?? true, maxResults: positiveInt('filter.maxResults', filter.maxResults) },
    changePassword: { supported: false },
    sort: { supported: options.sort ?? true },
    etag: { supported: options.etag ?? false },
    authenticationSchemes: (options.authenticationSchemes ?? [BEARER]).map((s) => ({ ...s })),
    meta: { resourceType: 'ServiceProviderConfig' },
  };
  if (options.documentationUri !== undefined) config.documentationUri = options.documentationUri;
  if (options.baseUrl !== undefined) config.meta.location = `${options.baseUrl}/ServiceProviderConfig`;
  return config;
}

export interface DiscoveryOptions {
  /** Base URL of the SCIM endpoint (no trailing slash); sets meta.location when given. */
  baseUrl?: string;
  /** Custom extension schemas added to the User resource type. */
  userExtensions?: readonly CustomExtension[];
}

export interface ResourceTypeDocument {
  schemas: [typeof RESOURCE_TYPE_SCHEMA];
  id: string;
  name: string;
  endpoint: string;
  description: string;
  schema: string;
  schemaExtensions: { schema: string; required: boolean }[];
  meta: { resourceType: 'ResourceType'; location?: string };
}

export interface SchemaDocument extends SchemaDefinition {
  schemas: [typeof SCHEMA_SCHEMA];
  meta: { resourceType: 'Schema'; location?: string };
}

export function resourceSchemas(options: DiscoveryOptions = {}): ResourceSchema[] {
  return [createUserResourceSchema(options.userExtensions ?? []), GROUP_RESOURCE_SCHEMA];
}

export function buildResourceTypes(options: DiscoveryOptions = {}): ResourceTypeDocument[] {
  return resourceSchemas(options).map((rs) => {
    const doc: ResourceTypeDocument = {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: rs.resourceType,
      name: rs.resourceType,
      endpoint: rs.endpoint,
      description: rs.description,
      schema: rs.core.id,
      schemaExtensions: rs.extensions.map((e) => ({ schema: e.schema.id, required: e.required })),
      meta: { resourceType: 'ResourceType' },
    };
    if (options.baseUrl !== undefined) doc.meta.location = `${options.baseUrl}/ResourceTypes/${rs.resourceType}`;
    return doc;
  });
}

/** Every schema (core, extensions) as `/Schemas` entries: plain JSON, no nulls, camelCase values. */
export function buildSchemas(options: DiscoveryOptions = {}): SchemaDocument[] {
  const seen = new Set<string>();
  const docs: SchemaDocument[] = [];
  for (const rs of resourceSchemas(options)) {
    for (const schema of [rs.core, ...rs.extensions.map((e) => e.schema)]) {
      if (seen.has(schema.id)) continue;
      seen.add(schema.id);
      const copy = structuredClone(schema) as SchemaDefinition;
      const doc: SchemaDocument = { schemas: [SCHEMA_SCHEMA], ...copy, meta: { resourceType: 'Schema' } };
      if (options.baseUrl !== undefined) doc.meta.location = `${options.baseUrl}/Schemas/${schema.id}`;
      docs.push(doc);
    }
  }
  return docs;
}

export interface ListResponse<T> {
  schemas: [typeof LIST_RESPONSE_SCHEMA];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: T[];
}

/** A ListResponse with integer fields as numbers (Okta item 1). */
export function buildListResponse<T>(resources: T[], totalResults: number, startIndex = 1): ListResponse<T> {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}
