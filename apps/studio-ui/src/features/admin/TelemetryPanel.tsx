// Live telemetry: requests/s, latency percentiles, tokens/s, sandbox runs by verdict and queue depth, each a
// value with a sparkline of the last readings. Fed by a {@link TelemetrySource}; without one it says so.
import { useEffect, useState } from 'react';
import { errorText } from '../../rpc/error-text.ts';
import { formatCount } from '../chat/format.ts';
import {
  pushSnapshot,
  sparklinePoints,
  telemetrySource,
  type TelemetrySnapshot,
  type TelemetrySource,
} from './telemetry.ts';
import { Section } from './ui.tsx';

const POLL_MS = 5_000;

/** Props of {@link TelemetryPanel}. */
interface Props {
  /** The data source; the configured one by default. */
  source?: TelemetrySource | undefined;
}

/** The telemetry section. */
export function TelemetryPanel({ source = telemetrySource }: Props) {
  const [history, setHistory] = useState<TelemetrySnapshot[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (source === undefined) return undefined;
    const controller = new AbortController();
    const poll = async () => {
      try {
        const snapshot = await source.read(controller.signal);
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
  }, [source]);

  if (source === undefined) {
    return (
      <Section title="Telemetry">
        <p className="text-muted" data-testid="telemetry-unconfigured">
          Metrics not configured: no API method serves the services’ metrics yet. Prometheus still scrapes
          them (see metrics/ in the repository).
        </p>
      </Section>
    );
  }

  const latest = history.at(-1);
  const series = (pick: (snapshot: TelemetrySnapshot) => number) => history.map(pick);
  return (
    <Section title="Telemetry">
      {error !== undefined && (
        <p role="alert" className="text-danger">
          {error}
        </p>
      )}
      {latest === undefined ? (
        <p role="status" className="text-muted">
          Loading…
        </p>
      ) : (
        <div className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
          <Stat
            title="Requests / s"
            value={latest.requestsPerSecond.toFixed(1)}
            values={series((s) => s.requestsPerSecond)}
          />
          <Stat
            title="Latency p50 / p95 / p99"
            value={`${latest.latencyMs.p50.toFixed(0)} / ${latest.latencyMs.p95.toFixed(0)} / ${latest.latencyMs.p99.toFixed(0)} ms`}
            values={series((s) => s.latencyMs.p95)}
          />
          <Stat
            title="Tokens / s"
            value={latest.tokensPerSecond.toFixed(0)}
            values={series((s) => s.tokensPerSecond)}
          />
          <Stat
            title="Queue depth"
            value={formatCount(latest.queueDepth)}
            values={series((s) => s.queueDepth)}
          />
          <div className="rounded border border-border p-2">
            <h3 className="text-xs text-muted">Sandbox runs by verdict</h3>
            <ul className="font-mono text-sm">
              {Object.entries(latest.sandboxRunsByVerdict).map(([verdict, count]) => (
                <li key={verdict}>
                  {verdict}: {formatCount(count)}
                </li>
              ))}
            </ul>
          </div>
        </div>
      )}
    </Section>
  );
}

/** Props of {@link Stat}. */
interface StatProps {
  title: string;
  value: string;
  values: readonly number[];
}

/** A value with its sparkline. */
function Stat({ title, value, values }: StatProps) {
  return (
    <div className="rounded border border-border p-2">
      <h3 className="text-xs text-muted">{title}</h3>
      <div className="font-mono text-lg">{value}</div>
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
