import { useQuery } from '@tanstack/react-query';
import { api, ok, session } from './api/client';

export type Role = 'owner' | 'admin' | 'viewer' | 'auditor';

/** who is signed in: their role decides which buttons they see (a viewer sees none it cannot use) */
export function useMe() {
  const me = useQuery({ queryKey: ['me'], queryFn: async () => ok(await api.GET('/api/v1/whoami', {})) as { role: Role; orgId: string | null }, staleTime: 60_000, enabled: session.token() !== null });
  const role = me.data?.role;
  return { role, canWrite: role === 'owner' || role === 'admin', canAudit: role === 'owner' || role === 'auditor', isOwner: role === 'owner' };
}
