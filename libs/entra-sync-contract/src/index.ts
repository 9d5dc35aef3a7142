/**
 * The entra-sync service's bus contract: requests, reply envelope and the client the admin API
 * uses. The client secret travels once, from the admin API to the service that seals it; it is
 * never in a reply.
 */
import { z } from 'zod';
import { subjects, type Bus } from '@muster/bus';
import { DomainError, isDomainErrorCode } from '@muster/domain';

export const SecretRequest = z.object({ listId: z.string(), clientSecret: z.string().min(1).max(1_000).nullable() });
export const TestRequest = z.object({ listId: z.string() });
export const RunRequest = z.object({ listId: z.string(), trigger: z.enum(['manual', 'schedule']).default('manual') });

/** what went wrong reaching Entra, by code: the admin API answers 422 (Entra refused) or 502 (unreachable) */
export const ENTRA_ERROR_CODES = ['authentication_failed', 'group_not_found', 'graph_unreachable', 'graph_error'] as const;
export type EntraErrorCode = (typeof ENTRA_ERROR_CODES)[number];

export class EntraSyncError extends Error {
  constructor(readonly code: EntraErrorCode, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'EntraSyncError';
  }
}

export type Reply<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> } };

export interface TestResult { ok: true; groups: Array<{ id: string; displayName: string | null; found: boolean }> }
export interface RunStarted { runId: string; status: 'running' }

export class EntraSyncClient {
  constructor(private readonly bus: Bus, private readonly timeoutMs = 10_000) {}

  private async call<T>(subject: string, data: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const reply = (await this.bus.request<Reply<T>>(subject, data, { timeoutMs })).data;
    if (reply.ok) return reply.result;
    if ((ENTRA_ERROR_CODES as readonly string[]).includes(reply.error.code)) throw new EntraSyncError(reply.error.code as EntraErrorCode, reply.error.message, reply.error.details);
    if (isDomainErrorCode(reply.error.code)) throw new DomainError(reply.error.code, reply.error.message, reply.error.details);
    throw new Error(`entra-sync service: ${reply.error.message}`);
  }

  setSecret(listId: string, clientSecret: string | null) {
    return this.call<{ stored: boolean }>(subjects.entraSecret, { listId, clientSecret });
  }
  /** a token request and a lookup of each group (Graph may be slow: a longer wait) */
  test(listId: string) {
    return this.call<TestResult>(subjects.entraTest, { listId }, Math.max(this.timeoutMs, 60_000));
  }
  run(listId: string, trigger: 'manual' | 'schedule' = 'manual') {
    return this.call<RunStarted>(subjects.entraRun, { listId, trigger });
  }
}
