export * from './key-store.ts';
export * from './vault.ts';
export { withPersonalData } from './store.ts';
export { openVault, type VaultSettings } from './open.ts';
export { rewriteLog, signStatement, statementKey, verifyStatement, type RewriteStatement } from './rewrite.ts';
