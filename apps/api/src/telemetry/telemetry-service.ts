// telemetry.snapshot's data: every panel of metrics/panels.json plus the dashboard summary, evaluated by
// Prometheus when the api has one, otherwise by the api itself over the services' own /metrics (scraped here,
// the last scrape kept in memory so rates are the change since then). One snapshot serves every admin for a
// couple of seconds, and concurrent polls share one evaluation, so many open dashboards cost one scrape.
import type { TelemetrySnapshot, TelemetrySourceKind } from '@cyber/contract';
import { parsePrometheusText, type Sample } from './prom-text.js';
import { PrometheusClient, type QueryOutcome } from './prometheus-client.js';
import { UnsupportedQueryError, evaluateQuery, type VectorElement } from './promql-lite.js';
import type { PanelDefinition } from './telemetry-panels.js';

/** A service whose metrics the api reads itself when there is no Prometheus. */
export interface ScrapeTarget {
  /** Its name, added to its samples as the `job` label (as Prometheus' scrape config names them). */
  service: string;
  /** Reads its exposition text. */
  read: (signal: AbortSignal) => Promise<string>;
}

/** Options of {@link TelemetryService}. */
export interface TelemetryServiceOptions {
  /** The panels to evaluate. */
  panels: readonly PanelDefinition[];
  /** Base URL of Prometheus; without it the services are scraped. */
  prometheusUrl?: string | undefined;
  /** The services to scrape without Prometheus. */
  targets: readonly ScrapeTarget[];
  /** How long one snapshot is served to every caller, in ms. Default 2,000. */
  cacheMs?: number;
  /** Most ms one Prometheus query or one scrape may take. Default 3,000. */
  timeoutMs?: number;
  /** A scrape older than this is not used for rates; two fresh ones are taken `pairGapMs` apart. Default 60,000. */
  staleMs?: number;
  /** Gap between the two scrapes of a first (or stale) snapshot, in ms. Default 1,000. */
  pairGapMs?: number;
  /** fetch for Prometheus; the global one by default. */
  fetch?: typeof fetch;
}

/** The summary's queries. Rates over 1 minute in Prometheus; over the time since the last scrape without it. */
export const SUMMARY_QUERIES = {
  requestsPerSecond: 'sum(rate(http_server_request_duration_seconds_count[1m]))',
  p50: 'histogram_quantile(0.5, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))',
  p95: 'histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))',
  p99: 'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))',
  tokensPerSecond: 'sum(rate(llm_completion_tokens_total[1m]))',
  sandboxRunsPerMinute: 'sum by (verdict) (rate(sandbox_runs_total[5m])) * 60',
  queueDepth: 'sum(llm_queue_waiting_requests)',
} as const;

type Evaluate = (query: string) => QueryOutcome;

/** NaN and ±Inf have no JSON form: they are unknown. */
function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** A scrape of every target at one moment. */
interface Scrape {
  at: number;
  samples: Sample[];
  outcomes: { service: string; ok: boolean; error?: string }[];
}

/** Builds telemetry snapshots; one per app. */
export class TelemetryService {
  readonly #options: TelemetryServiceOptions;
  readonly #prometheus: PrometheusClient | undefined;
  #last: Scrape | undefined;
  #cached: { at: number; snapshot: TelemetrySnapshot } | undefined;
  #inFlight: Promise<TelemetrySnapshot> | undefined;

  constructor(options: TelemetryServiceOptions) {
    this.#options = options;
    this.#prometheus =
      options.prometheusUrl === undefined
        ? undefined
        : new PrometheusClient({
            url: options.prometheusUrl,
            timeoutMs: options.timeoutMs ?? 3_000,
            ...(options.fetch ? { fetch: options.fetch } : {}),
          });
  }

  /** Where snapshots come from. */
  get source(): TelemetrySourceKind {
    return this.#prometheus === undefined ? 'services' : 'prometheus';
  }

  /** The current snapshot: a cached one when it is fresh, otherwise a new one shared by concurrent callers. */
  async snapshot(): Promise<TelemetrySnapshot> {
    const cached = this.#cached;
    if (cached !== undefined && Date.now() - cached.at < (this.#options.cacheMs ?? 2_000))
      return cached.snapshot;
    this.#inFlight ??= this.#take().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #take(): Promise<TelemetrySnapshot> {
    const snapshot =
      this.#prometheus === undefined ? await this.#fromServices() : await this.#fromPrometheus();
    this.#cached = { at: Date.now(), snapshot };
    return snapshot;
  }

  async #fromPrometheus(): Promise<TelemetrySnapshot> {
    const prometheus = this.#prometheus as PrometheusClient;
    const queries = [...Object.values(SUMMARY_QUERIES), ...this.#options.panels.map((p) => p.query)];
    const unique = [...new Set(queries)];
    // All at once: each is bounded by the client's timeout, and a down Prometheus fails the first one to fail.
    const outcomes = await Promise.all(unique.map((query) => prometheus.query(query)));
    const byQuery = new Map(unique.map((query, index) => [query, outcomes[index] as QueryOutcome]));
    return this.#assemble('prometheus', (query) => byQuery.get(query) as QueryOutcome);
  }

  async #fromServices(): Promise<TelemetrySnapshot> {
    const staleMs = this.#options.staleMs ?? 60_000;
    let previous = this.#last;
    if (previous === undefined || Date.now() - previous.at > staleMs) {
      previous = await this.#scrape();
      await new Promise((resolve) => setTimeout(resolve, this.#options.pairGapMs ?? 1_000));
    }
    const current = await this.#scrape();
    this.#last = current;
    const input = {
      current: current.samples,
      previous: previous.samples,
      seconds: (current.at - previous.at) / 1000,
    };
    const evaluate: Evaluate = (query) => {
      try {
        return { ok: true, vector: evaluateQuery(query, input) };
      } catch (error) {
        if (error instanceof UnsupportedQueryError) {
          return { ok: false, error: `not supported without Prometheus: ${error.message}` };
        }
        throw error;
      }
    };
    return { ...this.#assemble('services', evaluate), scrapes: current.outcomes };
  }

  async #scrape(): Promise<Scrape> {
    const timeoutMs = this.#options.timeoutMs ?? 3_000;
    const results = await Promise.all(
      this.#options.targets.map(async (target) => {
        try {
          const text = await target.read(AbortSignal.timeout(timeoutMs));
          const samples = parsePrometheusText(text).map((s) => ({
            ...s,
            labels: { ...s.labels, job: target.service },
          }));
          return { samples, outcome: { service: target.service, ok: true } };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return { samples: [], outcome: { service: target.service, ok: false, error: message } };
        }
      }),
    );
    return {
      at: Date.now(),
      samples: results.flatMap((r) => r.samples),
      outcomes: results.map((r) => r.outcome),
    };
  }

  #assemble(source: TelemetrySourceKind, evaluate: Evaluate): TelemetrySnapshot {
    const reasons: Record<string, string> = {};
    /** The single value of a summary query, or null with the reason recorded under `field`. */
    const single = (field: string, query: string, noData: string): number | null => {
      const outcome = evaluate(query);
      if (!outcome.ok) {
        reasons[field] = outcome.error;
        return null;
      }
      const value = outcome.vector[0]?.value;
      const result = value === undefined ? null : finite(value);
      if (result === null) reasons[field] = noData;
      return result;
    };
    const noRequests = 'no HTTP requests in the window';
    const latency = (field: 'p50' | 'p95' | 'p99') => {
      const seconds = single(`latencyMs.${field}`, SUMMARY_QUERIES[field], noRequests);
      return seconds === null ? null : seconds * 1000;
    };
    const runs = evaluate(SUMMARY_QUERIES.sandboxRunsPerMinute);
    if (!runs.ok) reasons.sandboxRunsPerMinute = runs.error;
    const summary: TelemetrySnapshot['summary'] = {
      requestsPerSecond: single(
        'requestsPerSecond',
        SUMMARY_QUERIES.requestsPerSecond,
        'no HTTP metrics yet',
      ),
      latencyMs: { p50: latency('p50'), p95: latency('p95'), p99: latency('p99') },
      tokensPerSecond: single(
        'tokensPerSecond',
        SUMMARY_QUERIES.tokensPerSecond,
        'no tokens generated since llmserver started',
      ),
      sandboxRunsPerMinute: runs.ok ? byVerdict(runs.vector) : null,
      queueDepth: single('queueDepth', SUMMARY_QUERIES.queueDepth, 'no queue reading from llmserver'),
    };
    const panels = this.#options.panels.map((panel) => {
      const outcome = evaluate(panel.query);
      const base = { id: panel.id, title: panel.title, unit: panel.unit };
      if (!outcome.ok) return { ...base, series: [], unavailable: outcome.error };
      return {
        ...base,
        series: outcome.vector.map((element) => ({ labels: element.labels, value: finite(element.value) })),
      };
    });
    return { at: new Date().toISOString(), source, summary, reasons, panels };
  }
}

/** Runs per minute by verdict; a verdict with no runs in the window is left out. */
function byVerdict(vector: readonly VectorElement[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const element of vector) {
    const value = finite(element.value);
    if (value !== null && value > 0) out[element.labels.verdict ?? 'unknown'] = value;
  }
  return out;
}
