import { describe, expect, it } from 'vitest';
import { ERROR_SCHEMA, InvalidFilterError, ScimError, toScimErrorBody } from './errors.ts';

describe('ScimError / toScimErrorBody', () => {
  it('renders status as a string and includes scimType when set', () => {
    const err = ScimError.badRequest('invalidValue', 'Attribute "active" must be a boolean');
    expect(err).toBeInstanceOf(Error);
    expect(err.status).toBe(400);
    expect(toScimErrorBody(err)).toEqual({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidValue', detail: 'Attribute "active" must be a boolean' });
  });

  it('omits scimType when absent (no nulls)', () => {
    const body = toScimErrorBody(new ScimError({ status: 404, detail: 'Resource u1 not found' }));
    expect(body).toEqual({ schemas: [ERROR_SCHEMA], status: '404', detail: 'Resource u1 not found' });
    expect(Object.keys(body)).not.toContain('scimType');
  });

  it('InvalidFilterError is a 400 invalidFilter ScimError', () => {
    const err = new InvalidFilterError('bad', 3);
    expect(err).toBeInstanceOf(ScimError);
    expect(toScimErrorBody(err)).toEqual({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidFilter', detail: 'bad' });
    expect(err.position).toBe(3);
  });

  it('hides the message of unexpected errors behind a 500', () => {
    expect(toScimErrorBody(new Error('db password is hunter2'))).toEqual({ schemas: [ERROR_SCHEMA], status: '500', detail: 'Internal server error' });
    expect(toScimErrorBody('weird')).toEqual({ schemas: [ERROR_SCHEMA], status: '500', detail: 'Internal server error' });
  });
});
