/** Schema model of RFC 7643 §7: the same objects serve `/Schemas` responses and validation. */

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDefinition[];
}

export interface SchemaDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
}

export interface SchemaExtensionRef {
  readonly schema: SchemaDefinition;
  readonly required: boolean;
}

/** A resource type's core schema plus its extensions: what the validating functions take. */
export interface ResourceSchema {
  /** "User", "Group" */
  readonly resourceType: string;
  readonly endpoint: string;
  readonly description: string;
  readonly core: SchemaDefinition;
  readonly extensions: readonly SchemaExtensionRef[];
}

/** A SCIM resource as JSON. */
export type ScimResource = Record<string, unknown>;
