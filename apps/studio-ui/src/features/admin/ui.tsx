// Small building blocks the dashboard's sections share: a titled section, status lines and form classes.
import type { ReactNode } from 'react';

/** Classes of inputs and selects. */
export const inputClass = 'rounded border border-border bg-surface-alt px-2 py-1 text-fg';
/** Classes of a table's header and body cells. */
export const cellClass = {
  head: 'px-2 py-1 text-left font-semibold text-muted',
  body: 'px-2 py-1 align-top',
};
/** Classes of small buttons in rows. */
export const smallButton =
  'rounded border border-border px-2 py-0.5 text-xs hover:bg-surface-alt disabled:opacity-60';

/** Props of {@link Section}. */
interface SectionProps {
  title: string;
  /** Controls on the right of the title. */
  actions?: ReactNode;
  children: ReactNode;
}

/** A titled block of the dashboard. */
export function Section({ title, actions, children }: SectionProps) {
  return (
    <section className="flex flex-col gap-2 rounded border border-border bg-surface p-3" aria-label={title}>
      <header className="flex flex-wrap items-center gap-2">
        <h2 className="text-base font-semibold">{title}</h2>
        <div className="ml-auto flex flex-wrap items-center gap-2">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** Props of {@link LoadState}. */
interface LoadStateProps {
  loading: boolean;
  error: string | undefined;
  /** True when loaded and there is nothing to show. */
  empty: boolean;
  emptyText: string;
}

/** The loading line, the error, or the empty text; nothing when there is data to show. */
export function LoadState({ loading, error, empty, emptyText }: LoadStateProps) {
  if (error !== undefined) {
    return (
      <p role="alert" className="text-danger">
        {error}
      </p>
    );
  }
  if (loading && empty) {
    return (
      <p role="status" className="text-muted">
        Loading…
      </p>
    );
  }
  if (empty) return <p className="text-muted">{emptyText}</p>;
  return null;
}

/** A short date and time in the viewer's locale. */
export function formatTime(iso: string | null): string {
  if (iso === null) return '—';
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' });
}
