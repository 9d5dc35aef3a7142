export * from './service.ts';
export * from './run.ts';
export * from './read.ts';
export * from './module.ts';
