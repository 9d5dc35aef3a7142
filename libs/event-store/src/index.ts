export * from './port.ts';
export { matchesFilter } from './filter.ts';
export {
  openEmbeddedEventStore,
  LOG_FILE_NAME,
  CorruptLogError,
  EventStoreFailedError,
  EventStoreLockedError,
  type EmbeddedEventStore,
  type EmbeddedEventStoreOptions,
  type CommittedBytes,
  type EmbeddedHooks,
  type EmbeddedStats,
  type RecoveryInfo,
} from './embedded.ts';
export { createEsdbEventStore, type EsdbEventStoreOptions } from './esdb.ts';
export {
  withHashChain,
  verifyLog,
  logDigest,
  eventHash,
  canonicalJson,
  GENESIS_HASH,
  HASH_VERSION,
  HashChainError,
  type HashChainOptions,
  type HashInput,
  type VerifyResult,
  type ChainBreak,
  type LogDigest,
  type WalkOptions,
} from './hash-chain.ts';
// The contract suite imports vitest, so it is not exported here: use '@muster/event-store/contract'.
