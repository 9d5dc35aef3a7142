/** The log holds bytes that are not a torn tail: valid-looking records follow damaged ones, or records disagree. */
export class CorruptLogError extends Error {
  readonly code = 'EVENT_LOG_CORRUPT';
  constructor(
    readonly logPath: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`event log ${logPath} is corrupt at byte ${offset}: ${detail}`);
    this.name = 'CorruptLogError';
  }
}

/** Another live process (or this one) holds the writer lock of the directory. */
export class EventStoreLockedError extends Error {
  readonly code = 'EVENT_STORE_LOCKED';
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
  ) {
    super(
      ownerPid === process.pid
        ? `event store ${dir} is already open for writing in this process`
        : `event store ${dir} is already open for writing by process ${ownerPid}; ` +
            `stop it, or open with { readOnly: true }. If that process is gone, delete ${dir}/LOCK`,
    );
    this.name = 'EventStoreLockedError';
  }
}

/** The store refuses further appends after a failed write/fsync (the on-disk state is unknown). */
export class EventStoreFailedError extends Error {
  readonly code = 'EVENT_STORE_FAILED';
  constructor(cause: unknown) {
    super(`event store stopped accepting appends after a failed write: ${String((cause as Error)?.message ?? cause)}`, {
      cause,
    });
    this.name = 'EventStoreFailedError';
  }
}
