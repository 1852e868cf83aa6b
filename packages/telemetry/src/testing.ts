// @cyber/telemetry/testing: spans kept in memory, for tests that check what a request traced.
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** An in-memory span sink: pass `processor` to `startTracing`, read `spans()`. */
export interface MemorySpans {
  processor: SpanProcessor;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** Forgets the spans collected so far. */
  reset(): void;
}

/** Creates an in-memory span sink. */
export function memorySpans(): MemorySpans {
  const exporter = new InMemorySpanExporter();
  return {
    processor: new SimpleSpanProcessor(exporter),
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
  };
}

export type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
export { SpanKind } from '@opentelemetry/api';
