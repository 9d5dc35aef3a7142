import { useEffect, useRef } from 'react';

/**
 * A modal dialog on the platform's <dialog> element (showModal): focus moves into it and is kept
 * there, Escape closes it, the page behind is inert; role "dialog" and its label come with it.
 * Closing it unmounts its content, so what it showed (a token) is gone from the page, not hidden.
 */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: React.ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    const cancel = (e: Event) => { e.preventDefault(); onClose(); };
    d.addEventListener('cancel', cancel);
    return () => { d.removeEventListener('cancel', cancel); if (d.open) d.close(); };
  }, []);
  const id = `dialog-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} aria-labelledby={id} className="dialog">
      <h2 id={id}>{title}</h2>
      {children}
    </dialog>
  );
}
