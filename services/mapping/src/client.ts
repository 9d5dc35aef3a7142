import type { Bus } from '@muster/bus';
import { subjects } from '@muster/bus';
import type { FieldMapping, GroupRule } from '@muster/contracts';
import { DomainError } from '@muster/domain';
import type { CatalogueEntry } from './catalogue.ts';
import type { Reply } from './service.ts';

/** What other services use to talk to the mapping service over the bus. */
export class MappingClient {
  constructor(private readonly bus: Bus, private readonly timeoutMs = 5_000) {}

  private async call<T>(subject: string, data: unknown): Promise<T> {
    const msg = await this.bus.request<Reply<T>>(subject, data, { timeoutMs: this.timeoutMs });
    const reply = msg.data;
    if (!reply.ok) throw new DomainError(reply.error.code as DomainError['code'], reply.error.message, reply.error.details);
    return reply.result;
  }

  map(listId: string, resource: Record<string, unknown>, groups?: string[]) {
    return this.call<{ fields: Record<string, unknown> }>(subjects.mappingMap, { listId, resource, groups });
  }
  catalogue() {
    return this.call<{ attributes: CatalogueEntry[] }>(subjects.mappingCatalogue, {});
  }
  get(listId: string) {
    return this.call<{ mappings: FieldMapping[]; groupRules: GroupRule[] }>(subjects.mappingGet, { listId });
  }
  set(req: { listId: string; mappings: unknown; groupRules?: unknown; actor: { kind: string; id: string }; correlationId: string }) {
    return this.call<{ changed: boolean; position: number | null; remapped: number }>(subjects.mappingSet, req);
  }
}
