import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../src/index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { logger: pino(loggerOptions({ service: 'test', level: 'info' }), stream), lines, raw };
}

describe('loggerOptions', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => {
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });

  it('writes the active trace and span ids on every line, and none outside a span', () => {
    const { logger, lines } = capture();
    const span = new BasicTracerProvider().getTracer('test').startSpan('work');
    context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
    logger.info('outside');
    span.end();
    expect(lines[0]).toMatchObject({
      service: 'test',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('redacts credentials, passwords, keys and prompt text', () => {
    const { logger, raw } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer eyJ-secret-jwt', 'x-cyber-token': 'cyk_secret_key' } },
        params: {
          username: 'ada',
          password: 'hunter2-password',
          messages: [{ role: 'user', content: 'my prompt' }],
        },
        apiKey: 'cyk_other_key',
        prompt: 'complete this private prompt',
      },
      'request',
    );
    const text = raw.join('');
    for (const secret of [
      'eyJ-secret-jwt',
      'cyk_secret_key',
      'hunter2-password',
      'my prompt',
      'cyk_other_key',
      'private prompt',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('ada');
    expect(text).toContain('[redacted]');
  });
});
