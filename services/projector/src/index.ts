export * from './collections.ts';
export * from './projections.ts';
export * from './projector.ts';
export * from './rebuild.ts';
export * from './control.ts';
export * from './audit.ts';
export * from './module.ts';
export * from './staging.ts';
