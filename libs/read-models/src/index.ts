export * from './collections.ts';
export * from './documents.ts';
export * from './projections.ts';
export * from './staging.ts';
export * from './rebuild-contract.ts';
export * from './projection-waiter.ts';
export * from './version.ts';
