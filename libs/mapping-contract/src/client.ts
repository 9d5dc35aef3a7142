import type { Bus } from '@muster/bus';
import { subjects } from '@muster/bus';
import type { ColumnMapping, FieldMapping, GroupRule } from '@muster/contracts';
import type { CsvRowResult } from './csv.ts';
import { DomainError, isDomainErrorCode } from '@muster/domain';
import type { CatalogueEntry } from './catalogue.ts';
import type { Reply, SetMappingsResult } from './messages.ts';

/** What other services use to talk to the mapping service over the bus. */
export class MappingClient {
  constructor(private readonly bus: Bus, private readonly timeoutMs = 5_000) {}

  private async call<T>(subject: string, data: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const msg = await this.bus.request<Reply<T>>(subject, data, { timeoutMs });
    const reply = msg.data;
    if (!reply.ok) {
      // the mapping service's domain errors keep their meaning (404, 409, ...); anything else is its failure
      if (isDomainErrorCode(reply.error.code)) throw new DomainError(reply.error.code, reply.error.message, reply.error.details);
      throw new Error(`mapping service: ${reply.error.message}`);
    }
    return reply.result;
  }

  map(listId: string, resource: Record<string, unknown>, groups?: string[]) {
    return this.call<{ fields: Record<string, unknown> }>(subjects.mappingMap, { listId, resource, groups });
  }
  /** a batch of CSV rows (at most 5,000) as field values of the list's types, or each row's first fault */
  mapCsv(req: { listId: string; columns: string[]; mapping: Record<string, ColumnMapping>; rows: string[][] }) {
    return this.call<{ results: CsvRowResult[] }>(subjects.mappingCsv, req, Math.max(this.timeoutMs, 30_000));
  }
  /** the catalogue; with a list id, also the directory extensions that list's Entra connection names */
  catalogue(listId?: string) {
    return this.call<{ count: number; attributes: Array<CatalogueEntry | { id: string; label: string; group: string; source: 'entra'; graphPath: string }>; groups: Array<{ name: string; attributes: CatalogueEntry[] }>; custom: string }>(subjects.mappingCatalogue, listId ? { listId } : {});
  }
  get(listId: string) {
    return this.call<{ mappings: FieldMapping[]; groupRules: GroupRule[]; customAttributes: string[]; remap: { pending: boolean; mappingsVersion: number; progress?: { done: number; total: number; changed: number } } }>(subjects.mappingGet, { listId });
  }
  /** saving re-applies the mappings to everyone on the list before answering, hence the longer timeout */
  set(req: {
    listId: string; mappings: unknown; groupRules?: unknown; actor: { kind: string; id: string }; correlationId: string;
    source?: { requestId?: string; method?: string; path?: string }; traceparent?: string;
  }, timeoutMs = Math.max(this.timeoutMs, 60_000)) {
    return this.call<SetMappingsResult>(subjects.mappingSet, req, timeoutMs);
  }
}
