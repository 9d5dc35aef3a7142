export * from './token.ts';
export * from './client.ts';
