export * from './token.ts';
export * from './client.ts';
export * from './msal.ts';
