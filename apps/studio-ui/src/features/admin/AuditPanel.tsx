// The audit log, newest first, filtered by action, target, actor and time; more rows load on request.
import { AuditAction, AuditEntry, type ParamsInput } from '@cyber/contract';
import { useState, type ReactNode } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass } from '../../ui/Dialog.tsx';
import { ErrorLine } from '../../ui/form.tsx';
import { cellClass, DataTable, formatTime, inputClass, OptionList, Section, TextInput } from './ui.tsx';
import { useLoad } from './use-load.ts';
import { useUserNames } from './use-user-names.ts';

type Filters = ParamsInput<'audit.list'>;
type TargetType = AuditEntry['targetType'];

const ACTIONS = AuditAction.options;
const TARGET_TYPES = AuditEntry.shape.targetType.options;
const AUDIT_COLUMNS = ['When', 'Actor', 'Action', 'Target', 'Details'];

/** A compact `key=value` line of an entry's details. */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

/** The audit section. */
export function AuditPanel() {
  const rpc = useRpc();
  const [action, setAction] = useState<AuditAction | ''>('');
  const [targetType, setTargetType] = useState<TargetType | ''>('');
  const [actorId, setActorId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [more, setMore] = useState<{ entries: AuditEntry[]; cursor: string | null } | undefined>(undefined);
  const [moreError, setMoreError] = useState<string | undefined>(undefined);

  const filters: Filters = {
    limit: 50,
    ...(action === '' ? {} : { action }),
    ...(targetType === '' ? {} : { targetType }),
    ...(actorId === '' ? {} : { actorId: Number(actorId) }),
    ...(from === '' ? {} : { from: new Date(`${from}T00:00:00Z`).toISOString() }),
    ...(to === '' ? {} : { to: new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString() }),
  };
  const key = JSON.stringify(filters);
  const page = useLoad(async () => {
    setMore(undefined);
    return rpc.call('audit.list', filters);
  }, key);
  const userNames = useUserNames();
  const nameOf = (userId: number | null) => (userId === null ? 'system' : userNames.nameOf(userId));

  const entries = [...(page.data?.items ?? []), ...(more?.entries ?? [])];
  const cursor = more === undefined ? page.data?.nextCursor : more.cursor;

  const loadMore = async () => {
    if (cursor === null || cursor === undefined) return;
    try {
      const next = await rpc.call('audit.list', { ...filters, cursor });
      setMore((current) => ({
        entries: [...(current?.entries ?? []), ...next.items],
        cursor: next.nextCursor,
      }));
      setMoreError(undefined);
    } catch (failure) {
      setMoreError(errorText(failure));
    }
  };

  return (
    <Section
      title="Audit log"
      actions={
        <button type="button" className={buttonClass.plain} onClick={() => void page.reload()}>
          Refresh
        </button>
      }
    >
      <div className="flex flex-wrap items-end gap-2" role="group" aria-label="Audit filters">
        <FilterSelect
          label="Action"
          value={action}
          onChange={(value) => setAction(value as AuditAction | '')}
        >
          <option value="">any</option>
          <OptionList values={ACTIONS} />
        </FilterSelect>
        <FilterSelect
          label="Target"
          value={targetType}
          onChange={(value) => setTargetType(value as TargetType | '')}
        >
          <option value="">any</option>
          <OptionList values={TARGET_TYPES} />
        </FilterSelect>
        <FilterSelect label="Actor" value={actorId} onChange={setActorId}>
          <option value="">anyone</option>
          {userNames.users.map((user) => (
            <option key={user.id} value={user.id}>
              {user.username}
            </option>
          ))}
        </FilterSelect>
        <label className="flex flex-col gap-1 text-muted">
          From
          <TextInput type="date" value={from} onChange={setFrom} />
        </label>
        <label className="flex flex-col gap-1 text-muted">
          To
          <TextInput type="date" value={to} onChange={setTo} />
        </label>
      </div>
      <DataTable
        testId="audit-table"
        columns={AUDIT_COLUMNS}
        state={page}
        rows={entries}
        emptyText="No audit rows match."
        renderRow={(entry) => (
          <tr
            key={entry.id}
            className="border-b border-border"
            data-testid="audit-row"
            data-action={entry.action}
          >
            <td className={`${cellClass.body} whitespace-nowrap`}>{formatTime(entry.at)}</td>
            <td className={cellClass.body}>
              {nameOf(entry.actorId)}
              {entry.actorRole === null ? '' : ` (${entry.actorRole})`}
            </td>
            <td className={`${cellClass.body} font-mono`}>{entry.action}</td>
            <td className={cellClass.body}>
              {entry.targetType}
              {entry.targetId === null
                ? ''
                : ` ${entry.targetType === 'user' || entry.targetType === 'balance' ? nameOf(Number(entry.targetId)) : entry.targetId}`}
            </td>
            <td className={`${cellClass.body} break-all font-mono text-xs`}>{detailsText(entry.details)}</td>
          </tr>
        )}
      />
      <ErrorLine error={moreError} />
      {cursor !== null && cursor !== undefined && (
        <button type="button" className={`${buttonClass.plain} self-start`} onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </Section>
  );
}

/** Props of {@link FilterSelect}. */
interface FilterSelectProps {
  /** The text above the select, also its accessible name. */
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** The `<option>`s, the "any" one first. */
  children: ReactNode;
}

/** One filter of the audit log: a select under its label. */
function FilterSelect({ label, value, onChange, children }: FilterSelectProps) {
  return (
    <label className="flex flex-col gap-1 text-muted">
      {label}
      <select
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className={inputClass}
        aria-label={label}
      >
        {children}
      </select>
    </label>
  );
}
