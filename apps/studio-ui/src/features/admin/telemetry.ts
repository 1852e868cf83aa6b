// The data the telemetry panels show, behind a small interface: the dashboard reads telemetry.snapshot over the
// RPC client (the api answers from Prometheus or from the services' own metrics), and tests can hand in another
// source. Unknown values stay unknown (`null`, shown as a dash with the api's reason), never invented.
import type { Contract, TelemetrySnapshot } from '@cyber/contract';
import type { HttpClient } from '@cyber/rpc-client';
import { formatBytes } from '../chat/format.ts';

export type { TelemetrySnapshot } from '@cyber/contract';

/** Where snapshots come from. */
export interface TelemetrySource {
  /** Reads the current snapshot. */
  read: (signal: AbortSignal) => Promise<TelemetrySnapshot>;
}

/** The source over the gateway: `telemetry.snapshot` as the signed-in admin. */
export function rpcTelemetrySource(call: HttpClient<Contract>['call']): TelemetrySource {
  return { read: (signal) => call('telemetry.snapshot', {}, { signal }) };
}

/** Most snapshots kept for the sparklines. */
export const HISTORY_LENGTH = 60;

/** Appends a snapshot, keeping the last {@link HISTORY_LENGTH}. */
export function pushSnapshot(
  history: readonly TelemetrySnapshot[],
  next: TelemetrySnapshot,
): TelemetrySnapshot[] {
  return [...history, next].slice(-HISTORY_LENGTH);
}

/**
 * SVG polyline points for `values` in a `width` × `height` box (newest on the right, 0 at the bottom). An
 * unknown reading keeps its place on the x axis but draws no point, so the line joins its neighbours.
 */
export function sparklinePoints(values: readonly (number | null)[], width: number, height: number): string {
  if (values.length === 0) return '';
  const known = values.filter((value): value is number => value !== null);
  const max = Math.max(...known, 0);
  // One reading is a level line across the box rather than a single point, which would draw nothing.
  if (values.length === 1 && known.length === 1) {
    const y = max === 0 ? height : height - (Math.max(0, known[0] ?? 0) / max) * height;
    return `0.0,${y.toFixed(1)} ${width.toFixed(1)},${y.toFixed(1)}`;
  }
  const step = values.length === 1 ? 0 : width / (values.length - 1);
  return values
    .flatMap((value, index) => {
      if (value === null) return [];
      const y = max === 0 ? height : height - (Math.max(0, value) / max) * height;
      return [`${(index * step).toFixed(1)},${y.toFixed(1)}`];
    })
    .join(' ');
}

/** A number with at most three significant digits past the integer part: `0.01234` → `0.0123`, `1234.5` → `1,235`. */
export function formatReading(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 1) return value.toFixed(1).replace(/\.0$/, '');
  if (abs === 0) return '0';
  return value.toPrecision(3).replace(/0+$/, '');
}

/** A panel value in its unit: seconds as ms below 1 s, bytes in binary units, ratios as percent. */
export function formatPanelValue(value: number | null, unit: string): string {
  if (value === null) return '—';
  switch (unit) {
    case 's':
      return value < 1 ? `${formatReading(value * 1000)} ms` : `${formatReading(value)} s`;
    case 'bytes':
      return formatBytes(value);
    case 'ratio':
      return `${formatReading(value * 100)} %`;
    default:
      return `${formatReading(value)} ${unit}`;
  }
}

/** A series' labels as `a=x, b=y`, or `all` when it has none (a plain sum). */
export function labelText(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? 'all' : entries.map(([name, value]) => `${name}=${value}`).join(', ');
}
