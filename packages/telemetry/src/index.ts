// @cyber/telemetry: everything a service needs to be observed, behind one small surface.
export { startTracing, type Tracing, type TracingOptions } from './tracing.js';
export { createMetricsRegistry, metricsPlugin, type MetricsPluginOptions } from './http-metrics.js';
export { createRpcServerMetrics, type RpcCallObservation, type RpcServerMetrics } from './rpc-metrics.js';
export {
  createLlmMetrics,
  createSandboxMetrics,
  createUsageSinkMetrics,
  type LlmMetrics,
  type SandboxMetrics,
  type UsageSinkMetrics,
} from './service-metrics.js';
export { REDACTED_PATHS, loggerOptions, traceFields, type ServiceLoggerOptions } from './logger.js';
export {
  activeTraceId,
  activeTraceparent,
  inTraces,
  recordSandboxSpan,
  startGenAiSpan,
  type GenAiOperation,
  type GenAiSpan,
  type GenAiUsage,
} from './spans.js';
export type { Registry } from 'prom-client';
