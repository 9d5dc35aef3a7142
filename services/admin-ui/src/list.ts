import { useQuery } from '@tanstack/react-query';
import { api, ok } from './api/client';

export type ListField = { key: string; label: string; type: string; enumValues?: string[] };
export type ListDetail = { name: string; fields?: ListField[]; sync?: { provider: string } | null };

/** a list (name, fields, sync), shared by every screen of it under one cache key; `refetchMs` keeps it fresh */
export function useList(listId: string, refetchMs?: number) {
  return useQuery({
    queryKey: ['list', listId],
    queryFn: async () => ok(await api.GET('/api/v1/lists/{id}', { params: { path: { id: listId } } })) as ListDetail,
    ...(refetchMs ? { refetchInterval: refetchMs } : {}),
  });
}
