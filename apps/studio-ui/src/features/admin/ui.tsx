// Small building blocks the dashboard's sections share: a titled section, status lines, tables, inputs and
// form classes.
import type { InputHTMLAttributes, ReactNode } from 'react';

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

/** Props of {@link TextInput}: an input's own attributes, with its value as text. */
type TextInputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'className'> & {
  value: string;
  /** Called with the new text. */
  onChange: (value: string) => void;
};

/** A controlled input of the dashboard's look. */
export function TextInput({ value, onChange, ...attributes }: TextInputProps) {
  return (
    <input
      {...attributes}
      value={value}
      onChange={(event) => onChange(event.target.value)}
      className={inputClass}
    />
  );
}

/** Props of {@link OptionList}. */
interface OptionListProps {
  /** The values, each shown as its own text. */
  values: readonly string[];
}

/** The `<option>`s of a select whose values are shown as they are (roles, actions). */
export function OptionList({ values }: OptionListProps) {
  return values.map((value) => (
    <option key={value} value={value}>
      {value}
    </option>
  ));
}

/** Props of {@link DataTable}. */
interface DataTableProps<T> {
  /** The `data-testid` of the table. */
  testId: string;
  /** The header cells' texts. */
  columns: readonly string[];
  /** Whether the rows are loading and why they failed to (what useLoad returns fits). */
  state: { loading: boolean; error: string | undefined };
  rows: readonly T[];
  /** Shown when loaded and there are no rows. */
  emptyText: string;
  /** One body row (`<tr>` with its key). */
  renderRow: (row: T) => ReactNode;
}

/** A section's table with its loading, error and empty lines; scrolls sideways when narrow. */
export function DataTable<T>({ testId, columns, state, rows, emptyText, renderRow }: DataTableProps<T>) {
  return (
    <>
      <LoadState
        loading={state.loading}
        error={state.error}
        empty={rows.length === 0}
        emptyText={emptyText}
      />
      {rows.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-sm" data-testid={testId}>
            <thead>
              <tr className="border-b border-border">
                {columns.map((column) => (
                  <th key={column} className={cellClass.head}>
                    {column}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{rows.map(renderRow)}</tbody>
          </table>
        </div>
      )}
    </>
  );
}
