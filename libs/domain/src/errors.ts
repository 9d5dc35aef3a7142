export const DOMAIN_ERROR_CODES = ['not_found', 'conflict', 'invalid', 'forbidden', 'locked', 'gone'] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];
/** is `code` one a DomainError carries (an error code from another service may be anything) */
export const isDomainErrorCode = (code: unknown): code is DomainErrorCode => (DOMAIN_ERROR_CODES as readonly unknown[]).includes(code);

/** A command was refused by the domain. `code` maps onto HTTP statuses at the edges. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
export const notFound = (m: string) => new DomainError('not_found', m);
export const conflict = (m: string, d?: Record<string, unknown>) => new DomainError('conflict', m, d);
export const invalid = (m: string, d?: Record<string, unknown>) => new DomainError('invalid', m, d);
