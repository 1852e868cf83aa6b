// The gateway under test: buildApp over a throwaway PostgreSQL database and a temporary data directory, with
// real identities. The real auth app (@cyber/auth's buildApp) runs in-process on the same database (one set of
// migrations serves both, so the api's foreign keys to `users` hold) and listens on a loopback port; the gateway
// verifies callers with @cyber/auth-client's createVerifier against it, exactly as main.ts does. Users are made
// with users.create and log in with auth.login; each also gets an API key for the X-Cyber-Token path. One auth
// app per test file keeps the suite fast.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp as buildAuthApp } from '@cyber/auth';
import { createVerifier, type Verifier } from '@cyber/auth-client';
import { loadAuthConfig } from '@cyber/config';
import type { Role } from '@cyber/contract';
import { createDatabase } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { createMetricsRegistry, type Registry } from '@cyber/telemetry';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { callAuthRpc } from '../../llmserver/test/auth-rpc.js';
import { deleteRedisPrefix } from '../../llmserver/test/redis-keys.js';
import { buildApp, type AppDeps } from '../src/app.js';
import { BackgroundWork } from '../src/background-work.js';

/** Password of the bootstrap admin of the test's auth app. */
const ADMIN_PASSWORD = 'admin-password-for-api-tests';
/** Password of every test user. */
const USER_PASSWORD = 'user-password-for-api-tests';

/** A user of the test: a real account with a session and an API key. */
export interface TestUser {
  id: number;
  username: string;
  role: Role;
  /** Access JWT from auth.login, sent as `Authorization: Bearer`. */
  token: string;
  /** API key from keys.create (no role cap), sent as `X-Cyber-Token`. */
  apiKey: string;
}

/** How {@link TestApp.rpc} authenticates: the user's session (default) or their API key. */
export interface CallOptions {
  via?: 'session' | 'api_key';
}

/** What {@link startTestApp} returns. */
export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  dataDir: string;
  projectsDir: string;
  /** Base URL of the real auth app (loopback). */
  authUrl: string;
  /** The gateway's metrics registry, with `metrics: true`. */
  registry: Registry | undefined;
  /** Creates a user through auth (users.create as the admin), logs them in and gives them an API key. */
  user(role: Role): Promise<TestUser>;
  /** The gateway's background work (a project's size after a run): `settled()` waits for it. */
  background: BackgroundWork;
  /** Calls the auth app directly (e.g. keys.create with a role cap) as `user`. */
  auth<T = Record<string, unknown>>(method: string, params: unknown, user: TestUser): Promise<T>;
  /** POSTs one JSON-RPC call as `user` (or anonymously) and returns the parsed response. */
  rpc(method: string, params: unknown, user?: TestUser, options?: CallOptions): Promise<RpcResponse>;
  /** Like {@link rpc} but returns the result, failing the test on an error. */
  call<T = Record<string, unknown>>(method: string, params: unknown, user: TestUser): Promise<T>;
  close(): Promise<void>;
}

/** A parsed JSON-RPC response. */
export interface RpcResponse {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  files?: Partial<AppDeps['files']>;
  services?: AppDeps['services'];
  sandbox?: AppDeps['sandbox'];
  /** The gateway's telemetry (telemetry.snapshot). */
  telemetry?: AppDeps['telemetry'];
  /** Gives the gateway and the auth app each a metrics registry and GET /metrics. */
  metrics?: boolean;
  /** Makes `services.auth` the test's real auth app (with `services` or the unreachable default for llmserver). */
  forwardToAuth?: boolean;
}

/** The real auth app on `url`'s database, listening on loopback. */
interface TestAuthService {
  url: string;
  verifier: Verifier;
  /** Calls auth's POST /rpc with a bearer token and returns the result, throwing on an error. */
  call<T>(method: string, params: unknown, token?: string): Promise<T>;
  close(): Promise<void>;
}

async function startAuth(databaseUrl: string, metrics: boolean): Promise<TestAuthService> {
  const redisUrl = process.env.CYBER_REDIS_URL;
  if (!redisUrl) throw new Error('CYBER_REDIS_URL is not set: run scripts/infra.sh up');
  const redisPrefix = `test:api:${randomUUID()}:`;
  const config = loadAuthConfig({
    CYBER_DATABASE_URL: databaseUrl,
    CYBER_DATABASE_POOL_SIZE: '4',
    CYBER_REDIS_URL: redisUrl,
    CYBER_REDIS_KEY_PREFIX: redisPrefix,
    // Cheap hashing: the tests log in many users; the cost is auth's concern, measured in its own bench.
    CYBER_ARGON2_MEMORY_KIB: '4096',
    CYBER_ARGON2_TIME_COST: '1',
    CYBER_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    CYBER_LOGIN_MAX_FAILURES: '1000',
    CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
  });
  const app = await buildAuthApp({
    config,
    database: await createDatabase({ driver: 'pg', url: databaseUrl, poolSize: 4 }),
    redis: new Redis(redisUrl),
    ...(metrics ? { metrics: { registry: createMetricsRegistry() } } : {}),
    onBootstrapAdmin: () => undefined,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const verifier = createVerifier({
    authUrl: url,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    redisUrl,
    redisKeyPrefix: redisPrefix,
  });
  await verifier.ready();
  return {
    url,
    verifier,
    call: <T>(method: string, params: unknown, token?: string) =>
      callAuthRpc<T>(app, { method, params, token }),
    async close() {
      await verifier.close();
      await app.close();
      await deleteRedisPrefix(redisUrl, redisPrefix);
    },
  };
}

interface LoginResult {
  accessToken: string;
  user: { id: number };
}

/** Builds the gateway with a fresh database, data directory and auth app. Close it in afterAll. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  if (database.url === undefined) throw new Error('test database has no URL');
  const auth = await startAuth(database.url, options.metrics === true);
  const admin = await auth.call<LoginResult>('auth.login', { username: 'admin', password: ADMIN_PASSWORD });
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-api-test-'));
  const projectsDir = join(dataDir, 'projects');
  const registry = options.metrics === true ? createMetricsRegistry() : undefined;
  const background = new BackgroundWork((error) => {
    throw error;
  });
  const app = await buildApp({
    database,
    background,
    authenticate: (headers, meta) => auth.verifier.authenticate(headers, { clientAddress: meta.ip }),
    projectsDir,
    files: { maxFileBytes: 1024 * 1024, maxProjectBytes: 8 * 1024 * 1024, ...options.files },
    services: {
      ...(options.services ?? { auth: 'http://127.0.0.1:9', llmserver: 'http://127.0.0.1:9' }),
      ...(options.forwardToAuth === true ? { auth: auth.url } : {}),
    },
    ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
    ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
    ...(registry === undefined ? {} : { metrics: { registry } }),
  });

  const rpc = async (
    method: string,
    params: unknown,
    user?: TestUser,
    callOptions: CallOptions = {},
  ): Promise<RpcResponse> => {
    const credentials =
      user === undefined
        ? {}
        : callOptions.via === 'api_key'
          ? { 'x-cyber-token': user.apiKey }
          : { authorization: `Bearer ${user.token}` };
    const response = await app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'application/json', ...credentials },
      payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return response.json<RpcResponse>();
  };

  return {
    app,
    database,
    dataDir,
    projectsDir,
    authUrl: auth.url,
    registry,
    background,
    async user(role) {
      const username = `${role}-${randomBytes(4).toString('hex')}`;
      await auth.call('users.create', { username, role, password: USER_PASSWORD }, admin.accessToken);
      const session = await auth.call<LoginResult>('auth.login', { username, password: USER_PASSWORD });
      const key = await auth.call<{ secret: string }>(
        'keys.create',
        { label: 'api-tests' },
        session.accessToken,
      );
      return { id: session.user.id, username, role, token: session.accessToken, apiKey: key.secret };
    },
    async auth<T>(method: string, params: unknown, user: TestUser): Promise<T> {
      return auth.call<T>(method, params, user.token);
    },
    rpc,
    async call<T>(method: string, params: unknown, user: TestUser): Promise<T> {
      const response = await rpc(method, params, user);
      if (response.error !== undefined) {
        throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
      }
      return response.result as T;
    },
    async close() {
      await app.close();
      await auth.close();
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
