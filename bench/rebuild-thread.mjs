// Entry of the rebuild bench's worker thread (see rebuild-thread.ts): TypeScript compiled on load.
import { register } from 'tsx/esm/api';

register();
await import('./rebuild-thread.ts');
