/**
 * RFC 7643 schemas as data: core User (§4.1), Enterprise User extension (§4.3), Group (§4.2),
 * and the common attributes of §3.1 (id, externalId, meta, schemas) used for validation only
 * (RFC 7643 §7 keeps them out of the `/Schemas` representation).
 */
import type { AttributeDefinition, AttributeType, ResourceSchema, SchemaDefinition, SchemaExtensionRef } from './schema-types.ts';

export const USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type AttrOptions = Partial<Omit<AttributeDefinition, 'name' | 'type' | 'description'>>;

function attr(name: string, type: AttributeType, description: string, options: AttrOptions = {}): AttributeDefinition {
  const def: AttributeDefinition = {
    name,
    type,
    multiValued: options.multiValued ?? false,
    description,
    required: options.required ?? false,
    caseExact: options.caseExact ?? false,
    mutability: options.mutability ?? 'readWrite',
    returned: options.returned ?? 'default',
    uniqueness: options.uniqueness ?? 'none',
  };
  const extra: { canonicalValues?: readonly string[]; referenceTypes?: readonly string[]; subAttributes?: readonly AttributeDefinition[] } = {};
  if (options.canonicalValues) extra.canonicalValues = options.canonicalValues;
  if (options.referenceTypes) extra.referenceTypes = options.referenceTypes;
  if (options.subAttributes) extra.subAttributes = options.subAttributes;
  return { ...def, ...extra };
}

/** value/display/type/primary, the usual shape of a multi-valued complex attribute (RFC 7643 §2.4). */
function multiValuedComplex(
  name: string,
  description: string,
  types: readonly string[] | undefined,
  valueType: AttributeType = 'string',
  valueOptions: AttrOptions = {},
): AttributeDefinition {
  const typeOptions: AttrOptions = types ? { canonicalValues: types } : {};
  return attr(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      attr('value', valueType, `The value of the ${name} entry.`, valueOptions),
      attr('display', 'string', 'A human-readable name, primarily used for display purposes.'),
      attr('type', 'string', `A label indicating the ${name} entry's function.`, typeOptions),
      attr('primary', 'boolean', `A Boolean value indicating the 'primary' or preferred ${name} entry. The primary attribute value 'true' MUST appear no more than once.`),
    ],
  });
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const USER_SCHEMA: SchemaDefinition = deepFreeze({
  id: USER_SCHEMA_ID,
  name: 'User',
  description: 'User Account',
  attributes: [
    attr('userName', 'string', "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users.", { required: true, uniqueness: 'server' }),
    attr('name', 'complex', "The components of the user's real name.", {
      subAttributes: [
        attr('formatted', 'string', "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
        attr('familyName', 'string', 'The family name of the User, or last name in most Western languages.'),
        attr('givenName', 'string', 'The given name of the User, or first name in most Western languages.'),
        attr('middleName', 'string', 'The middle name(s) of the User.'),
        attr('honorificPrefix', 'string', 'The honorific prefix(es) of the User, or title in most Western languages.'),
        attr('honorificSuffix', 'string', 'The honorific suffix(es) of the User, or suffix in most Western languages.'),
      ],
    }),
    attr('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
    attr('nickName', 'string', 'The casual way to address the user in real life.'),
    attr('profileUrl', 'reference', "A fully qualified URL pointing to a page representing the User's online profile.", { referenceTypes: ['external'] }),
    attr('title', 'string', "The user's title, such as \"Vice President\"."),
    attr('userType', 'string', 'Used to identify the relationship between the organization and the user.'),
    attr('preferredLanguage', 'string', "Indicates the User's preferred written or spoken language (RFC 7231 Accept-Language format)."),
    attr('locale', 'string', "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
    attr('timezone', 'string', "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
    attr('active', 'boolean', "A Boolean value indicating the User's administrative status."),
    attr('password', 'string', "The User's cleartext password. Never stored or returned by this service.", { mutability: 'writeOnly', returned: 'never' }),
    multiValuedComplex('emails', 'Email addresses for the user.', ['work', 'home', 'other']),
    multiValuedComplex('phoneNumbers', 'Phone numbers for the User.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    multiValuedComplex('ims', 'Instant messaging addresses for the User.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    multiValuedComplex('photos', 'URLs of photos of the User.', ['photo', 'thumbnail'], 'reference', { referenceTypes: ['external'] }),
    attr('addresses', 'complex', 'A physical mailing address for this User.', {
      multiValued: true,
      subAttributes: [
        attr('formatted', 'string', 'The full mailing address, formatted for display or use with a mailing label.'),
        attr('streetAddress', 'string', 'The full street address component.'),
        attr('locality', 'string', 'The city or locality component.'),
        attr('region', 'string', 'The state or region component.'),
        attr('postalCode', 'string', 'The zip code or postal code component.'),
        attr('country', 'string', 'The country name component.'),
        attr('type', 'string', "A label indicating the attribute's function, e.g., 'work' or 'home'.", { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', "A Boolean value indicating the 'primary' or preferred address."),
      ],
    }),
    attr('groups', 'complex', "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.", {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        attr('value', 'string', "The identifier of the User's group.", { mutability: 'readOnly' }),
        attr('$ref', 'reference', "The URI of the corresponding 'Group' resource to which the user belongs.", { mutability: 'readOnly', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', 'A human-readable name, primarily used for display purposes.', { mutability: 'readOnly' }),
        attr('type', 'string', "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.", { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multiValuedComplex('entitlements', 'A list of entitlements for the User that represent a thing the User has.', undefined),
    multiValuedComplex('roles', 'A list of roles for the User that collectively represent who the User is.', undefined),
    multiValuedComplex('x509Certificates', 'A list of certificates issued to the User.', undefined, 'binary'),
  ],
});

export const ENTERPRISE_USER_SCHEMA: SchemaDefinition = deepFreeze({
  id: ENTERPRISE_USER_SCHEMA_ID,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    attr('employeeNumber', 'string', 'Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.'),
    attr('costCenter', 'string', 'Identifies the name of a cost center.'),
    attr('organization', 'string', 'Identifies the name of an organization.'),
    attr('division', 'string', 'Identifies the name of a division.'),
    attr('department', 'string', 'Identifies the name of a department.'),
    attr('manager', 'complex', "The User's manager.", {
      subAttributes: [
        attr('value', 'string', 'The id of the SCIM resource representing the User\'s manager.'),
        attr('$ref', 'reference', "The URI of the SCIM resource representing the User's manager.", { referenceTypes: ['User'] }),
        attr('displayName', 'string', "The displayName of the User's manager.", { mutability: 'readOnly' }),
      ],
    }),
  ],
});

export const GROUP_SCHEMA: SchemaDefinition = deepFreeze({
  id: GROUP_SCHEMA_ID,
  name: 'Group',
  description: 'Group',
  attributes: [
    attr('displayName', 'string', 'A human-readable name for the Group.', { required: true }),
    attr('members', 'complex', 'A list of members of the Group.', {
      multiValued: true,
      subAttributes: [
        attr('value', 'string', 'Identifier of the member of this Group.', { mutability: 'immutable' }),
        attr('$ref', 'reference', 'The URI corresponding to a SCIM resource that is a member of this Group.', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', 'A human-readable name for the member, as the client sent it.', { mutability: 'immutable' }),
        attr('type', 'string', 'A label indicating the type of resource, e.g., \'User\' or \'Group\'.', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
});

/** RFC 7643 §3.1 common attributes: part of every resource, not of any `/Schemas` entry. */
export const COMMON_ATTRIBUTES: readonly AttributeDefinition[] = deepFreeze([
  attr('id', 'string', 'A unique identifier for a SCIM resource as defined by the service provider.', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  attr('externalId', 'string', 'A String that is an identifier for the resource as defined by the provisioning client.', { caseExact: true }),
  attr('schemas', 'reference', 'The schema URIs the resource conforms to.', { multiValued: true, returned: 'always' }),
  attr('meta', 'complex', 'A complex attribute containing resource metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      attr('resourceType', 'string', 'The name of the resource type of the resource.', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', 'The DateTime that the resource was added to the service provider.', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'The most recent DateTime that the details of this resource were updated at the service provider.', { mutability: 'readOnly' }),
      attr('location', 'reference', 'The URI of the resource being returned.', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', 'The version of the resource being returned (an ETag).', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
]);

export interface CustomExtension {
  schema: SchemaDefinition;
  required?: boolean;
}

/** The User resource schema (core + enterprise), optionally with one or more extra extension schemas. */
export function createUserResourceSchema(extra: readonly CustomExtension[] = []): ResourceSchema {
  const extensions: SchemaExtensionRef[] = [{ schema: ENTERPRISE_USER_SCHEMA, required: false }];
  for (const ext of extra) {
    if (!/^urn:/i.test(ext.schema.id)) throw new Error(`Extension schema id must be a URN, got "${ext.schema.id}"`);
    if (extensions.some((e) => e.schema.id.toLowerCase() === ext.schema.id.toLowerCase())) {
      throw new Error(`Duplicate extension schema "${ext.schema.id}"`);
    }
    extensions.push({ schema: deepFreeze(structuredClone(ext.schema)), required: ext.required ?? false });
  }
  return deepFreeze({ resourceType: 'User', endpoint: '/Users', description: 'User Account', core: USER_SCHEMA, extensions });
}

export const USER_RESOURCE_SCHEMA: ResourceSchema = createUserResourceSchema();

export const GROUP_RESOURCE_SCHEMA: ResourceSchema = deepFreeze({
  resourceType: 'Group',
  endpoint: '/Groups',
  description: 'Group',
  core: GROUP_SCHEMA,
  extensions: [],
});
