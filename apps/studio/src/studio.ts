// The whole studio in one process: the same buildApp of auth, llmserver and the gateway that the real stack
// runs, on embedded adapters: PGlite for PostgreSQL (one database under <dir>/db shared by the three), one
// in-process Redis for every Redis role, and the in-process usage bus for Kafka's. Each service listens on its
// own loopback port and they talk over HTTP exactly as in the real stack.
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildApp as buildApiApp } from '@cyber/api';
import { buildApp as buildAuthApp } from '@cyber/auth';
import { createVerifier, type Verifier } from '@cyber/auth-client';
import { loadApiConfig, loadAuthConfig, loadLlmConfig, type Env, type LogLevel } from '@cyber/config';
import { createDatabase, migrate, type Database } from '@cyber/db';
import { createEmbeddedRedis } from '@cyber/embedded';
import { LlmEngine } from '@cyber/llm';
import { buildApp as buildLlmApp } from '@cyber/llmserver';
import { loggerOptions } from '@cyber/telemetry';
import { createInProcessUsageBus, createUsageOutbox, type UsageEvent } from '@cyber/usage-events';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { StudioConfig } from './studio-config.js';
import { markLoaded, preloadStudioModel, resolveStudioModel, type StudioModel } from './studio-model.js';
import { openStudioSandbox } from './studio-sandbox.js';
import { ensureUiBuilt, uiDistDir } from './ui-build.js';
import { usageLedger } from './usage-ledger.js';

/** Options of {@link startStudio}. */
export interface StartStudioOptions {
  /** The studio's settings (`loadStudioConfig`). */
  config: StudioConfig;
  /** The repository root (the UI is built and served from there). */
  repoRoot: string;
  /** The environment handed to each service's config loader (CYBER_SANDBOX_*, CYBER_ARGON2_*…). */
  env: Env;
  /** Progress lines for the terminal (never a secret). */
  report: (line: string) => void;
  /** The built UI to serve; the repository's apps/studio-ui/dist (built when stale) when absent. */
  uiDir?: string;
  /** Where the service logs go; `<dir>/logs/studio.log` when absent. */
  logStream?: DestinationStream;
}

/** The first admin, when this start created it. */
export interface CreatedAdmin {
  username: string;
  /** The generated password; undefined when CYBER_BOOTSTRAP_ADMIN_PASSWORD gave one. */
  password: string | undefined;
}

/** A running studio. */
export interface Studio {
  /** The gateway: the UI and /rpc. */
  url: string;
  /** auth and llmserver, for tools and tests. */
  authUrl: string;
  llmUrl: string;
  /** The model loaded at start. */
  model: StudioModel;
  /** Undefined when runs work; otherwise why they are refused. */
  sandboxUnavailable: string | undefined;
  /** Set when this start created the first admin (empty data directory); undefined on later starts. */
  createdAdmin: CreatedAdmin | undefined;
  /** Where the service logs go. */
  logFile: string | undefined;
  /**
   * Stops everything: the gateway, llmserver (generations settled, the outbox flushed), waits (at most 10 s)
   * until auth's sink has booked every usage event this process sent, then auth, the embedded Redis and bus,
   * and PGlite. Idempotent.
   */
  close(): Promise<void>;
}

/** How long close() waits for the sink to book the last usage events. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Starts the studio; on a failure everything already opened is closed again before the error is thrown. */
export async function startStudio(options: StartStudioOptions): Promise<Studio> {
  const { report } = options;
  const closers: { name: string; close: () => Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const closer of closers.splice(0).reverse()) {
      await closer
        .close()
        .catch((error: unknown) => report(`closing ${closer.name} failed: ${String(error)}`));
    }
  };
  try {
    return await start(options, closers, closeAll);
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function start(
  options: StartStudioOptions,
  closers: { name: string; close: () => Promise<void> }[],
  closeAll: () => Promise<void>,
): Promise<Studio> {
  const { config, report, repoRoot } = options;
  await mkdir(config.dir, { recursive: true });
  const logFile = options.logStream === undefined ? join(config.dir, 'logs', 'studio.log') : undefined;
  const logStream = options.logStream ?? pino.destination({ dest: logFile ?? '', mkdir: true, sync: false });
  const level: LogLevel = config.logLevel;
  const fastifyLogger = (service: string) => ({ ...loggerOptions({ service, level }), stream: logStream });
  const logger: Logger = pino(loggerOptions({ service: 'studio', level }), logStream);
  closers.push({ name: 'logs', close: () => new Promise<void>((resolve) => logger.flush(() => resolve())) });

  if (options.uiDir === undefined && config.buildUi) await ensureUiBuilt({ repoRoot, report });

  // The embedded infrastructure, shared by the three services.
  report(`Opening the database in ${join(config.dir, 'db')}…`);
  const database = await createDatabase({ driver: 'pglite', dataDir: join(config.dir, 'db') });
  closers.push({ name: 'database', close: () => database.close() });
  await migrate(database.db);
  // Each app closes the database it was given on shutdown; they share one, which the studio closes last.
  const shared: Database = { db: database.db, driver: database.driver, close: () => Promise.resolve() };
  const redisServer = createEmbeddedRedis();
  closers.push({ name: 'redis', close: () => redisServer.close() });
  const bus = createInProcessUsageBus();
  closers.push({ name: 'usage bus', close: () => bus.close() });

  const serviceEnv: Env = {
    ...options.env,
    CYBER_DATA_DIR: config.dir,
    CYBER_DATABASE_DRIVER: 'pglite',
    CYBER_PGLITE_DIR: join(config.dir, 'db'),
  };
  const listen = async (app: FastifyInstance, port: number): Promise<string> => {
    await app.listen({ host: config.host, port });
    return `http://${config.host}:${(app.server.address() as AddressInfo).port}`;
  };

  // auth, with its usage sink on the in-process bus.
  const authConfig = loadAuthConfig(serviceEnv);
  let createdAdmin: CreatedAdmin | undefined;
  const auth = await buildAuthApp({
    config: authConfig,
    database: shared,
    redis: redisServer.client(),
    logger: fastifyLogger('auth'),
    usageSink: { createConsumer: (consumerOptions) => bus.consumer(consumerOptions) },
    onBootstrapAdmin: (result) => {
      createdAdmin = { username: result.username, password: result.generatedPassword };
    },
  });
  closers.push({ name: 'auth', close: () => auth.close() });
  const authUrl = await listen(auth, config.ports.auth);
  const verifierOf = (verifierLogger: Logger): Verifier =>
    createVerifier({
      authUrl,
      issuer: authConfig.jwt.issuer,
      audience: authConfig.jwt.audience,
      createRedis: () => redisServer.client({ lazyConnect: true }),
      redisKeyPrefix: authConfig.redis.keyPrefix,
      logger: verifierLogger,
    });

  // llmserver: metering on the embedded Redis, the outbox under <dir>/outbox publishing to the bus.
  const llmConfig = loadLlmConfig({ ...serviceEnv, CYBER_AUTH_URL: authUrl });
  const llmLogger = logger.child({ service: 'llmserver' });
  const meteringRedis = redisServer.client({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await whenReady(meteringRedis);
  const producer = bus.producer({ topic: llmConfig.kafka.usageTopic });
  await producer.connect();
  const sent = new Set<string>();
  const isBooked = (eventIds: readonly string[]) => usageLedger(database.db).booked(eventIds);
  const outbox = createUsageOutbox({
    dir: llmConfig.outboxDir,
    producer: {
      send: async (events: UsageEvent[]) => {
        await producer.send(events);
        for (const event of events) sent.add(event.eventId);
        // Forget what is booked now and then, so the set stays small in a long session.
        if (sent.size > 1_000) void forgetBooked(sent, isBooked).catch(() => undefined);
      },
    },
    logger: llmLogger,
    isBooked,
    // The bus forgets on exit what it was sent: after a crash between publish and booking, only the outbox
    // still has those charges, so it sends again what the ledger does not hold (booking is unique on eventId).
    resendUnbookedOnOpen: true,
  });
  await outbox.open();
  const llmVerifier = verifierOf(llmLogger);
  const engine = await LlmEngine.create({
    gpu: llmConfig.inference.gpu,
    threads: llmConfig.inference.threads,
    logger: llmLogger,
  });
  let model: StudioModel;
  try {
    model = await resolveStudioModel(config.model, llmConfig.modelsDir);
    report(`Loading the model ${model.name} (${model.origin}) from ${model.path}…`);
    await preloadStudioModel({ database: shared, engine, model, sequences: 2 });
  } catch (error) {
    await engine.close();
    await outbox.close();
    await llmVerifier.close();
    throw error;
  }
  const llm = await buildLlmApp({
    database: shared,
    authenticate: (headers, meta) => llmVerifier.authenticate(headers, { clientAddress: meta.ip }),
    engine,
    redis: meteringRedis,
    redisKeyPrefix: llmConfig.redis.keyPrefix,
    outbox,
    limits: {
      maxConcurrentPerUser: llmConfig.inference.maxConcurrentPerUser,
      requestsPerMinute: llmConfig.inference.requestsPerMinute,
      tokensPerMinute: llmConfig.inference.tokensPerMinute,
    },
    modelsDir: llmConfig.modelsDir,
    authUrl,
    rpcLimits: { bodyLimit: llmConfig.rpc.bodyLimitBytes, maxBatch: llmConfig.rpc.maxBatchLength },
    logger: fastifyLogger('llmserver'),
    onClose: async () => {
      await llmVerifier.close();
      await producer.disconnect();
    },
  });
  closers.push({
    name: 'llmserver',
    close: async () => {
      await llm.close();
      await drain(sent, isBooked);
    },
  });
  const llmUrl = await listen(llm, config.ports.llmserver);
  await markLoaded(shared, model.name);

  // The gateway, serving the built UI.
  const apiConfig = loadApiConfig({
    ...serviceEnv,
    CYBER_AUTH_URL: authUrl,
    CYBER_LLM_URL: llmUrl,
    CYBER_AGENT_MODEL: options.env.CYBER_AGENT_MODEL ?? model.name,
  });
  const sandbox = await openStudioSandbox(apiConfig.sandbox);
  const apiVerifier = verifierOf(logger.child({ service: 'api' }));
  const api = await buildApiApp({
    database: shared,
    authenticate: (headers, meta) => apiVerifier.authenticate(headers, { clientAddress: meta.ip }),
    projectsDir: join(config.dir, 'projects'),
    files: apiConfig.files,
    services: { auth: authUrl, llmserver: llmUrl },
    sandbox: sandbox.deps,
    rpcLimits: { bodyLimit: apiConfig.rpc.bodyLimitBytes, maxBatch: apiConfig.rpc.maxBatchLength },
    studioUiDir: options.uiDir ?? uiDistDir(repoRoot),
    agent: { defaultModel: apiConfig.agent.defaultModel, maxTokensPerStep: apiConfig.agent.maxTokensPerStep },
    logger: fastifyLogger('api'),
    onClose: async () => {
      await sandbox.close();
      await apiVerifier.close();
    },
  });
  closers.push({ name: 'api', close: () => api.close() });
  const url = await listen(api, config.ports.api);

  let closing: Promise<void> | undefined;
  return {
    url,
    authUrl,
    llmUrl,
    model,
    sandboxUnavailable: sandbox.unavailable,
    createdAdmin,
    logFile,
    close: () => (closing ??= closeAll()),
  };
}

/** Resolves once an embedded Redis client is ready. */
async function whenReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise((resolve) => redis.once('ready', resolve));
}

/** Drops the booked ones from `sent`. */
async function forgetBooked(
  sent: Set<string>,
  isBooked: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<void> {
  for (const id of await isBooked([...sent])) sent.delete(id);
}

/** Waits until the sink has booked every event sent (or the timeout passed). */
async function drain(
  sent: Set<string>,
  isBooked: (eventIds: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (sent.size > 0 && Date.now() < deadline) {
    await forgetBooked(sent, isBooked);
    if (sent.size > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
