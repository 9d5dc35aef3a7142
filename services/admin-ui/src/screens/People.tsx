import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { api, ok } from '../api/client';
import { Link } from '../router';
import { shown } from '../format';
import { useList } from '../list';

type Person = { id: string; status: 'active' | 'inactive'; fields: Record<string, unknown> };
type Status = 'active' | 'inactive' | 'all';

/** the first page small, so the first rows come quickly; later pages large, so scrolling fetches rarely */
const FIRST_PAGE = 100;
const PAGE = 500;
const ROW_HEIGHT = 36;
/** new people from an IdP appear within 2 s: the loaded pages are polled (a light poll needs nothing
 * beyond the query API and passes any proxy; server-sent events would save the requests) */
const LIVE_MS = 1_000;

const nameOf = (p: Person) => {
  const f = p.fields;
  const name = f.displayName ?? [f.firstName, f.lastName].filter(Boolean).join(' ');
  return typeof name === 'string' && name ? name : '(no name)';
};

/** A list's people: status filter, search, sort by a field, cursor paging into a virtualised table. */
export function People({ listId }: { listId: string }) {
  const [status, setStatus] = useState<Status>('active');
  const [typed, setTyped] = useState('');
  const [q, setQ] = useState('');
  const [sort, setSort] = useState<{ key: string; order: 'asc' | 'desc' } | null>(null);
  const [filterField, setFilterField] = useState('');
  const [filterTyped, setFilterTyped] = useState('');
  const [filterValue, setFilterValue] = useState('');
  useEffect(() => { const t = setTimeout(() => setFilterValue(filterTyped.trim()), 150); return () => clearTimeout(t); }, [filterTyped]);
  const fieldFilter = filterField && filterValue ? { [`contains.${filterField}`]: filterValue } : {};
  useEffect(() => { const t = setTimeout(() => setQ(typed.trim()), 150); return () => clearTimeout(t); }, [typed]);

  // the list's fields make the columns: polled too, so a sync connected meanwhile adds its fields
  const list = useList(listId, LIVE_MS * 2);
  const people = useInfiniteQuery({
    queryKey: ['people', listId, status, q, sort, filterField, filterValue],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => ok(await api.GET('/api/v1/lists/{id}/people', {
      params: { path: { id: listId }, query: { status, limit: pageParam ? PAGE : FIRST_PAGE, ...(q ? { q } : {}), ...fieldFilter, ...(sort ? { sort: sort.key, order: sort.order } : {}), ...(pageParam ? { cursor: pageParam } : {}) } as never },
    })) as { items: Person[]; total: number; nextCursor: string | null },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_MS,
  });
  const rows = people.data?.pages.flatMap((p) => p.items) ?? [];
  const total = people.data?.pages[0]?.total ?? 0;
  const hasLastName = (list.data?.fields ?? []).some((f) => f.key === 'lastName');
  const fields = (list.data?.fields ?? []).filter((f) => f.key !== 'firstName' && f.key !== 'lastName' && f.key !== 'displayName').slice(0, 5);

  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 50 && people.hasNextPage && !people.isFetchingNextPage) void people.fetchNextPage();
  }, [last?.index, rows.length, people.hasNextPage, people.isFetchingNextPage]);
  const padTop = items[0]?.start ?? 0;
  const padBottom = items.length ? virtual.getTotalSize() - (last!.end) : 0;
  const columns = 2 + fields.length;

  const header = (key: string, label: string) => {
    const active = sort?.key === key;
    return (
      <th scope="col" aria-sort={active ? (sort!.order === 'asc' ? 'ascending' : 'descending') : 'none'} key={key}>
        <button type="button" className="sort" onClick={() => setSort(active && sort!.order === 'asc' ? { key, order: 'desc' } : { key, order: 'asc' })}>
          {label}{active ? (sort!.order === 'asc' ? ' ▲' : ' ▼') : ''}
        </button>
      </th>
    );
  };

  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      <div className="toolbar">
        <label htmlFor="status-filter">Status</label>
        <select id="status-filter" value={status} onChange={(e) => setStatus(e.target.value as Status)}>
          <option value="active">Active</option>
          <option value="inactive">Inactive</option>
          <option value="all">All</option>
        </select>
        <label htmlFor="people-search">Search</label>
        <input id="people-search" type="search" value={typed} onChange={(e) => setTyped(e.target.value)} />
        <label htmlFor="filter-field">Field</label>
        <select id="filter-field" value={filterField} onChange={(e) => setFilterField(e.target.value)}>
          <option value="">Any field</option>
          {(list.data?.fields ?? []).map((f) => <option key={f.key} value={f.key}>{f.label}</option>)}
        </select>
        <label htmlFor="filter-value">contains</label>
        <input id="filter-value" value={filterTyped} onChange={(e) => setFilterTyped(e.target.value)} disabled={!filterField} />
        <span aria-live="polite" className="count">{people.data ? `${total.toLocaleString('en')} ${total === 1 ? 'person' : 'people'}` : 'Loading…'}</span>
      </div>
      {people.error && <p role="alert" className="error">{people.error.message}</p>}
      <div ref={scroller} className="scroller" tabIndex={0} aria-label="People, scrollable">
        <table aria-rowcount={total + 1}>
          <thead>
            <tr aria-rowindex={1}>{hasLastName ? header('lastName', 'Name') : <th scope="col">Name</th>}{fields.map((f) => header(f.key, f.label))}<th scope="col">Status</th></tr>
          </thead>
          <tbody>
            {padTop > 0 && <tr aria-hidden="true" style={{ height: padTop }}><td colSpan={columns} /></tr>}
            {items.map((v) => {
              const p = rows[v.index];
              return (
                <tr key={p.id} aria-rowindex={v.index + 2} style={{ height: ROW_HEIGHT }}>
                  <td><Link to={`/lists/${listId}/people/${encodeURIComponent(p.id)}`}>{nameOf(p)}</Link></td>
                  {fields.map((f) => <td key={f.key}>{shown(p.fields[f.key], '')}</td>)}
                  <td>{p.status === 'active' ? 'Active' : 'Inactive'}</td>
                </tr>
              );
            })}
            {padBottom > 0 && <tr aria-hidden="true" style={{ height: padBottom }}><td colSpan={columns} /></tr>}
          </tbody>
        </table>
        {people.data && rows.length === 0 && <p>No people match.</p>}
      </div>
    </section>
  );
}
