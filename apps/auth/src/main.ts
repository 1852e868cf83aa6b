// The auth service process: the only file that reads the environment. Opens the database (and migrates it),
// connects Redis, builds the app, listens, and closes everything gracefully on SIGTERM/SIGINT.
// Tracing starts in instrument.ts (loaded first, with --import); the import below is the same instance.
import { tracing } from './instrument.js';
import { loadAuthConfig } from '@cyber/config';
import { createDatabase, migrate } from '@cyber/db';
import { createMetricsRegistry, createUsageSinkMetrics, loggerOptions } from '@cyber/telemetry';
import closeWithGrace from 'close-with-grace';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';

const config = loadAuthConfig(process.env);

const database = await createDatabase(config.database);
await migrate(database.db);
const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 3 });
await redis.connect();

const registry = createMetricsRegistry();
const app = await buildApp({
  config,
  database,
  redis,
  logger: loggerOptions({ service: 'auth', level: config.telemetry.logLevel }),
  metrics: { registry, usageSink: createUsageSinkMetrics(registry) },
  usageSink: true,
});

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err !== undefined) app.log.error({ err }, 'auth: closing after an error');
  else app.log.info({ signal }, 'auth: closing');
  await app.close();
  await tracing.shutdown();
});

await app.listen({ host: config.http.host, port: config.http.port });
