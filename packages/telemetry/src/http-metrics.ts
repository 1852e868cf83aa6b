// The registry of one service and the Fastify plugin that records every request and serves GET /metrics.
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A fresh registry with the process and Node.js runtime metrics (`process_*`, `nodejs_*`). */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Options of {@link metricsPlugin}. */
export interface MetricsPluginOptions {
  /** Where the metrics are collected and read from. */
  registry: Registry;
  /** Path of the scrape endpoint. Default `/metrics`. */
  path?: string;
  /** Called before each scrape to refresh gauges read from elsewhere (outbox stats, loaded models, disk). */
  beforeScrape?: () => void | Promise<void>;
}

/**
 * Latency buckets from 5 ms (a cached read) to 60 s (a long generation or a sandbox run); shared by the HTTP and
 * JSON-RPC histograms so their quantiles compare.
 */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const plugin: FastifyPluginCallback<MetricsPluginOptions> = (app, options, done) => {
  const { registry } = options;
  const path = options.path ?? '/metrics';
  const duration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests served, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, next) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route !== path) {
      duration.observe(
        { method: request.method, route, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    }
    next();
  });
  app.get(path, async (_request, reply) => {
    await options.beforeScrape?.();
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  done();
};

/**
 * Records `http_server_request_duration_seconds{method,route,status_code}` for every request (its `_count` is
 * the request rate, 5xx the errors) and serves the registry at `path`. The route label is the route pattern,
 * never the raw URL, so ids in paths cannot grow the series. Register it before the routes.
 */
export const metricsPlugin = fp(plugin, { name: '@cyber/telemetry/metrics', fastify: '5.x' });
