// The llmserver process: the only file that reads the environment. Opens the database (and migrates it), Redis,
// the usage outbox and its Kafka producer, the session verifier and the inference engine, builds the app,
// listens, and closes everything gracefully on SIGTERM/SIGINT (generations finish or are cancelled and billed).
// Tracing starts in instrument.ts (loaded first, with --import); the import below is the same instance.
import { tracing } from './instrument.js';
import { createVerifier } from '@cyber/auth-client';
import { loadLlmConfig } from '@cyber/config';
import { createDatabase, migrate } from '@cyber/db';
import { LlmEngine } from '@cyber/llm';
import { createUsageOutbox, createUsageProducer, type UsageProducer } from '@cyber/usage-events';
import closeWithGrace from 'close-with-grace';
import { Redis } from 'ioredis';
import { createLlmMetrics, createMetricsRegistry, loggerOptions } from '@cyber/telemetry';
import pino from 'pino';
import { buildApp } from './app.js';

const config = loadLlmConfig(process.env);
const logOptions = loggerOptions({ service: 'llmserver', level: config.telemetry.logLevel });
const logger = pino(logOptions);
const registry = createMetricsRegistry();
const llmMetrics = createLlmMetrics(registry);

const database = await createDatabase(config.database);
await migrate(database.db);

// Metering fails closed: no offline queue, so a lost Redis refuses requests at once instead of piling them up.
const redis = new Redis(config.redis.url, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
});
await new Promise<void>((resolve, reject) => {
  redis.once('ready', resolve);
  redis.once('end', () => reject(new Error(`Redis at ${config.redis.url} cannot be reached`)));
});

const kafka = createUsageProducer({
  brokers: config.kafka.brokers,
  topic: config.kafka.usageTopic,
  clientId: 'cyber-llmserver',
});
// Kafka may be down at start: the outbox keeps events and this connects on the next send that needs it.
let connected: Promise<void> | undefined;
const producer: Pick<UsageProducer, 'send'> = {
  async send(events) {
    connected ??= kafka.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
    await kafka.send(events);
    llmMetrics.usageEventsPublished.inc(events.length);
  },
};
const outbox = createUsageOutbox({
  dir: config.outboxDir,
  producer,
  logger,
  isBooked: async (eventIds) => {
    const rows = await database.db
      .selectFrom('tokens_used')
      .select('event_id')
      .where('event_id', 'in', eventIds)
      .execute();
    return new Set(rows.map((row) => row.event_id));
  },
});
await outbox.open();

const verifier = createVerifier({
  authUrl: config.authUrl,
  issuer: config.sessions.issuer,
  audience: config.sessions.audience,
  redisUrl: config.redis.url,
  redisKeyPrefix: config.redis.keyPrefix,
  logger,
});

const engine = await LlmEngine.create({
  gpu: config.inference.gpu,
  threads: config.inference.threads,
  logger,
});

const app = await buildApp({
  database,
  authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
  engine,
  redis,
  redisKeyPrefix: config.redis.keyPrefix,
  outbox,
  limits: {
    maxConcurrentPerUser: config.inference.maxConcurrentPerUser,
    requestsPerMinute: config.inference.requestsPerMinute,
    tokensPerMinute: config.inference.tokensPerMinute,
  },
  modelsDir: config.modelsDir,
  authUrl: config.authUrl,
  rpcLimits: { bodyLimit: config.rpc.bodyLimitBytes, maxBatch: config.rpc.maxBatchLength },
  logger: logOptions,
  metrics: { registry, llm: llmMetrics },
  onClose: async () => {
    await verifier.close();
    await kafka.disconnect().catch(() => undefined);
  },
});
closeWithGrace({ delay: 30_000 }, async ({ err, signal }) => {
  if (err !== undefined) app.log.error({ err }, 'llmserver: closing after an error');
  else app.log.info({ signal }, 'llmserver: closing');
  await app.close();
  await tracing.shutdown();
});

await app.listen({ host: config.http.host, port: config.http.port });
