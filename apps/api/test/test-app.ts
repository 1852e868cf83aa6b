// The gateway under test: buildApp over a throwaway PostgreSQL database and a temporary data directory.
// Identity comes from a small authenticate function that maps fixed tokens (as a bearer token or as
// X-Cyber-Token) to users created in the real database: a stand-in for the outside caller's verifier (auth's
// JWTs and keys), not for anything the api owns.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcError, type Role } from '@cyber/contract';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import type { Authenticate } from '@cyber/rpc-server';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../src/app.js';

/** A user of the test, with the bearer token that authenticates as them. */
export interface TestUser {
  id: number;
  username: string;
  role: Role;
  token: string;
}

/** What {@link startTestApp} returns. */
export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  dataDir: string;
  projectsDir: string;
  /** Creates a user in the database and a token for them. */
  user(role: Role): Promise<TestUser>;
  /** POSTs one JSON-RPC call as `user` (or anonymously) and returns the parsed response. */
  rpc(method: string, params: unknown, user?: TestUser): Promise<RpcResponse>;
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
}

/** Builds the gateway with a fresh database and data directory. Close it in afterAll. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-api-test-'));
  const projectsDir = join(dataDir, 'projects');
  const tokens = new Map<string, { userId: string; role: Role }>();
  const authenticate: Authenticate = (headers) => {
    const apiKey = headers['x-cyber-token'];
    const token = typeof apiKey === 'string' ? apiKey : headers.authorization?.replace(/^Bearer /, '');
    if (token === undefined) return Promise.resolve(undefined);
    const identity = tokens.get(token);
    if (identity === undefined) return Promise.reject(new RpcError('unauthenticated'));
    return Promise.resolve(identity);
  };
  const app = await buildApp({
    database,
    authenticate,
    projectsDir,
    files: { maxFileBytes: 1024 * 1024, maxProjectBytes: 8 * 1024 * 1024, ...options.files },
    services: options.services ?? { auth: 'http://127.0.0.1:9', llmserver: 'http://127.0.0.1:9' },
    ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
  });
  const users = new UsersRepository(database.db);

  const rpc = async (method: string, params: unknown, user?: TestUser): Promise<RpcResponse> => {
    const response = await app.inject({
      method: 'POST',
      url: '/rpc',
      headers: {
        'content-type': 'application/json',
        ...(user === undefined ? {} : { authorization: `Bearer ${user.token}` }),
      },
      payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return response.json<RpcResponse>();
  };

  return {
    app,
    database,
    dataDir,
    projectsDir,
    async user(role) {
      const username = `${role}-${randomBytes(4).toString('hex')}`;
      const row = await users.create({ username, password_hash: 'not-a-hash', role });
      const token = randomBytes(16).toString('hex');
      tokens.set(token, { userId: String(row.id), role });
      return { id: row.id, username, role, token };
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
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
