// The OpenTelemetry SDK of one service: HTTP, Fastify, pg, ioredis and kafkajs instrumented, W3C trace context
// propagated, spans exported over OTLP/HTTP when an endpoint is given. It must start before the instrumented
// modules are imported (ESM): each service loads its src/instrument.ts with `node --import`.
import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** `service.name` of every span (`api`, `auth`, `llmserver`). */
  serviceName: string;
  /** OTLP/HTTP base URL of the collector; spans go to `<endpoint>/v1/traces`. Absent: spans are not exported. */
  otlpEndpoint?: string;
  /** More span processors (tests: a SimpleSpanProcessor around an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  /**
   * Register the import-in-the-middle loader hook so ES modules are instrumented too. Default true; tests that
   * run under vitest's own module loader turn it off.
   */
  esmHooks?: boolean;
}

/** A started SDK. */
export interface Tracing {
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Starts tracing for one service. Call once, before the instrumented libraries are imported. */
export function startTracing(options: TracingOptions): Tracing {
  if (options.esmHooks ?? true) register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint !== undefined) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  // Without any processor the SDK registers no tracer provider, and log lines would carry no trace ids.
  if (processors.length === 0) processors.push(new NoopSpanProcessor());
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    // Everything explicit, so the SDK never falls back to OTEL_* environment exporters (metrics are prom-client's).
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes are not user actions; tracing them would drown the traces that matter.
        ignoreIncomingRequestHook: (request) => isProbe(request.url),
      }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => isProbe(route.url),
      }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // Redis arguments may hold balances and keys; the statement is recorded without them.
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      new KafkaJsInstrumentation(),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

function isProbe(url: string | undefined): boolean {
  return url === '/metrics' || url === '/healthz' || url === '/readyz';
}
