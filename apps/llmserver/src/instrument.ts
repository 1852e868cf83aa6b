// Loaded before main.ts with `node --import ./dist/instrument.js` (dev: `tsx --import ./src/instrument.ts`), so the
// OpenTelemetry SDK is running before fastify, pg, ioredis and kafkajs are imported and can instrument them.
// Like main.ts it is a process entry: it reads the telemetry section of the environment and nothing else.
import { telemetrySchema } from '@cyber/config';
import { startTracing, type Tracing } from '@cyber/telemetry';

// A malformed telemetry setting is reported by main.ts's config loader with every other bad variable.
const telemetry = telemetrySchema.safeParse(process.env);

/** This process's tracing; main.ts flushes it after the app has closed. */
export const tracing: Tracing = startTracing({
  serviceName: 'llmserver',
  ...(telemetry.success && telemetry.data.otelEnabled ? { otlpEndpoint: telemetry.data.otelEndpoint } : {}),
});
