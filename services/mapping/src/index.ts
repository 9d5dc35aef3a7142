export * from './catalogue.ts';
export * from './map.ts';
export * from './service.ts';
export * from './groups.ts';
export * from './client.ts';
export * from './module.ts';
