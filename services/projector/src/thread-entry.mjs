// Entry of the projector's worker thread: TypeScript is compiled on load (tsx), as in the main
// thread, whether or not the parent was started with `--import tsx`.
import { register } from 'tsx/esm/api';

register();
await import('./thread-worker.ts');
