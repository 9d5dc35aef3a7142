import { useEffect, useState } from 'react';

/** the URL's path, kept in step with history (every screen has its own URL) */
export function usePath(): string {
  const [path, setPath] = useState(() => location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    addEventListener('popstate', on);
    addEventListener('muster:navigate', on);
    return () => { removeEventListener('popstate', on); removeEventListener('muster:navigate', on); };
  }, []);
  return path;
}

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  dispatchEvent(new Event('muster:navigate'));
}

/** an in-app link: a real <a href> (open in a new tab works), navigating without a reload */
export function Link({ to, children, className }: { to: string; children: React.ReactNode; className?: string }) {
  return (
    <a href={to} className={className} onClick={(e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    }}>{children}</a>
  );
}
