export * from './service.ts';
export * from './groups.ts';
export * from './module.ts';
