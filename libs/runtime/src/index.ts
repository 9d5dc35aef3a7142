export * from './adapters.ts';
export * from './service.ts';
