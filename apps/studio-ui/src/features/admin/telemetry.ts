// The data the telemetry panels show, behind a small interface: the panels are built now, and a source is
// plugged in once an API method serves the services' metrics. Until then the dashboard says metrics are not
// configured instead of showing invented numbers.

/** One reading of the services' metrics. */
export interface TelemetrySnapshot {
  /** When it was taken (ISO 8601). */
  at: string;
  /** Requests per second over the gateway. */
  requestsPerSecond: number;
  /** Request latency percentiles in milliseconds. */
  latencyMs: { p50: number; p95: number; p99: number };
  /** Tokens generated per second across models. */
  tokensPerSecond: number;
  /** Sandbox runs in the last interval, by verdict (ok, error, timeout …). */
  sandboxRunsByVerdict: Record<string, number>;
  /** Requests waiting for a model sequence. */
  queueDepth: number;
}

/** Where snapshots come from. */
export interface TelemetrySource {
  /** Reads the current snapshot. */
  read: (signal: AbortSignal) => Promise<TelemetrySnapshot>;
}

/**
 * The source the dashboard uses. No API method serves metrics yet (they are scraped by Prometheus), so there is
 * none; set it here when one lands.
 */
export const telemetrySource: TelemetrySource | undefined = undefined;

/** Most snapshots kept for the sparklines. */
export const HISTORY_LENGTH = 60;

/** Appends a snapshot, keeping the last {@link HISTORY_LENGTH}. */
export function pushSnapshot(
  history: readonly TelemetrySnapshot[],
  next: TelemetrySnapshot,
): TelemetrySnapshot[] {
  return [...history, next].slice(-HISTORY_LENGTH);
}

/** SVG polyline points for `values` in a `width` × `height` box (newest on the right, 0 at the bottom). */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const max = Math.max(...values, 0);
  const step = values.length === 1 ? 0 : width / (values.length - 1);
  return values
    .map((value, index) => {
      const y = max === 0 ? height : height - (Math.max(0, value) / max) * height;
      return `${(index * step).toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}
