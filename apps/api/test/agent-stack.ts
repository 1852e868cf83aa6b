// The whole stack the agent needs, real: llmserver from its own test harness (auth in-process, PostgreSQL,
// Redis, Kafka into tokens_used, the tiny model loaded), and the gateway built on the SAME database and verifying
// callers against the SAME auth, so a user's token works on both and every model call the agent makes is
// metered to that user. Optionally the real sandbox (Docker and the images of sandbox-images/build.sh).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier, type Verifier } from '@cyber/auth-client';
import { loadApiConfig } from '@cyber/config';
import type { Contract } from '@cyber/contract';
import { createDatabase } from '@cyber/db';
import { createWsClient, type WsClient } from '@cyber/rpc-client';
import { DEFAULT_LIMITS, DEFAULT_PROFILE_PATH, SandboxRunner } from '@cyber/sandbox';
import Docker from 'dockerode';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { startLlmHarness, type LlmHarness, type LlmTestUser } from '../../llmserver/test/llm-harness.js';
import { buildApp, type AppDeps } from '../src/app.js';

const MiB = 1024 * 1024;
/** Sandbox maxima of the agent tests. */
export const AGENT_SANDBOX_MAXIMA = {
  wallMs: 20_000,
  cpuMs: 20_000,
  memoryBytes: 256 * MiB,
  pids: 64,
  openFiles: 256,
  fileSizeBytes: 8 * MiB,
  outputBytes: 1 * MiB,
};

/** A parsed JSON-RPC response. */
export interface AgentRpcResponse {
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** What {@link startAgentStack} returns. */
export interface AgentStack {
  llm: LlmHarness;
  app: FastifyInstance;
  /** A user of both services with `balance` micro-credits. */
  user(role: 'developer' | 'viewer', balance?: number): Promise<LlmTestUser>;
  /** POST /rpc of the gateway as `user`. */
  rpc(method: string, params: unknown, user: LlmTestUser): Promise<AgentRpcResponse>;
  /** Like {@link rpc}, failing on an error. */
  call<T = Record<string, unknown>>(method: string, params: unknown, user: LlmTestUser): Promise<T>;
  /** A WebSocket client of the gateway as `user` (close it). */
  ws(user: LlmTestUser): Promise<WsClient<Contract>>;
  close(): Promise<void>;
}

/** Starts the stack; `sandbox` adds the real Docker sandbox (run.exec and the runCommand tool). */
export async function startAgentStack(options: {
  /** Agent settings, or a function of the running llmserver (e.g. to point a real model at it). */
  agent?: AppDeps['agent'] | ((llm: LlmHarness) => AppDeps['agent']);
  sandbox?: boolean;
}): Promise<AgentStack> {
  const llm = await startLlmHarness();
  const agent = typeof options.agent === 'function' ? options.agent(llm) : options.agent;
  const url = llm.database.url;
  if (url === undefined) throw new Error('test database has no URL');
  const sessions = loadApiConfig({
    CYBER_DATABASE_URL: url,
    CYBER_REDIS_URL: process.env.CYBER_REDIS_URL,
  }).sessions;
  const verifier: Verifier = createVerifier({
    authUrl: llm.authUrl,
    issuer: sessions.issuer,
    audience: sessions.audience,
    redisUrl: process.env.CYBER_REDIS_URL ?? '',
    redisKeyPrefix: llm.redisPrefix,
  });
  await verifier.ready();
  let runner: SandboxRunner | undefined;
  if (options.sandbox === true) {
    const socketPath = process.env.CYBER_DOCKER_SOCKET;
    if (!socketPath) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
    runner = SandboxRunner.start({
      docker: new Docker({ socketPath }),
      profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
      defaults: { ...DEFAULT_LIMITS, ...AGENT_SANDBOX_MAXIMA, wallMs: 10_000, tmpBytes: 16 * MiB },
      maxima: { ...DEFAULT_LIMITS, ...AGENT_SANDBOX_MAXIMA, tmpBytes: 16 * MiB },
      warmPoolSize: 0,
    });
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'cyber-agent-test-'));
  const app = await buildApp({
    database: await createDatabase({ driver: 'pg', url, poolSize: 4 }),
    authenticate: (headers, meta) => verifier.authenticate(headers, { clientAddress: meta.ip }),
    projectsDir: join(dataDir, 'projects'),
    files: { maxFileBytes: 1024 * 1024, maxProjectBytes: 8 * 1024 * 1024 },
    services: { auth: llm.authUrl, llmserver: llm.url },
    ...(runner === undefined ? {} : { sandbox: { runner, maxima: AGENT_SANDBOX_MAXIMA } }),
    ...(agent === undefined ? {} : { agent }),
    onClose: () => verifier.close(),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const wsUrl = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/rpc`;

  const rpc = async (method: string, params: unknown, user: LlmTestUser): Promise<AgentRpcResponse> => {
    const response = await app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    return response.json<AgentRpcResponse>();
  };
  return {
    llm,
    app,
    user: (role, balance) => llm.user(role, balance),
    rpc,
    async call<T>(method: string, params: unknown, user: LlmTestUser): Promise<T> {
      const response = await rpc(method, params, user);
      if (response.error !== undefined)
        throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
      return response.result as T;
    },
    async ws(user) {
      const client = createWsClient<Contract>({ url: wsUrl, WebSocket, credentials: { bearer: user.token } });
      await client.opened;
      return client;
    },
    async close() {
      await app.close();
      await runner?.close();
      await llm.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
