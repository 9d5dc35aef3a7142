export * from './collections.ts';
export * from './projections.ts';
export * from './projector.ts';
export * from './module.ts';
