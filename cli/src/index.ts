export { run, UsageError, type Io } from './run.ts';
export { openLogForReading, embeddedLogDir, type OpenedLog } from './stores.ts';
export { NoLogError } from './errors.ts';
