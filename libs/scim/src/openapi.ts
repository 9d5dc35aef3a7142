/**
 * The SCIM 2.0 endpoints of a list, described as OpenAPI 3 paths (the admin API's /docs carries
 * them beside its own): what an IdP, or someone testing a connection by hand, may call. SCIM's own
 * discovery endpoints (ServiceProviderConfig, Schemas, ResourceTypes) stay the authority on the
 * attributes; this description names the operations, parameters and answers.
 */
type Json = Record<string, unknown>;

const SCIM_JSON = 'application/scim+json';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const body = (schema: Json, description: string) => ({ description, content: { [SCIM_JSON]: { schema } } });
const errors = {
  400: body(ref('ScimError'), 'invalid request (scimType: invalidFilter, invalidValue, invalidPath, invalidSyntax, mutability, uniqueness, tooMany, noTarget)'),
  401: body(ref('ScimError'), 'missing, invalid, revoked or expired SCIM token'),
  403: body(ref('ScimError'), "the organisation's plan does not include SCIM provisioning"),
  404: body(ref('ScimError'), 'no such resource on this list'),
  409: body(ref('ScimError'), 'uniqueness: the identifier belongs to another user or group'),
  412: body(ref('ScimError'), 'If-Match does not match the current version'),
  413: body(ref('ScimError'), 'body larger than the limit'),
  429: body(ref('ScimError'), 'rate limited (Retry-After)'),
};
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const listId = { name: 'listId', in: 'path', required: true, schema: { type: 'string' }, description: 'the list the token belongs to' };
const ifMatch = { name: 'If-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'ETag of the version this write expects' };
const query = (name: string, description: string, schema: Json = { type: 'string' }) => ({ name, in: 'query', required: false, schema, description });
const listParams = [
  query('filter', 'RFC 7644 filter, e.g. userName eq "ada@example.org" (at most 4,096 characters)'),
  query('startIndex', '1-based index of the first result', { type: 'integer', minimum: 1 }),
  query('count', 'page size (capped at filter.maxResults)', { type: 'integer', minimum: 0 }),
  query('sortBy', 'attribute to sort by'), query('sortOrder', 'ascending or descending', { type: 'string', enum: ['ascending', 'descending'] }),
  query('attributes', 'comma-separated attributes to return'), query('excludedAttributes', 'comma-separated attributes to leave out'),
];

function resource(kind: 'User' | 'Group', tag: string): Json {
  const collection = {
    get: { tags: [tag], summary: `Find ${kind}s (filter, paging, sorting)`, security: [{ scimBearer: [] }], parameters: [listId, ...listParams], responses: { 200: body(ref('ScimListResponse'), 'a ListResponse'), ...errors } },
    post: { tags: [tag], summary: `Create a ${kind}`, security: [{ scimBearer: [] }], parameters: [listId], requestBody: body(ref(`Scim${kind}`), kind), responses: { 201: body(ref(`Scim${kind}`), `the ${kind} created`), ...errors } },
  };
  const one = {
    get: { tags: [tag], summary: `Read a ${kind}`, security: [{ scimBearer: [] }], parameters: [listId, id, query('attributes', 'comma-separated attributes to return')], responses: { 200: body(ref(`Scim${kind}`), kind), ...errors } },
    put: { tags: [tag], summary: `Replace a ${kind}`, security: [{ scimBearer: [] }], parameters: [listId, id, ifMatch], requestBody: body(ref(`Scim${kind}`), kind), responses: { 200: body(ref(`Scim${kind}`), `the ${kind} as stored`), ...errors } },
    patch: { tags: [tag], summary: `Change a ${kind} (PatchOp: add, replace, remove)`, security: [{ scimBearer: [] }], parameters: [listId, id, ifMatch], requestBody: body(ref('ScimPatchOp'), 'PatchOp'), responses: { 200: body(ref(`Scim${kind}`), `the ${kind} as stored`), 204: { description: 'changed (no body requested)' }, ...errors } },
    delete: { tags: [tag], summary: kind === 'User' ? 'Deprovision a User (unlinked and inactive on the list; its history kept)' : 'Delete a Group', security: [{ scimBearer: [] }], parameters: [listId, id, ifMatch], responses: { 204: { description: 'deleted' }, ...errors } },
  };
  return { collection, one };
}

/** OpenAPI paths (keyed by `{prefix}/...`) and the components they refer to */
export function scimOpenApi(prefix = '/scim/v2/lists/{listId}'): { paths: Json; schemas: Json; securitySchemes: Json } {
  const users = resource('User', 'SCIM Users');
  const groups = resource('Group', 'SCIM Groups');
  const discovery = (summary: string) => ({ get: { tags: ['SCIM discovery'], summary, security: [{ scimBearer: [] }], parameters: [listId], responses: { 200: body({ type: 'object' }, summary), ...errors } } });
  return {
    paths: {
      [`${prefix}/Users`]: users.collection,
      [`${prefix}/Users/{id}`]: users.one,
      [`${prefix}/Groups`]: groups.collection,
      [`${prefix}/Groups/{id}`]: groups.one,
      [`${prefix}/Bulk`]: { post: { tags: ['SCIM Bulk'], summary: 'Several writes in one request (bulk.maxOperations and bulk.maxPayloadSize apply)', security: [{ scimBearer: [] }], parameters: [listId], requestBody: body({ type: 'object', required: ['schemas', 'Operations'] }, 'BulkRequest'), responses: { 200: body({ type: 'object' }, 'BulkResponse'), ...errors } } },
      [`${prefix}/ServiceProviderConfig`]: discovery('What this SCIM server supports (filter, sort, PATCH, Bulk, ETags, authentication)'),
      [`${prefix}/Schemas`]: discovery('The User, Group and enterprise extension schemas, with the list\'s custom attributes'),
      [`${prefix}/ResourceTypes`]: discovery('The resource types: User (with the enterprise extension) and Group'),
    },
    schemas: {
      ScimError: { type: 'object', required: ['schemas', 'status', 'detail'], properties: { schemas: { type: 'array', items: { type: 'string', enum: ['urn:ietf:params:scim:api:messages:2.0:Error'] } }, status: { type: 'string' }, scimType: { type: 'string' }, detail: { type: 'string' } } },
      ScimListResponse: { type: 'object', required: ['schemas', 'totalResults', 'Resources'], properties: { schemas: { type: 'array', items: { type: 'string' } }, totalResults: { type: 'integer' }, startIndex: { type: 'integer' }, itemsPerPage: { type: 'integer' }, Resources: { type: 'array', items: { type: 'object' } } } },
      ScimUser: {
        type: 'object', required: ['userName'], additionalProperties: true, properties: {
          schemas: { type: 'array', items: { type: 'string' } }, id: { type: 'string', readOnly: true }, externalId: { type: 'string' }, userName: { type: 'string', maxLength: 1024 },
          name: { type: 'object', properties: { givenName: { type: 'string' }, familyName: { type: 'string' }, formatted: { type: 'string' } } }, displayName: { type: 'string' }, active: { type: 'boolean' },
          emails: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' }, type: { type: 'string' }, primary: { type: 'boolean' } } } },
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { type: 'object', properties: { employeeNumber: { type: 'string' }, department: { type: 'string' } } },
          meta: { type: 'object', readOnly: true },
        },
      },
      ScimGroup: { type: 'object', required: ['displayName'], properties: { schemas: { type: 'array', items: { type: 'string' } }, id: { type: 'string', readOnly: true }, displayName: { type: 'string' }, members: { type: 'array', items: { type: 'object', properties: { value: { type: 'string' } } } } } },
      ScimPatchOp: { type: 'object', required: ['schemas', 'Operations'], properties: { schemas: { type: 'array', items: { type: 'string' } }, Operations: { type: 'array', items: { type: 'object', required: ['op'], properties: { op: { type: 'string' }, path: { type: 'string' }, value: {} } } } } },
    },
    securitySchemes: { scimBearer: { type: 'http', scheme: 'bearer', description: "a list's SCIM token (sct_…), issued under the list's Sync tab" } },
  };
}
