// Builds the real auth app against a throwaway PostgreSQL database and a unique Redis key prefix, and calls it
// through app.inject() as JSON-RPC. Nothing of the product is mocked.
import { loadAuthConfig, type AuthConfig, type Env } from '@cyber/config';
import { createDatabase } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { buildApp, type AuthDeps } from '../src/index.js';

/** Password of the bootstrap admin in tests. */
export const ADMIN_PASSWORD = 'admin-password-for-tests';
/** Password every test user gets. */
export const USER_PASSWORD = 'user-password-for-tests';

/** A controllable clock; starts at the real time. */
export class TestClock {
  #offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.#offsetMs);
  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}

/** A JSON-RPC answer. */
export interface RpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** Options of {@link TestAuth.call}. */
export interface CallOptions {
  token?: string | undefined;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

/** One test file's database, Redis prefix and a way to start apps on them. */
export class TestAuth {
  readonly database: TestDatabase;
  readonly redisPrefix: string;
  readonly clock = new TestClock();
  app!: FastifyInstance;
  config!: AuthConfig;
  readonly #apps: FastifyInstance[] = [];

  private constructor(database: TestDatabase) {
    this.database = database;
    this.redisPrefix = `test:auth:${randomUUID()}:`;
  }

  /** A fresh database; call {@link start} next. */
  static async create(): Promise<TestAuth> {
    return new TestAuth(await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL }));
  }

  /** Builds and readies an app (it becomes `this.app`); env overrides go over the test defaults. */
  async start(env: Env = {}, extra: Pick<AuthDeps, 'onBootstrapAdmin'> = {}): Promise<FastifyInstance> {
    const url = this.database.url;
    if (url === undefined) throw new Error('test database has no URL');
    this.config = loadAuthConfig({
      CYBER_DATABASE_URL: url,
      CYBER_DATABASE_POOL_SIZE: '4',
      CYBER_REDIS_URL: process.env.CYBER_REDIS_URL,
      CYBER_REDIS_KEY_PREFIX: this.redisPrefix,
      CYBER_ARGON2_MEMORY_KIB: '4096',
      CYBER_ARGON2_TIME_COST: '1',
      CYBER_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      CYBER_LOGIN_MAX_FAILURES: '1000',
      CYBER_LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
      ...env,
    });
    if (this.config.database.driver !== 'pg') throw new Error('tests use PostgreSQL');
    const app = await buildApp({
      config: this.config,
      database: await createDatabase({ driver: 'pg', url, poolSize: 4 }),
      redis: new Redis(this.config.redis.url),
      clock: this.clock.now,
      onBootstrapAdmin: extra.onBootstrapAdmin ?? (() => undefined),
    });
    await app.ready();
    this.#apps.push(app);
    this.app = app;
    return app;
  }

  /** Calls one method over POST /rpc. */
  async call(method: string, params?: unknown, options: CallOptions = {}): Promise<RpcAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const response = await this.app.inject({
      method: 'POST',
      url: '/rpc',
      headers,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
      payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }),
    });
    return JSON.parse(response.body) as RpcAnswer;
  }

  /** Calls and returns the result, failing with the error when there is one. */
  async ok<T = Record<string, unknown>>(
    method: string,
    params?: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    const answer = await this.call(method, params, options);
    if (answer.error !== undefined) throw new Error(`${method} failed: ${JSON.stringify(answer.error)}`);
    return answer.result as T;
  }

  /** Logs in and returns the session tokens. */
  async login(username: string, password: string): Promise<Session> {
    return this.ok<Session>('auth.login', { username, password });
  }

  /** Creates a user with {@link USER_PASSWORD} as the admin and logs it in. */
  async userWithRole(role: 'admin' | 'developer' | 'viewer', adminToken: string): Promise<Session> {
    const username = `${role}-${randomUUID().slice(0, 8)}`;
    await this.ok('users.create', { username, role, password: USER_PASSWORD }, { token: adminToken });
    return this.login(username, USER_PASSWORD);
  }

  /** Closes every app started and drops the database and the Redis keys of this file. */
  async close(): Promise<void> {
    for (const app of this.#apps) await app.close();
    const redis = new Redis(process.env.CYBER_REDIS_URL ?? '');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.redisPrefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    await this.database.close();
  }
}

/** Tokens from auth.login / auth.refresh. */
export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: number; username: string; role: string; disabled: boolean };
}
