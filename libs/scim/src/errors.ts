/** SCIM error model (RFC 7644 §3.12). */

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The `scimType` keywords of RFC 7644 §3.12, Table 9. */
export type ScimErrorType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export interface ScimErrorInit {
  status: number;
  scimType?: ScimErrorType;
  detail: string;
}

export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimErrorType | undefined;
  readonly detail: string;

  constructor(init: ScimErrorInit) {
    super(init.detail);
    this.name = 'ScimError';
    this.status = init.status;
    this.scimType = init.scimType;
    this.detail = init.detail;
  }

  static badRequest(scimType: ScimErrorType, detail: string): ScimError {
    return new ScimError({ status: 400, scimType, detail });
  }
}

/** A filter (or PATCH path) that does not parse, exceeds the limits, or compares incompatible types. → 400 invalidFilter */
export class InvalidFilterError extends ScimError {
  /** Zero-based offset in the input where the problem was found, when known. */
  readonly position: number | undefined;

  constructor(detail: string, position?: number) {
    super({ status: 400, scimType: 'invalidFilter', detail });
    this.name = 'InvalidFilterError';
    this.position = position;
  }
}

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimErrorType;
  detail: string;
}

/**
 * The JSON body of a SCIM error response. `status` is a string as RFC 7644 §3.12 shows.
 * Anything that is not a ScimError becomes a 500 whose detail does not leak the message.
 */
export function toScimErrorBody(err: unknown): ScimErrorBody {
  if (err instanceof ScimError) {
    const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(err.status), detail: err.detail };
    if (err.scimType !== undefined) body.scimType = err.scimType;
    return body;
  }
  return { schemas: [ERROR_SCHEMA], status: '500', detail: 'Internal server error' };
}
