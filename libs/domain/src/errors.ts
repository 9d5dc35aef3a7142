/** A command was refused by the domain. `code` maps onto HTTP statuses at the edges. */
export class DomainError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid' | 'forbidden' | 'locked' | 'gone',
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
