export * from './catalogue.ts';
export * from './map.ts';
export * from './messages.ts';
export * from './client.ts';
export * from './csv.ts';
export * from './entra-catalogue.ts';
