export {
  createMemoryReadStore,
  type MemoryCollection,
  type MemoryIndexHints,
  type MemoryIndexSpec,
  type MemoryReadStore,
  type MemoryReadStoreOptions,
  type QueryPlan,
} from './memory.ts';
export type { CapturedCollection } from './memory.ts';
export { SNAPSHOT_FORMAT, loadNewestSnapshot, writeSnapshot, type SnapshotHeader, type SnapshotLoad, type SnapshotWritten } from './snapshot.ts';
