import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { NoParams, Timestamp } from '../schemas/common.js';

/** Where a telemetry snapshot was read: Prometheus' query API, or the services' own `/metrics` scraped by the api. */
export const TelemetrySourceKind = z.enum(['prometheus', 'services']);
/** Telemetry source type. */
export type TelemetrySourceKind = z.infer<typeof TelemetrySourceKind>;

/** A value that may be unknown: no data yet, no series, or not a number (`NaN`, `±Inf` have no JSON form). */
const Reading = z.number().nullable();

/** One series of a panel: its labels and its current value. */
export const TelemetrySeries = z.object({
  labels: z.record(z.string(), z.string()),
  value: Reading,
});
/** Telemetry series type. */
export type TelemetrySeries = z.infer<typeof TelemetrySeries>;

/** One panel of `metrics/panels.json`, evaluated. */
export const TelemetryPanelReading = z.object({
  id: z.string(),
  title: z.string(),
  unit: z.string(),
  series: z.array(TelemetrySeries),
  unavailable: z.string().optional().describe('Why the panel has no series, when it could not be evaluated.'),
});
/** Evaluated panel type. */
export type TelemetryPanelReading = z.infer<typeof TelemetryPanelReading>;

/** The headline numbers of the dashboard; `null` where there is no data, with the reason in `reasons`. */
export const TelemetrySummary = z.object({
  requestsPerSecond: Reading.describe('HTTP requests served per second, all services together.'),
  latencyMs: z
    .object({ p50: Reading, p95: Reading, p99: Reading })
    .describe('HTTP request latency percentiles in milliseconds, all services together.'),
  tokensPerSecond: Reading.describe('Tokens generated per second, all models together.'),
  sandboxRunsPerMinute: z
    .record(z.string(), z.number())
    .nullable()
    .describe('Sandbox runs per minute, by verdict.'),
  queueDepth: Reading.describe('LLM requests waiting for a model sequence.'),
});
/** Telemetry summary type. */
export type TelemetrySummary = z.infer<typeof TelemetrySummary>;

/** A service the api scraped for a `services` snapshot, and whether that worked. */
export const TelemetryScrape = z.object({
  service: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
});
/** Scrape outcome type. */
export type TelemetryScrape = z.infer<typeof TelemetryScrape>;

/** A telemetry snapshot. */
export const TelemetrySnapshot = z.object({
  at: Timestamp.describe('When the data was read.'),
  source: TelemetrySourceKind,
  summary: TelemetrySummary,
  reasons: z
    .record(z.string(), z.string())
    .describe('Why a summary field is null, keyed by its name (e.g. `queueDepth`).'),
  panels: z.array(TelemetryPanelReading),
  scrapes: z
    .array(TelemetryScrape)
    .optional()
    .describe('With source `services`: each service scraped and whether it answered.'),
});
/** Telemetry snapshot type. */
export type TelemetrySnapshot = z.infer<typeof TelemetrySnapshot>;

/** The admin dashboard's live telemetry. */
export const telemetryMethods = {
  'telemetry.snapshot': defineMethod({
    description:
      'Current telemetry: the dashboard summary and every panel of metrics/panels.json, from Prometheus when the api is configured with one, otherwise from the services’ own /metrics. Admins only.',
    access: 'admin',
    params: NoParams,
    result: TelemetrySnapshot,
  }),
} as const;
