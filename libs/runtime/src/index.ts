export * from './adapters.ts';
export * from './service.ts';
export * from './metrics.ts';
