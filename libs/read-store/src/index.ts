export {
  CHECKPOINTS_COLLECTION,
  DuplicateKeyError,
  ReadStoreUnavailableError,
  type Collection,
  type Doc,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type ReadStore,
  type Sort,
  type Update,
  type UpdateResult,
} from './port.ts';
export { createMongoReadStore, type MongoReadStoreOptions } from './mongo.ts';
export { createRemoteReadStore, serveReadStore, isReadStoreRequest, type PortLike, type RemoteReadStoreOptions } from './remote.ts';
export { containsIgnoreCase, escapeRegex, foldCase, foldedPrefix } from './text.ts';
// The contract suite imports vitest, so it is not re-exported here (that would load vitest into
// every service): import it from '@muster/read-store/contract'.
