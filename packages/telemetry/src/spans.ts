// Spans the instrumentations cannot make: LLM calls with the OpenTelemetry GenAI semantic conventions, sandbox
// runs with their verdict and resources, and the usage sink's booking joined to the trace of the request that
// caused the usage (its trace id travels inside the Kafka usage event, not in message headers, because the
// outbox publishes long after the request's context is gone).
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

const tracer = () => trace.getTracer('@cyber/telemetry');

/** A GenAI operation name from the semantic conventions. */
export type GenAiOperation = 'chat' | 'text_completion' | 'embeddings';

/** What an LLM span records when it ends. */
export interface GenAiUsage {
  inputTokens: number;
  outputTokens: number;
  /** OpenAI-style finish reasons (`stop`, `length`, `tool_calls`, `cancelled`). */
  finishReasons?: readonly string[];
}

/** An LLM span in flight. */
export interface GenAiSpan {
  /** Ends the span with the token usage and finish reason. */
  end(usage: GenAiUsage): void;
  /** Ends the span as failed (token counts of a partial generation may still be given). */
  fail(error: unknown, usage?: GenAiUsage): void;
}

/**
 * Starts a client span `<operation> <model>` under the active context with `gen_ai.operation.name`,
 * `gen_ai.request.model`, and when it ends `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
 * `gen_ai.response.finish_reasons`. No prompt or completion text is ever recorded.
 */
export function startGenAiSpan(options: {
  operation: GenAiOperation;
  model: string;
  maxTokens?: number;
}): GenAiSpan {
  const attributes: Attributes = {
    'gen_ai.operation.name': options.operation,
    'gen_ai.request.model': options.model,
    'gen_ai.provider.name': 'node-llama-cpp',
  };
  if (options.maxTokens !== undefined) attributes['gen_ai.request.max_tokens'] = options.maxTokens;
  const span = tracer().startSpan(`${options.operation} ${options.model}`, {
    kind: SpanKind.INTERNAL,
    attributes,
  });
  const record = (usage: GenAiUsage | undefined): void => {
    if (usage === undefined) return;
    span.setAttributes({
      'gen_ai.usage.input_tokens': usage.inputTokens,
      'gen_ai.usage.output_tokens': usage.outputTokens,
      'gen_ai.response.model': options.model,
      ...(usage.finishReasons ? { 'gen_ai.response.finish_reasons': [...usage.finishReasons] } : {}),
    });
  };
  return {
    end(usage) {
      record(usage);
      span.end();
    },
    fail(error, usage) {
      record(usage);
      failSpan(span, error);
      span.end();
    },
  };
}

/**
 * Runs `fn` inside one span `name` per distinct trace id, each a child of that trace (a remote parent), so the
 * work shows up in the trace of every request it serves. Ids that are not 32 hex digits are skipped.
 */
export async function inTraces<T>(
  name: string,
  traceIds: readonly (string | null | undefined)[],
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  const spans = [...new Set(traceIds)]
    .filter((id): id is string => typeof id === 'string' && /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id))
    .map((traceId) => {
      const parent = trace.setSpanContext(context.active(), {
        traceId,
        // The publishing span is not known here; any valid id makes the parent a remote span of that trace.
        spanId: randomSpanId(),
        traceFlags: TraceFlags.SAMPLED,
        isRemote: true,
      });
      return tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
    });
  try {
    const result = await fn();
    for (const span of spans) span.end();
    return result;
  } catch (error) {
    for (const span of spans) {
      failSpan(span, error);
      span.end();
    }
    throw error;
  }
}

/** Records a finished sandbox run as a span under the active context (verdict, language and resources). */
export function recordSandboxSpan(options: {
  startTime: Date;
  language: string;
  verdict: string;
  path: string;
  wallMs: number;
  cpuMs: number;
  peakMemoryBytes: number | null;
}): void {
  const span = tracer().startSpan(`sandbox.run ${options.language}`, {
    startTime: options.startTime,
    attributes: {
      'sandbox.language': options.language,
      'sandbox.verdict': options.verdict,
      'sandbox.path': options.path,
      'sandbox.wall_ms': options.wallMs,
      'sandbox.cpu_ms': options.cpuMs,
      ...(options.peakMemoryBytes === null ? {} : { 'sandbox.peak_memory_bytes': options.peakMemoryBytes }),
    },
  });
  if (options.verdict !== 'ok' && options.verdict !== 'error') {
    span.setStatus({ code: SpanStatusCode.ERROR, message: options.verdict });
  }
  span.end();
}

/**
 * The W3C `traceparent` of the active span (its trace, with it as the parent), or undefined outside one: what a
 * service puts on a call it makes by hand (fetch, WebSocket), which the HTTP instrumentation does not see.
 */
export function activeTraceparent(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** The trace id of the active span, or null outside one. */
export function activeTraceId(): string | null {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : null;
}

function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
  // The error's class only: messages may quote user input.
  span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
}

function randomSpanId(): string {
  let id = '';
  while (!/[1-9a-f]/.test(id))
    id = Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return id;
}
