// The audit log, newest first, filtered by action, target, actor and time; more rows load on request.
import { AuditAction, AuditEntry, type ParamsInput } from '@cyber/contract';
import { useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { buttonClass } from '../../ui/Dialog.tsx';
import { cellClass, formatTime, inputClass, LoadState, Section } from './ui.tsx';
import { useLoad } from './use-load.ts';

type Filters = ParamsInput<'audit.list'>;
type TargetType = AuditEntry['targetType'];

const ACTIONS = AuditAction.options;
const TARGET_TYPES = AuditEntry.shape.targetType.options;

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
  const users = useLoad(() => rpc.call('users.list', { limit: 100 }), 'users');
  const nameOf = (userId: number | null) =>
    userId === null
      ? 'system'
      : (users.data?.items.find((user) => user.id === userId)?.username ?? `user ${userId}`);

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
        <label className="flex flex-col gap-1 text-muted">
          Action
          <select
            value={action}
            onChange={(e) => setAction(e.target.value as AuditAction | '')}
            className={inputClass}
            aria-label="Action"
          >
            <option value="">any</option>
            {ACTIONS.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-muted">
          Target
          <select
            value={targetType}
            onChange={(e) => setTargetType(e.target.value as TargetType | '')}
            className={inputClass}
            aria-label="Target"
          >
            <option value="">any</option>
            {TARGET_TYPES.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-muted">
          Actor
          <select
            value={actorId}
            onChange={(e) => setActorId(e.target.value)}
            className={inputClass}
            aria-label="Actor"
          >
            <option value="">anyone</option>
            {(users.data?.items ?? []).map((user) => (
              <option key={user.id} value={user.id}>
                {user.username}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-muted">
          From
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} className={inputClass} />
        </label>
        <label className="flex flex-col gap-1 text-muted">
          To
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} className={inputClass} />
        </label>
      </div>
      <LoadState
        loading={page.loading}
        error={page.error}
        empty={entries.length === 0}
        emptyText="No audit rows match."
      />
      {entries.length > 0 && (
        <div className="overflow-x-auto">
          <table className="w-full border-collapse text-sm" data-testid="audit-table">
            <thead>
              <tr className="border-b border-border">
                <th className={cellClass.head}>When</th>
                <th className={cellClass.head}>Actor</th>
                <th className={cellClass.head}>Action</th>
                <th className={cellClass.head}>Target</th>
                <th className={cellClass.head}>Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
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
                  <td className={`${cellClass.body} break-all font-mono text-xs`}>
                    {detailsText(entry.details)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {moreError !== undefined && (
        <p role="alert" className="text-danger">
          {moreError}
        </p>
      )}
      {cursor !== null && cursor !== undefined && (
        <button type="button" className={`${buttonClass.plain} self-start`} onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </Section>
  );
}
