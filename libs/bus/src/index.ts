export {
  BusClosedError,
  BusNoRespondersError,
  BusRemoteError,
  BusTimeoutError,
  MUSTER_ERROR_HEADER,
  type Bus,
  type BusLogger,
  type BusMessage,
  type BusSubscription,
  type Headers,
} from './port.ts';
export { connectNatsBus, type NatsBusOptions } from './nats.ts';
export { createMemoryBus, type MemoryBusOptions } from './memory.ts';
export { subjects, type Subjects } from './subjects.ts';
// the contract suite (imports vitest) is exported separately: '@muster/bus/contract'
