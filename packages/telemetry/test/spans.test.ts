import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { activeTraceId, inTraces, startGenAiSpan } from '../src/index.js';
import { memorySpans } from '../src/testing.js';

const memory = memorySpans();

describe('spans', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [memory.processor] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  beforeEach(() => memory.reset());

  it('records an LLM call with the GenAI semantic conventions and no text', () => {
    const span = startGenAiSpan({ operation: 'chat', model: 'gemma-3-270m', maxTokens: 64 });
    span.end({ inputTokens: 12, outputTokens: 30, finishReasons: ['stop'] });
    const [recorded] = memory.spans();
    expect(recorded?.name).toBe('chat gemma-3-270m');
    expect(recorded?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gemma-3-270m',
      'gen_ai.request.max_tokens': 64,
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 30,
      'gen_ai.response.finish_reasons': ['stop'],
    });
  });

  it('marks a failed LLM call as an error with its partial usage', () => {
    const span = startGenAiSpan({ operation: 'text_completion', model: 'tiny' });
    span.fail(new TypeError('engine broke on "secret prompt"'), { inputTokens: 5, outputTokens: 2 });
    const [recorded] = memory.spans();
    expect(recorded?.status.code).toBe(2);
    expect(recorded?.attributes['error.type']).toBe('TypeError');
    expect(JSON.stringify(recorded?.attributes)).not.toContain('secret prompt');
  });

  it('joins work to the trace of each request it serves, once per distinct trace id', async () => {
    const a = 'a'.repeat(32);
    const b = '0123456789abcdef0123456789abcdef';
    const seen = await inTraces(
      'usage.book',
      [a, b, a, null, 'not-a-trace-id', '0'.repeat(32)],
      { n: 3 },
      () => Promise.resolve('booked'),
    );
    expect(seen).toBe('booked');
    const spans = memory.spans();
    expect(spans.map((s) => s.spanContext().traceId).sort()).toEqual([b, a].sort());
    expect(spans.every((s) => s.name === 'usage.book' && s.attributes.n === 3)).toBe(true);
  });

  it('ends the joined spans as errors when the work fails, and rethrows', async () => {
    await expect(
      inTraces('usage.book', ['b'.repeat(32)], {}, () => Promise.reject(new Error('db down'))),
    ).rejects.toThrow('db down');
    expect(memory.spans()[0]?.status.code).toBe(2);
  });

  it('tells the active trace id', () => {
    expect(activeTraceId()).toBeNull();
    const span = trace.getTracer('t').startSpan('x');
    context.with(trace.setSpan(context.active(), span), () => {
      expect(activeTraceId()).toBe(span.spanContext().traceId);
    });
    span.end();
  });
});
