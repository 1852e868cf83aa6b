// llmserver under test, with everything real: a throwaway PostgreSQL database, the real auth app in-process on
// the same database (sessions, API keys, balances, the audit log, and its usage sink consuming the test's own
// Kafka topic into tokens_used), Redis under a unique key prefix shared by both (so grants invalidate the
// balance cache), the durable outbox in a temp directory publishing to Kafka, and the tiny generated model
// registered, and loaded through models.load as the admin. One harness per test file.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp as buildAuthApp } from '@cyber/auth';
import { createVerifier, type Verifier } from '@cyber/auth-client';
import { loadAuthConfig } from '@cyber/config';
import type { Contract, Role } from '@cyber/contract';
import { createDatabase } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { LlmEngine } from '@cyber/llm';
import { ensureTinyModel } from '@cyber/llm/testing';
import { createWsClient, type WsClient } from '@cyber/rpc-client';
import { createUsageOutbox, createUsageProducer, type UsageOutbox } from '@cyber/usage-events';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { buildApp, type LlmServerDeps } from '../src/app.js';
import { ModelRepository } from '../src/models/index.js';
import { callAuthRpc } from './auth-rpc.js';
import { deleteRedisPrefix } from './redis-keys.js';

export const ADMIN_PASSWORD = 'admin-password-for-llm-tests';
const USER_PASSWORD = 'user-password-for-llm-tests';
/** Price of the tiny model, micro-credits per token. */
export const TINY_COST_PER_TOKEN = 10;
/** Context of the tiny model as loaded. */
export const TINY_CONTEXT = 2048;

/** A real account with a session and an API key. */
export interface LlmTestUser {
  id: number;
  username: string;
  role: Role;
  /** Access JWT (`Authorization: Bearer`). */
  token: string;
  /** API key (`X-Cyber-Token`). */
  apiKey: string;
}

/** A parsed JSON-RPC response. */
export interface RpcResponse<T = unknown> {
  id: unknown;
  result?: T;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** Options of {@link startLlmHarness}. */
export interface LlmHarnessOptions {
  /** Overrides of the per-user limits. */
  limits?: Partial<LlmServerDeps['limits']>;
  /** Sequences of the tiny model (parallel generations). Default 4. */
  sequences?: number;
  /** Kafka brokers of the outbox and the usage sink (a private broker a test stops); the shared one by default. */
  kafkaBrokers?: string[];
  /** Shutdown grace of the app. */
  shutdownGraceMs?: number;
  /** llmserver's metrics (GET /metrics and the counters and gauges the test reads); none by default. */
  metrics?: LlmServerDeps['metrics'];
}

/** What {@link startLlmHarness} returns. */
export interface LlmHarness {
  app: FastifyInstance;
  url: string;
  database: TestDatabase;
  engine: LlmEngine;
  outbox: UsageOutbox;
  /** llmserver's metering connection (tests disconnect it to play a lost Redis). */
  redis: Redis;
  redisPrefix: string;
  /** The tiny model's registry name and id. */
  model: { name: string; id: number; path: string };
  /** Base URL of the real auth app. */
  authUrl: string;
  /** Registers a GGUF file already on disk as downloaded and loads it through models.load; returns its id. */
  addModel(options: {
    name: string;
    path: string;
    contextSize: number;
    costPerToken: number;
  }): Promise<number>;
  admin: LlmTestUser;
  /** A new user of `role` with `balance` micro-credits (granted by the admin). */
  user(role: Role, balance?: number): Promise<LlmTestUser>;
  /** Calls auth directly as `user` (billing.grant, users.update…), returning the result or throwing. */
  auth<T = Record<string, unknown>>(method: string, params: unknown, user: LlmTestUser): Promise<T>;
  /** POST /rpc of llmserver as `user` (session by default, or the API key). */
  rpc<T = Record<string, unknown>>(
    method: string,
    params: unknown,
    user?: LlmTestUser,
    via?: 'session' | 'api_key',
  ): Promise<RpcResponse<T>>;
  /** A WebSocket JSON-RPC client on llmserver as `user`. Close it. */
  ws(user: LlmTestUser): WsClient<Contract>;
  /** PostgreSQL's balance of a user. */
  balanceOf(userId: number): Promise<number>;
  /** Waits until every event id is booked in tokens_used; returns the rows. */
  ledger(eventIds: readonly string[], timeoutMs?: number): Promise<LedgerRow[]>;
  close(): Promise<void>;
}

/** A tokens_used row. */
export interface LedgerRow {
  eventId: string;
  userId: number;
  modelId: number;
  promptTokens: number;
  completionTokens: number;
  cost: number;
  traceId: string | null;
}

interface LoginResult {
  accessToken: string;
  user: { id: number };
}

/** Builds everything; close it in afterAll. */
export async function startLlmHarness(options: LlmHarnessOptions = {}): Promise<LlmHarness> {
  const redisUrl = required('CYBER_REDIS_URL');
  const brokers = options.kafkaBrokers ?? required('CYBER_KAFKA_BROKERS').split(',');
  const database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  if (database.url === undefined) throw new Error('test database has no URL');
  const redisPrefix = `test:llm:${randomUUID()}:`;
  const topic = `llm.usage.test.${randomUUID()}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-llm-test-'));

  // auth, with its usage sink on the test's topic.
  const authConfig = loadAuthConfig({
    CYBER_DATABASE_URL: database.url,
    CYBER_DATABASE_POOL_SIZE: '4',
    CYBER_REDIS_URL: redisUrl,
    CYBER_REDIS_KEY_PREFIX: redisPrefix,
    CYBER_KAFKA_BROKERS: brokers.join(','),
    CYBER_KAFKA_USAGE_TOPIC: topic,
    CYBER_USAGE_SINK_GROUP: `sink-${randomUUID()}`,
    CYBER_ARGON2_MEMORY_KIB: '4096',
    CYBER_ARGON2_TIME_COST: '1',
    CYBER_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    CYBER_LOGIN_MAX_FAILURES: '1000',
    CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
    CYBER_AUTH_RATE_LIMIT_MAX: '100000',
  });
  const authApp = await buildAuthApp({
    config: authConfig,
    database: await createDatabase({ driver: 'pg', url: database.url, poolSize: 4 }),
    redis: new Redis(redisUrl),
    usageSink: true,
    onBootstrapAdmin: () => undefined,
  });
  await authApp.listen({ port: 0, host: '127.0.0.1' });
  const authUrl = `http://127.0.0.1:${(authApp.server.address() as AddressInfo).port}`;
  const verifier: Verifier = createVerifier({
    authUrl,
    issuer: authConfig.jwt.issuer,
    audience: authConfig.jwt.audience,
    redisUrl,
    redisKeyPrefix: redisPrefix,
  });
  await verifier.ready();
  const authCall = <T>(method: string, params: unknown, token?: string): Promise<T> =>
    callAuthRpc<T>(authApp, { method, params, token });

  // The outbox and its producer on the test's topic (the sink created the topic when it started).
  const producer = createUsageProducer({ brokers, topic, clientId: 'llm-test' });
  await producer.connect();
  const db = database.db;
  const outbox = createUsageOutbox({
    dir: join(dataDir, 'outbox'),
    producer,
    logger: quietLogger,
    isBooked: async (ids) => {
      const rows = await db
        .selectFrom('tokens_used')
        .select('event_id')
        .where('event_id', 'in', ids)
        .execute();
      return new Set(rows.map((row) => row.event_id));
    },
  });
  await outbox.open();

  const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  const engine = await LlmEngine.create({ threads: 1 });
  const modelsDir = join(dataDir, 'models');
  const app = await buildApp({
    // Its own pool: the app closes it on shutdown while the test still reads the ledger.
    database: await createDatabase({ driver: 'pg', url: database.url, poolSize: 4 }),
    authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
    engine,
    redis,
    redisKeyPrefix: redisPrefix,
    outbox,
    limits: {
      maxConcurrentPerUser: 8,
      requestsPerMinute: 100_000,
      tokensPerMinute: 100_000_000,
      ...options.limits,
    },
    modelsDir,
    authUrl,
    ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    onClose: async () => {
      await verifier.close();
      await producer.disconnect().catch(() => undefined);
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const adminLogin = await authCall<LoginResult>('auth.login', {
    username: 'admin',
    password: ADMIN_PASSWORD,
  });
  const makeUser = async (role: Role, balance = 0): Promise<LlmTestUser> => {
    const username = `${role}-${randomBytes(4).toString('hex')}`;
    await authCall('users.create', { username, role, password: USER_PASSWORD }, adminLogin.accessToken);
    const session = await authCall<LoginResult>('auth.login', { username, password: USER_PASSWORD });
    const key = await authCall<{ secret: string }>(
      'keys.create',
      { label: 'llm-tests' },
      session.accessToken,
    );
    if (balance > 0) {
      await authCall(
        'billing.grant',
        { userId: session.user.id, kind: 'credit', amount: balance, reason: 'test budget' },
        adminLogin.accessToken,
      );
    }
    return { id: session.user.id, username, role, token: session.accessToken, apiKey: key.secret };
  };
  const admin: LlmTestUser = {
    id: adminLogin.user.id,
    username: 'admin',
    role: 'admin',
    token: adminLogin.accessToken,
    apiKey: (await authCall<{ secret: string }>('keys.create', { label: 'admin' }, adminLogin.accessToken))
      .secret,
  };

  const rpc = async <T>(
    method: string,
    params: unknown,
    user?: LlmTestUser,
    via: 'session' | 'api_key' = 'session',
  ): Promise<RpcResponse<T>> => {
    const credentials: Record<string, string> =
      user === undefined
        ? {}
        : via === 'api_key'
          ? { 'x-cyber-token': user.apiKey }
          : { authorization: `Bearer ${user.token}` };
    const response = await fetch(`${url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...credentials },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return (await response.json()) as RpcResponse<T>;
  };

  // A model file on disk: registered with a (never used) source URL, recorded as downloaded, then loaded
  // through models.load as the admin, the way an operator does it.
  const repository = new ModelRepository(db);
  const addModel = async (model: {
    name: string;
    path: string;
    contextSize: number;
    costPerToken: number;
  }): Promise<number> => {
    const registered = await repository.register({
      name: model.name,
      sourceUrl: 'http://127.0.0.1:9/model.gguf',
      contextSize: model.contextSize,
      costPerToken: model.costPerToken,
    });
    const { size } = await stat(model.path);
    await repository.markDownloaded(model.name, {
      filePath: model.path,
      sizeBytes: size,
      sha256: '0'.repeat(64),
    });
    const loaded = await rpc('models.load', { name: model.name, sequences: options.sequences ?? 4 }, admin);
    if (loaded.error !== undefined) throw new Error(`models.load failed: ${JSON.stringify(loaded.error)}`);
    return registered.id;
  };
  const path = await ensureTinyModel();
  const name = `tiny-${randomBytes(3).toString('hex')}`;
  const id = await addModel({ name, path, contextSize: TINY_CONTEXT, costPerToken: TINY_COST_PER_TOKEN });

  return {
    app,
    url,
    database,
    engine,
    outbox,
    redis,
    redisPrefix,
    model: { name, id, path },
    addModel,
    authUrl,
    admin,
    user: makeUser,
    auth: (method, params, user) => authCall(method, params, user.token),
    rpc,
    ws(user) {
      return createWsClient<Contract>({
        url: `${url.replace('http', 'ws')}/rpc`,
        WebSocket: WebSocket,
        credentials: { bearer: user.token },
      });
    },
    async balanceOf(userId) {
      const row = await db
        .selectFrom('users')
        .select('balance')
        .where('id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.balance);
    },
    async ledger(eventIds, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows =
          eventIds.length === 0
            ? []
            : await db.selectFrom('tokens_used').selectAll().where('event_id', 'in', eventIds).execute();
        if (rows.length >= eventIds.length || Date.now() > deadline) {
          return rows.map((row) => ({
            eventId: row.event_id,
            userId: Number(row.user_id),
            modelId: Number(row.model_id),
            promptTokens: row.prompt_tokens,
            completionTokens: row.completion_tokens,
            cost: Number(row.cost),
            traceId: row.trace_id,
          }));
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async close() {
      await app.close();
      await authApp.close();
      await deleteRedisPrefix(redisUrl, redisPrefix);
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const quietLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/infra.sh up`);
  return value;
}
