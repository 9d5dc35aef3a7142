import { z } from 'zod';

export const Plan = z.enum(['pro', 'business', 'enterprise']);
export type Plan = z.infer<typeof Plan>;

export const AdminRole = z.enum(['owner', 'admin', 'viewer', 'auditor']);
export type AdminRole = z.infer<typeof AdminRole>;

export const FieldType = z.enum(['text', 'email', 'phone', 'date', 'number', 'boolean', 'enum']);
export type FieldType = z.infer<typeof FieldType>;

export const FieldKey = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'field keys are 1-64 letters, digits or _ and start with a letter');

export const SchemaField = z.object({
  key: FieldKey,
  label: z.string().min(1).max(200),
  type: FieldType,
  required: z.boolean().default(false),
  enumValues: z.array(z.string()).optional(),
  multiValued: z.boolean().default(false),
});
export type SchemaField = z.infer<typeof SchemaField>;

export const UniqueIdentifier = z.enum(['employeeNumber', 'userName', 'email']);
export type UniqueIdentifier = z.infer<typeof UniqueIdentifier>;

export const Transform = z.enum(['direct', 'lowercase', 'uppercase', 'trim']);
export type Transform = z.infer<typeof Transform>;

export const FieldMapping = z.object({
  /** attribute id from the catalogue (e.g. "name.givenName", "emails.work") or a custom extension path */
  source: z.string().min(1),
  field: FieldKey,
  enabled: z.boolean().default(true),
  transform: Transform.default('direct'),
});
export type FieldMapping = z.infer<typeof FieldMapping>;

export const GroupRule = z.object({
  /** IdP group displayName this rule matches (case-insensitive) */
  group: z.string().min(1),
  field: FieldKey,
  /** value written to the field; defaults to the group's displayName */
  value: z.string().optional(),
});
export type GroupRule = z.infer<typeof GroupRule>;

export const FieldChange = z.object({
  field: z.string(),
  old: z.unknown().optional(),
  new: z.unknown().optional(),
});
export type FieldChange = z.infer<typeof FieldChange>;

export const AttributeChange = z.object({
  path: z.string(),
  old: z.unknown().optional(),
  new: z.unknown().optional(),
});
export type AttributeChange = z.infer<typeof AttributeChange>;

export const ScimErrorInfo = z.object({
  status: z.string(),
  scimType: z.string().optional(),
  detail: z.string(),
});

export const SyncProvider = z.enum(['scim', 'entra']);
export type SyncProvider = z.infer<typeof SyncProvider>;

export const PersonStatus = z.enum(['active', 'inactive']);
export type PersonStatus = z.infer<typeof PersonStatus>;
