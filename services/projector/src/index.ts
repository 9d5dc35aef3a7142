export * from './projector.ts';
export * from './rebuild.ts';
export * from './control.ts';
export * from './module.ts';
export * from './thread.ts';
export * from './health.ts';
export * from './snapshots.ts';
