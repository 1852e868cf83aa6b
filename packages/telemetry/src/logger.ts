// pino options every service uses: the active trace and span ids on every line, and secrets, credentials and
// prompt text redacted wherever they appear in a logged object.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { LoggerOptions } from 'pino';

/**
 * Paths pino redacts (its `redact` syntax): request credentials, passwords, keys and tokens, and LLM prompt
 * text (`prompt`, `messages`, `input`) one and two levels deep.
 */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-cyber-token"]',
  'req.headers["sec-websocket-protocol"]',
  'headers.authorization',
  'headers["x-cyber-token"]',
  ...[
    'password',
    'newPassword',
    'currentPassword',
    'apiKey',
    'secret',
    'token',
    'accessToken',
    'refreshToken',
  ].flatMap((key) => [key, `*.${key}`]),
  ...['prompt', 'messages', 'input'].flatMap((key) => [key, `*.${key}`, `params.${key}`]),
];

/** Options of {@link loggerOptions}. */
export interface ServiceLoggerOptions {
  /** Service name written on every line as `service`. */
  service: string;
  /** Lowest level written. */
  level: string;
}

/** pino (and Fastify `logger`) options for a service. */
export function loggerOptions(options: ServiceLoggerOptions): LoggerOptions {
  return {
    level: options.level,
    base: { service: options.service },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    mixin: traceFields,
  };
}

/** The active span's ids as log fields (`trace_id`, `span_id`), or nothing outside a span. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const context = trace.getActiveSpan()?.spanContext();
  if (context === undefined || !isSpanContextValid(context)) return {};
  return { trace_id: context.traceId, span_id: context.spanId };
}
