export {
  createMemoryReadStore,
  type MemoryCollection,
  type MemoryIndexHints,
  type MemoryIndexSpec,
  type MemoryReadStore,
  type MemoryReadStoreOptions,
  type QueryPlan,
} from './memory.ts';
