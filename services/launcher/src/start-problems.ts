/** The start problems an operator meets most, each said in one line. */
import type { MusterConfig } from '@muster/config';

/** a public URL at localhost while listening on every interface: the SCIM URLs handed to IdPs would be wrong */
export function publicUrlWarning(config: Pick<MusterConfig, 'host' | 'publicUrl' | 'env'>): string | null {
  if (config.env.MUSTER_PUBLIC_URL) return null;
  const everywhere = config.host === '0.0.0.0' || config.host === '::';
  return everywhere
    ? `MUSTER_PUBLIC_URL is not set, so the SCIM base URLs handed to identity providers say ${config.publicUrl}; this server listens on every interface (HOST=${config.host}): set MUSTER_PUBLIC_URL to the address the IdPs reach it at`
    : null;
}

/** one line for a failure to start that the operator can fix (a port in use, a data directory that cannot be written), else null */
export function startFailure(err: unknown, env: NodeJS.ProcessEnv): string | null {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  switch (e?.code) {
    case 'EADDRINUSE': return `port ${e.port ?? env.PORT ?? 8080} is already in use${e.address ? ` on ${e.address}` : ''}: stop what listens there, or set PORT`;
    case 'EACCES':
    case 'EPERM':
    case 'EROFS': return e.syscall === 'listen' ? `not allowed to listen on port ${e.port ?? env.PORT}: choose a port above 1023, or set PORT` : `the data directory cannot be written (${e.path ?? env.MUSTER_DATA_DIR ?? './data'}: ${e.code}): set MUSTER_DATA_DIR to a writable directory`;
    case 'ENOTDIR':
    case 'EEXIST': return `the data directory cannot be used (${e.path ?? env.MUSTER_DATA_DIR}: ${e.code}): set MUSTER_DATA_DIR to a directory`;
    default: return null;
  }
}
