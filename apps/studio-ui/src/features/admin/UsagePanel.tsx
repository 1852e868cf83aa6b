// Usage charts from the ledger (usage.summary): cost or tokens per day, per model and per user over a chosen
// period, with the period's totals.
import type { UsageGroupBy, UsageRow } from '@cyber/contract';
import { useState } from 'react';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import { formatCount, formatCredits } from '../chat/format.ts';
import { BarChart, type Bar } from './BarChart.tsx';
import { inputClass, LoadState, Section, TextInput } from './ui.tsx';
import { useLoad } from './use-load.ts';
import { useUserNames } from './use-user-names.ts';

type Measure = 'cost' | 'totalTokens';

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The bars of one grouping. */
export function usageBars(
  rows: readonly UsageRow[],
  by: UsageGroupBy,
  measure: Measure,
  nameOf: (userId: number) => string,
): Bar[] {
  const bars = rows.map((row) => ({
    label: by === 'day' ? (row.day ?? '') : by === 'model' ? (row.model ?? '') : nameOf(row.userId ?? 0),
    value: row[measure],
  }));
  return by === 'day'
    ? bars.sort((a, b) => a.label.localeCompare(b.label))
    : bars.sort((a, b) => b.value - a.value);
}

/** The usage section. */
export function UsagePanel() {
  const rpc = useRpc();
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 29 * 86_400_000)));
  const [to, setTo] = useState(() => isoDay(new Date()));
  const [measure, setMeasure] = useState<Measure>('cost');
  const range = from <= to ? { from, to } : { from: to, to: from };
  const key = `${range.from}/${range.to}`;
  const byDay = useLoad(() => rpc.call('usage.summary', { ...range, groupBy: ['day'], limit: 100 }), key);
  const byModel = useLoad(() => rpc.call('usage.summary', { ...range, groupBy: ['model'], limit: 100 }), key);
  const byUser = useLoad(() => rpc.call('usage.summary', { ...range, groupBy: ['user'], limit: 100 }), key);
  const { nameOf } = useUserNames();
  const format = measure === 'cost' ? (value: number) => formatCredits(value) : formatCount;
  const totals = byDay.data?.totals;

  const chart = (title: string, loaded: typeof byDay, by: UsageGroupBy) => (
    <div className="flex flex-col gap-1">
      <h3 className="font-semibold">{title}</h3>
      <LoadState
        loading={loaded.loading}
        error={loaded.error}
        empty={loaded.data === undefined}
        emptyText=""
      />
      {loaded.data !== undefined && (
        <BarChart title={title} bars={usageBars(loaded.data.rows, by, measure, nameOf)} format={format} />
      )}
    </div>
  );

  return (
    <Section
      title="Usage"
      actions={
        <>
          <label className="flex items-center gap-1 text-muted">
            From
            <TextInput type="date" value={from} onChange={setFrom} />
          </label>
          <label className="flex items-center gap-1 text-muted">
            To
            <TextInput type="date" value={to} onChange={setTo} />
          </label>
          <select
            aria-label="Measure"
            value={measure}
            onChange={(e) => setMeasure(e.target.value as Measure)}
            className={inputClass}
          >
            <option value="cost">Cost (credits)</option>
            <option value="totalTokens">Tokens</option>
          </select>
        </>
      }
    >
      {totals !== undefined && (
        <p className="text-muted" data-testid="usage-totals">
          {formatCount(totals.requests)} requests · {formatCount(totals.totalTokens)} tokens (
          {formatCount(totals.promptTokens)} in, {formatCount(totals.completionTokens)} out) ·{' '}
          {formatCredits(totals.cost)} credits
        </p>
      )}
      <div className="grid gap-4 xl:grid-cols-2">
        {chart('By day', byDay, 'day')}
        {chart('By model', byModel, 'model')}
        {chart('By user', byUser, 'user')}
      </div>
    </Section>
  );
}
