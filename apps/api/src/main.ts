// The api gateway process: the only file that reads the environment. Opens the database (and migrates it),
// creates the session verifier and the sandbox runner, builds the app, listens, and closes everything
// gracefully on SIGTERM/SIGINT.
// Tracing starts in instrument.ts (loaded first, with --import); the import below is the same instance.
import { tracing } from './instrument.js';
import { join } from 'node:path';
import { createVerifier } from '@cyber/auth-client';
import { loadApiConfig } from '@cyber/config';
import { createDatabase, migrate } from '@cyber/db';
import { createMetricsRegistry, createSandboxMetrics, loggerOptions } from '@cyber/telemetry';
import closeWithGrace from 'close-with-grace';
import { buildApp, loadTelemetryPanels } from './app.js';
import { observedSandbox } from './observed-sandbox.js';
import { startSandboxRunner } from './sandbox-runner.js';

const config = loadApiConfig(process.env);
const registry = createMetricsRegistry();
const sandboxMetrics = createSandboxMetrics(registry);

// Read before anything opens, so a missing or malformed panels file stops the start with its own message.
const telemetryPanels = await loadTelemetryPanels(config.telemetryPanelsFile);

const database = await createDatabase(config.database);
await migrate(database.db);

const verifier = createVerifier({
  authUrl: config.authUrl,
  issuer: config.sessions.issuer,
  audience: config.sessions.audience,
  redisUrl: config.redis.url,
  redisKeyPrefix: config.redis.keyPrefix,
});

// Refuses to start with a malformed or weak seccomp profile; the engine itself is checked per run.
const { runner, maxima } = startSandboxRunner(config.sandbox, {
  onContainerStarted: ({ language, seconds }) => sandboxMetrics.containerStart.observe({ language }, seconds),
});

const app = await buildApp({
  database,
  // The client's address goes to introspection, so auth limits failed keys per end client, not per gateway.
  authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
  projectsDir: join(config.dataDir, 'projects'),
  files: config.files,
  services: { auth: config.authUrl, llmserver: config.llmUrl },
  sandbox: { runner: observedSandbox(runner, sandboxMetrics), maxima },
  rpcLimits: { bodyLimit: config.rpc.bodyLimitBytes, maxBatch: config.rpc.maxBatchLength },
  ...(config.studioUiDir === undefined ? {} : { studioUiDir: config.studioUiDir }),
  agent: { defaultModel: config.agent.defaultModel, maxTokensPerStep: config.agent.maxTokensPerStep },
  logger: loggerOptions({ service: 'api', level: config.telemetry.logLevel }),
  metrics: { registry, beforeScrape: () => sandboxMetrics.warmPool.set(runner.warmIdle) },
  telemetry: { panels: telemetryPanels, prometheusUrl: config.prometheusUrl },
  onClose: async () => {
    await runner.close();
    await verifier.close();
  },
});
closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err !== undefined) app.log.error({ err }, 'api: closing after an error');
  else app.log.info({ signal }, 'api: closing');
  await app.close();
  await tracing.shutdown();
});

await app.listen({ host: config.http.host, port: config.http.port });
