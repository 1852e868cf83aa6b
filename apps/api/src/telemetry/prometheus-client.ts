// Instant queries against Prometheus' HTTP API (GET /api/v1/query). A Prometheus that cannot be reached, times
// out or answers something that is not its API is `service_unavailable` naming it; a query Prometheus itself
// rejects (bad PromQL, a query timeout) is that query's own failure, so the other panels still show.
import { RpcError } from '@cyber/contract';
import type { VectorElement } from './promql-lite.js';

/** The outcome of one query: its vector, or why Prometheus refused it. */
export type QueryOutcome = { ok: true; vector: VectorElement[] } | { ok: false; error: string };

/** Options of {@link PrometheusClient}. */
export interface PrometheusClientOptions {
  /** Base URL of Prometheus (`http://host:port`, or with a path prefix). */
  url: string;
  /** Most milliseconds one query may take, connection included. */
  timeoutMs: number;
  /** fetch implementation; the global one by default. */
  fetch?: typeof fetch;
}

interface ApiResponse {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: unknown };
}

function unavailable(reason: string, cause?: unknown): RpcError {
  return new RpcError('service_unavailable', {
    message: 'Prometheus is unavailable',
    data: { service: 'prometheus', reason },
    cause,
  });
}

/** Turns the API's `vector` or `scalar` result into vector elements (the metric name label dropped). */
function toVector(data: ApiResponse['data']): VectorElement[] {
  const number = (text: unknown): number => (typeof text === 'string' ? Number(text) : Number.NaN);
  if (data?.resultType === 'scalar' && Array.isArray(data.result)) {
    return [{ labels: {}, value: number(data.result[1]) }];
  }
  if (data?.resultType !== 'vector' || !Array.isArray(data.result)) return [];
  return (data.result as { metric?: Record<string, string>; value?: [number, string] }[]).map((item) => {
    const { __name__: _name, ...labels } = item.metric ?? {};
    return { labels, value: number(item.value?.[1]) };
  });
}

/** A client for Prometheus' instant-query API. */
export class PrometheusClient {
  readonly #options: PrometheusClientOptions;

  constructor(options: PrometheusClientOptions) {
    this.#options = options;
  }

  /** Runs `query` now. Throws RpcError `service_unavailable` when Prometheus does not answer as itself. */
  async query(query: string, signal?: AbortSignal): Promise<QueryOutcome> {
    const url = new URL(
      'api/v1/query',
      this.#options.url.endsWith('/') ? this.#options.url : `${this.#options.url}/`,
    );
    url.searchParams.set('query', query);
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    let response: Response;
    let body: ApiResponse;
    try {
      response = await (this.#options.fetch ?? fetch)(url, {
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      body = (await response.json()) as ApiResponse;
    } catch (error) {
      if (signal?.aborted === true) throw new RpcError('cancelled', { cause: error });
      throw unavailable(timeout.aborted ? 'timeout' : 'unreachable', error);
    }
    if (body.status === 'success') return { ok: true, vector: toVector(body.data) };
    // 400 bad_data and 422 execution errors are the query's; anything else means Prometheus itself is unwell.
    if (body.status === 'error' && (response.status === 400 || response.status === 422)) {
      return { ok: false, error: `${body.errorType ?? 'error'}: ${body.error ?? 'query failed'}` };
    }
    throw unavailable(`HTTP ${response.status}`);
  }
}
