// llmserver as a Fastify instance: JSON-RPC (llm.*, models.*) on POST and WebSocket /rpc, the OpenAI-compatible
// API under /v1, and the health probes. No env reads and no listen here (main.ts does both); every resource
// handed in is closed by the app's onClose, after in-flight generations have finished or been cancelled and
// settled.
import { statfs } from 'node:fs/promises';
import type { VerifiedIdentity } from '@cyber/auth-client';
import type { Database } from '@cyber/db';
import type { LlmEngine } from '@cyber/llm';
import { MeterStore, type RateLimits } from '@cyber/metering';
import { rpcServer, type Authenticate, type RpcLimits } from '@cyber/rpc-server';
import { createRpcServerMetrics, metricsPlugin, type LlmMetrics, type Registry } from '@cyber/telemetry';
import type { UsageOutbox } from '@cyber/usage-events';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { FairQueue } from './inference/fair-queue.js';
import { InferenceService, type ModelLookup, type RegisteredModel } from './inference/inference-service.js';
import { llmHandlers } from './inference/llm-handlers.js';
import { Metering } from './metering/metering.js';
import { ModelRepository, createAuditReporter, modelHandlers, type ModelEngine } from './models/index.js';
import { openaiRoutes } from './openai/openai-routes.js';

export type { Inference, InferenceCaller } from './inference/inference-types.js';
export { InferenceService } from './inference/inference-service.js';
export { Metering } from './metering/metering.js';
export { ModelRepository, type ModelRecord } from './models/index.js';

/** Everything llmserver needs; main.ts builds it from the config, tests from their fixtures. */
export interface LlmServerDeps {
  /** The database (models registry, balances for cache rebuilds); closed on shutdown. */
  database: Database;
  /** Resolves the caller from `Authorization: Bearer <jwt>` or `X-Cyber-Token` (the auth-client verifier). */
  authenticate: Authenticate<VerifiedIdentity>;
  /** The inference engine; closed on shutdown (models unloaded). */
  engine: LlmEngine;
  /** Redis for metering; give it `enableOfflineQueue: false` so a lost Redis fails fast. Closed on shutdown. */
  redis: Redis;
  /** The installation's Redis key prefix. */
  redisKeyPrefix: string;
  /** The opened usage outbox (its producer is the caller's to disconnect in `onClose`). Closed on shutdown. */
  outbox: UsageOutbox;
  /** Per-user limits. */
  limits: RateLimits & { maxConcurrentPerUser: number };
  /** Directory of model files. */
  modelsDir: string;
  /** Base URL of auth, where model actions are audited. */
  authUrl: string;
  /** How long shutdown lets running generations finish before cancelling them. Default 10 s. */
  shutdownGraceMs?: number;
  /** JSON-RPC transport limits. */
  rpcLimits?: RpcLimits;
  /** Fastify logger options; off when absent. */
  logger?: FastifyServerOptions['logger'];
  /** fetch for calls to auth and model downloads; the global one by default. */
  fetch?: typeof fetch;
  /** Prometheus metrics: served at GET /metrics, recorded by inference and per JSON-RPC method; none when absent. */
  metrics?: { registry: Registry; llm: LlmMetrics };
  /** Called on shutdown after generations settled and the outbox closed (verifier, Kafka producer). */
  onClose?: () => Promise<void>;
}

/** Builds llmserver. Call `listen` on the result (main.ts) or `inject` (tests). */
export async function buildApp(deps: LlmServerDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  const { engine } = deps;
  if (deps.metrics) await app.register(metricsPlugin, llmScrape(deps, deps.metrics));
  const repository = new ModelRepository(deps.database.db);
  const store = new MeterStore(deps.redis, deps.redisKeyPrefix);
  // One llmserver per installation: reservations in Redis from a previous process are dead.
  await store.reset();
  await repository.resetAfterRestart();

  const metering = new Metering({
    store,
    db: deps.database.db,
    outbox: deps.outbox,
    limits: deps.limits,
    logger: app.log,
  });
  const queue = new FairQueue(deps.limits.maxConcurrentPerUser);
  for (const loaded of engine.listModels()) queue.setCapacity(loaded.id, loaded.sequences);

  // Rows of loaded models are cached: nothing changes a model's row while it is loaded (a price change needs a
  // new registration; delete refuses a loaded model), so requests skip a database round trip before their
  // first token. The entry goes on unload.
  const loadedRows = new Map<string, RegisteredModel>();
  const models: ModelLookup = {
    byName: async (name) => {
      const cached = loadedRows.get(name);
      if (cached !== undefined) return cached;
      const row = await repository.byName(name);
      if (row !== undefined && engine.listModels().some((m) => m.id === name)) loadedRows.set(name, row);
      return row;
    },
    servable: async () =>
      (await repository.list({ limit: 1000 })).filter((m) => m.status === 'ready' || m.status === 'loaded'),
  };
  const inference = new InferenceService({
    engine,
    models,
    metering,
    queue,
    logger: app.log,
    ...(deps.metrics ? { metrics: deps.metrics.llm } : {}),
  });

  // The fair queue learns about loads and unloads through the engine the model handlers use.
  const managedEngine: ModelEngine = {
    estimateMemory: (options) => engine.estimateMemory(options),
    listModels: () => engine.listModels(),
    loadModel: async (options) => {
      const loadStarted = performance.now();
      const info = await engine.loadModel(options);
      deps.metrics?.llm.modelLoadDuration.observe(
        { model: info.id },
        (performance.now() - loadStarted) / 1000,
      );
      queue.setCapacity(info.id, info.sequences);
      return info;
    },
    unloadModel: async (id, options) => {
      queue.setCapacity(id, 0);
      loadedRows.delete(id);
      return engine.unloadModel(id, options);
    },
  };

  // preClose runs before Fastify waits for in-flight requests, so long generations are cancelled (and billed)
  // after the grace period instead of holding the shutdown open.
  app.addHook('preClose', async () => {
    await inference.shutdown(deps.shutdownGraceMs ?? 10_000);
  });
  app.addHook('onClose', async () => {
    await inference.settled();
    await metering.close();
    await deps.outbox.close();
    await deps.onClose?.();
    await engine.close();
    deps.redis.disconnect();
    await deps.database.close();
  });

  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const outbox = deps.outbox.stats();
    try {
      await deps.database.db.selectFrom('models').select('id').limit(1).execute();
      await deps.redis.ping();
      return { status: 'ready', loadedModels: engine.listModels().length, outbox };
    } catch (error) {
      request.log.warn({ err: error }, 'readyz: a dependency is unreachable');
      return reply.code(503).send({ status: 'unavailable', outbox });
    }
  });

  await app.register(rpcServer, {
    authenticate: deps.authenticate,
    ...(deps.rpcLimits === undefined ? {} : { limits: deps.rpcLimits }),
    ...(deps.metrics ? { onCallEnd: createRpcServerMetrics(deps.metrics.registry).onCallEnd } : {}),
    handlers: {
      ...llmHandlers({ inference, engine, models }),
      ...modelHandlers({
        repository,
        engine: managedEngine,
        modelsDir: deps.modelsDir,
        audit: createAuditReporter({ authUrl: deps.authUrl, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
        logger: app.log,
        queuedOf: (name) => queue.waiting(name),
      }),
    },
  });
  await app.register(
    async (v1) => {
      await openaiRoutes(v1, { inference, authenticate: deps.authenticate });
    },
    { prefix: '/v1' },
  );
  return app;
}

/** The scrape of llmserver: outbox and loaded-model gauges are read from their owners at scrape time. */
function llmScrape(deps: LlmServerDeps, metrics: { registry: Registry; llm: LlmMetrics }) {
  return {
    registry: metrics.registry,
    beforeScrape: async () => {
      const disk = await statfs(deps.modelsDir).catch(() => undefined);
      if (disk) metrics.llm.modelsDiskAvailable.set(disk.bavail * disk.bsize);
      const stats = deps.outbox.stats();
      metrics.llm.outboxEvents.set({ state: 'pending' }, stats.pending);
      metrics.llm.outboxEvents.set({ state: 'unbooked' }, stats.unbooked);
      metrics.llm.modelMemory.reset();
      for (const loaded of deps.engine.listModels()) {
        metrics.llm.modelMemory.set({ model: loaded.id }, loaded.memory.totalBytes);
      }
    },
  };
}
