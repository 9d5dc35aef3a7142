import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryBus, subjects } from '@muster/bus';
import { DomainError } from '@muster/domain';
import { MappingClient } from './client.ts';

const bus = createMemoryBus();
afterAll(() => bus.close());

describe('MappingClient errors', () => {
  it("keeps the mapping service's domain errors and turns any other failure into a plain error", async () => {
    let answer: unknown = { ok: false, error: { code: 'not_found', message: 'list not found' } };
    await bus.subscribe(subjects.mappingGet, (msg) => msg.respond?.(answer));
    const client = new MappingClient(bus, 1_000);
    const notFound = await client.get('l1').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(DomainError);
    expect(notFound).toMatchObject({ code: 'not_found', message: 'list not found' });
    answer = { ok: false, error: { code: 'internal', message: 'list.includes is not a function' } };
    const internal = await client.get('l1').catch((e: unknown) => e);
    expect(internal).toBeInstanceOf(Error);
    expect(internal).not.toBeInstanceOf(DomainError);
    expect((internal as Error).message).toBe('mapping service: list.includes is not a function');
  });
});
