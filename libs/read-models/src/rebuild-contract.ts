/**
 * The projector's rebuild control over the bus: request/reply on PROJECTOR_REBUILD_SUBJECT (the
 * projector answers, queue group 'projector'; the admin API and the CLI ask). Payload
 * RebuildRequest, answer RebuildStatus | { status: null }.
 */
import { subjects } from '@muster/bus/subjects';

export const PROJECTOR_REBUILD_SUBJECT = subjects.projectorRebuild;

export interface RebuildRequest {
  /** snapshot: write a read-model snapshot now (the embedded stack's projector thread) */
  action: 'start' | 'status' | 'snapshot';
  /** answer when the rebuild has finished instead of when it has started */
  wait?: boolean;
}

export interface RebuildStatus {
  id: string;
  state: 'running' | 'done' | 'failed';
  phase: RebuildPhase;
  startedAt: string;
  finishedAt: string | null;
  position: number;
  head: number;
  events: number;
  result: RebuildResult | null;
  error: string | null;
}


export type RebuildPhase = 'projecting' | 'switching' | 'healing' | 'done';

export interface RebuildResult {
  /** last position the new collections have applied at the switch */
  position: number;
  /** events applied into the fresh collections */
  events: number;
  durationMs: number;
  eventsPerSecond: number;
  /** how long the live projector was paused for the switch (ms; 0 without one) */
  pausedMs: number;
  /** with staging: folding the log in process memory, inserting the documents, building the indexes (ms) */
  stagedMs: number;
  loadMs: number;
  indexMs: number;
}
