import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { DomainError } from '@muster/domain';
import { bearerToken, installJsonErrorHandler } from './index.ts';

const app = Fastify({ logger: false });
installJsonErrorHandler(app);
app.get('/domain/:code', async (req) => {
  const { code } = req.params as { code: string };
  throw new DomainError(code as DomainError['code'], `a ${code} error`);
});
afterAll(() => app.close());

describe('installJsonErrorHandler', () => {
  it('maps domain errors to their status with the JSON error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/domain/locked' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: { code: 'locked', message: 'a locked error' } });
  });

  it('a domain error with a code it does not know (from another service, say) is a 500 in the same shape, not a bad status', async () => {
    for (const code of ['internal', 'constructor']) {
      const res = await app.inject({ method: 'GET', url: `/domain/${code}` });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    }
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header, scheme in any case, surrounding blanks ignored', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   sct_x  ')).toBe('sct_x');
  });
  it('is null for anything else', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b', ['Bearer a'], 'Token a']) expect(bearerToken(h)).toBeNull();
  });
});
