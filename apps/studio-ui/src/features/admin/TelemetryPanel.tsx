// Live telemetry: requests/s, latency percentiles, tokens/s, sandbox runs by verdict and queue depth, each a
// value with a sparkline of the last readings, then every panel of metrics/panels.json. Polls telemetry.snapshot
// every 5 s; says where the numbers come from, and why one is missing.
import { useEffect, useMemo, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { useRpc } from '../../rpc/RpcProvider.tsx';
import {
  formatPanelValue,
  formatReading,
  labelText,
  pushSnapshot,
  rpcTelemetrySource,
  sparklinePoints,
  type TelemetrySnapshot,
  type TelemetrySource,
} from './telemetry.ts';
import { Section } from './ui.tsx';

const POLL_MS = 5_000;

/** Props of {@link TelemetryPanel}. */
interface Props {
  /** The data source; telemetry.snapshot over the gateway by default. */
  source?: TelemetrySource | undefined;
}

/** The telemetry section. */
export function TelemetryPanel({ source }: Props) {
  const rpc = useRpc();
  const gateway = useMemo(() => rpcTelemetrySource(rpc.call), [rpc]);
  const active = source ?? gateway;
  const [history, setHistory] = useState<TelemetrySnapshot[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    const poll = async () => {
      try {
        const snapshot = await active.read(controller.signal);
        setHistory((current) => pushSnapshot(current, snapshot));
        setError(undefined);
      } catch (failure) {
        if (!controller.signal.aborted) setError(errorText(failure));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, [active]);

  const latest = history.at(-1);
  const series = (pick: (snapshot: TelemetrySnapshot) => number | null) => history.map(pick);
  const reason = (field: string) => latest?.reasons[field];
  const ms = (value: number | null) => (value === null ? '—' : formatReading(value));
  return (
    <Section title="Telemetry" actions={latest !== undefined && <SourceLine snapshot={latest} />}>
      {error !== undefined && (
        <p role="alert" className="text-danger" data-testid="telemetry-error">
          {error}
        </p>
      )}
      {latest === undefined ? (
        error === undefined && (
          <p role="status" className="text-muted">
            Loading…
          </p>
        )
      ) : (
        <>
          <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
            <Stat
              testId="telemetry-rps"
              title="Requests / s"
              value={latest.summary.requestsPerSecond}
              reason={reason('requestsPerSecond')}
              values={series((s) => s.summary.requestsPerSecond)}
            />
            <Stat
              testId="telemetry-latency"
              title="Latency p50 / p95 / p99 (ms)"
              text={`${ms(latest.summary.latencyMs.p50)} / ${ms(latest.summary.latencyMs.p95)} / ${ms(latest.summary.latencyMs.p99)}`}
              reason={reason('latencyMs.p95')}
              values={series((s) => s.summary.latencyMs.p95)}
            />
            <Stat
              testId="telemetry-tokens"
              title="Tokens / s"
              value={latest.summary.tokensPerSecond}
              reason={reason('tokensPerSecond')}
              values={series((s) => s.summary.tokensPerSecond)}
            />
            <Stat
              testId="telemetry-queue"
              title="Queue depth"
              value={latest.summary.queueDepth}
              reason={reason('queueDepth')}
              values={series((s) => s.summary.queueDepth)}
            />
            <div className="rounded border border-border p-2" data-testid="telemetry-sandbox">
              <h3 className="text-xs text-muted">Sandbox runs per minute, by verdict</h3>
              {latest.summary.sandboxRunsPerMinute === null ? (
                <p className="text-sm text-muted">— {reason('sandboxRunsPerMinute')}</p>
              ) : Object.keys(latest.summary.sandboxRunsPerMinute).length === 0 ? (
                <p className="text-sm text-muted">No runs lately.</p>
              ) : (
                <ul className="font-mono text-sm">
                  {Object.entries(latest.summary.sandboxRunsPerMinute).map(([verdict, perMinute]) => (
                    <li key={verdict}>
                      {verdict}: {formatReading(perMinute)}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </div>
          <h3 className="mt-2 font-semibold">All panels</h3>
          <div className="grid gap-2 sm:grid-cols-2 xl:grid-cols-3">
            {latest.panels.map((panel) => (
              <div
                key={panel.id}
                className="rounded border border-border p-2 text-sm"
                data-testid={`telemetry-panel-${panel.id}`}
              >
                <h4 className="text-xs text-muted">{panel.title}</h4>
                {panel.unavailable !== undefined ? (
                  <p className="text-muted">— {panel.unavailable}</p>
                ) : panel.series.length === 0 ? (
                  <p className="text-muted">No data.</p>
                ) : (
                  <ul className="font-mono">
                    {panel.series.map((item) => (
                      <li key={labelText(item.labels)} className="flex gap-2">
                        <span className="truncate text-muted">{labelText(item.labels)}</span>
                        <span className="ml-auto">{formatPanelValue(item.value, panel.unit)}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            ))}
          </div>
        </>
      )}
    </Section>
  );
}

/** Props of {@link SourceLine}. */
interface SourceLineProps {
  snapshot: TelemetrySnapshot;
}

/** Where the numbers come from, and which services did not answer the last scrape. */
function SourceLine({ snapshot }: SourceLineProps) {
  const failed = (snapshot.scrapes ?? []).filter((scrape) => !scrape.ok);
  return (
    <span className="text-xs text-muted" data-testid="telemetry-source" data-source={snapshot.source}>
      {snapshot.source === 'prometheus' ? 'From Prometheus' : 'From the services’ /metrics'} · updated{' '}
      {new Date(snapshot.at).toLocaleTimeString()}
      {failed.length > 0 && (
        <span className="text-danger">
          {' '}
          · no answer from {failed.map((scrape) => scrape.service).join(', ')}
        </span>
      )}
    </span>
  );
}

/** Props of {@link Stat}. */
interface StatProps {
  testId: string;
  title: string;
  /** The reading; `text` replaces its formatting. */
  value?: number | null;
  text?: string;
  /** Why the reading is unknown. */
  reason?: string | undefined;
  values: readonly (number | null)[];
}

/** A value with its sparkline. */
function Stat({ testId, title, value, text, reason, values }: StatProps) {
  const shown = text ?? (value === null || value === undefined ? '—' : formatReading(value));
  return (
    <div className="rounded border border-border p-2" data-testid={testId}>
      <h3 className="text-xs text-muted">{title}</h3>
      <div className="font-mono text-lg" data-testid={`${testId}-value`} title={reason}>
        {shown}
      </div>
      {value === null && reason !== undefined && <p className="text-xs text-muted">{reason}</p>}
      <svg viewBox="0 0 200 40" width="100%" height={40} role="img" aria-label={`${title} over time`}>
        <polyline
          points={sparklinePoints(values, 200, 38)}
          fill="none"
          stroke="var(--c-accent)"
          strokeWidth={1.5}
        />
      </svg>
    </div>
  );
}
