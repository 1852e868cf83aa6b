// Forwarding to the services that own a family, against real downstream servers: Fastify + the same
// rpcServer plugin the services use, on loopback ports, recording the headers each call arrived with.
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcError, type User } from '@cyber/contract';
import { createWsClient } from '@cyber/rpc-client';
import { defineHandlers, rpcServer, type RpcIdentity } from '@cyber/rpc-server';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let auth: FastifyInstance;
let llm: FastifyInstance;
let authPort: number;
let t: TestApp;
let dev: TestUser;
const seen: Record<string, string | undefined>[] = [];

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

beforeAll(async () => {
  auth = Fastify();
  await auth.register(rpcServer, {
    // The service authenticates again from the forwarded headers, as the real auth service does.
    authenticate: (headers: IncomingHttpHeaders) => {
      seen.push({
        authorization: headers.authorization,
        apiKey: typeof headers['x-cyber-token'] === 'string' ? headers['x-cyber-token'] : undefined,
        traceparent: typeof headers.traceparent === 'string' ? headers.traceparent : undefined,
        correlationId:
          typeof headers['x-correlation-id'] === 'string' ? headers['x-correlation-id'] : undefined,
      });
      const present = headers.authorization !== undefined || headers['x-cyber-token'] !== undefined;
      return Promise.resolve<RpcIdentity | undefined>(
        present ? { userId: '41', role: 'developer' } : undefined,
      );
    },
    handlers: defineHandlers()({
      'auth.me': (_params, ctx): User => ({
        id: Number(ctx.identity?.userId),
        username: 'downstream',
        email: null,
        role: 'developer',
        disabled: false,
        balance: 5,
        createdAt: new Date(0).toISOString(),
        lastLoginAt: null,
      }),
      'billing.balance': () => {
        throw new RpcError('budget_exceeded', { message: 'From auth', data: { needed: 10, available: 5 } });
      },
    }),
  });
  authPort = await listen(auth);
  llm = Fastify();
  await llm.register(rpcServer, { handlers: {} });
  const llmPort = await listen(llm);
  t = await startTestApp({
    services: { auth: `http://127.0.0.1:${authPort}`, llmserver: `http://127.0.0.1:${llmPort}` },
  });
  dev = await t.user('developer');
});

afterAll(async () => {
  await t.close();
  await auth.close();
  await llm.close();
});

describe('forwarding', () => {
  it('forwards an auth method with the caller’s bearer token, trace context and correlation id', async () => {
    seen.length = 0;
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const response = await t.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${dev.token}`,
        traceparent: `00-${trace}-b7ad6b7169203331-01`,
        'x-correlation-id': 'corr-123',
      },
      payload: { jsonrpc: '2.0', id: 7, method: 'auth.me' },
    });
    expect(response.json()).toMatchObject({ id: 7, result: { id: 41, username: 'downstream' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ authorization: `Bearer ${dev.token}`, correlationId: 'corr-123' });
    expect(seen[0]?.traceparent).toMatch(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
  });

  it('forwards an API key as X-Cyber-Token', async () => {
    seen.length = 0;
    const response = await t.app.inject({
      method: 'POST',
      url: '/rpc',
      headers: { 'content-type': 'application/json', 'x-cyber-token': dev.apiKey },
      payload: { jsonrpc: '2.0', id: 1, method: 'auth.me' },
    });
    expect(response.json()).toMatchObject({ result: { username: 'downstream' } });
    expect(seen[0]).toMatchObject({ apiKey: dev.apiKey, authorization: undefined });
    expect(seen[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('returns the service’s JSON-RPC error unchanged', async () => {
    const response = await t.rpc('billing.balance', {}, dev);
    expect(response.error).toMatchObject({
      code: -32005,
      message: 'From auth',
      data: { needed: 10, available: 5, key: 'budget_exceeded' },
    });
  });

  it('routes the llm families to llmserver (which here answers method_not_found, passed through)', async () => {
    const response = await t.rpc('models.list', {}, dev);
    expect(response.error?.code).toBe(-32601);
  });

  it('still checks identity and role at the gateway before forwarding', async () => {
    seen.length = 0;
    expect((await t.rpc('auth.me', {})).error?.code).toBe(-32001);
    const viewer = await t.user('viewer');
    expect((await t.rpc('users.list', {}, viewer)).error?.code).toBe(-32002);
    expect(seen).toHaveLength(0);
  });

  it('does not expose service-internal methods', async () => {
    const response = await t.rpc('auth.introspect', { token: 'cyber_x' }, dev);
    expect(response.error?.code).toBe(-32601);
  });

  it('forwards over the WebSocket with the credential the socket authenticated with', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    const client = createWsClient({
      url: `ws://127.0.0.1:${port}/rpc`,
      WebSocket,
      credentials: { bearer: dev.token },
    });
    try {
      await client.opened;
      seen.length = 0;
      const me = await client.call('auth.me');
      expect(me.username).toBe('downstream');
      expect(seen[0]?.authorization).toBe(`Bearer ${dev.token}`);
      const { id: projectId } = await client.call('project.create', { name: 'over ws' });
      await client.call('fs.write', { projectId, path: 'x.txt', content: 'hi' });
      expect((await client.call('fs.read', { projectId, path: 'x.txt' })).content).toBe('hi');
    } finally {
      client.close();
    }
  });

  it('answers service_unavailable naming the service when it is down', async () => {
    await auth.close();
    const response = await t.rpc('auth.me', {}, dev);
    expect(response.error).toMatchObject({ code: -32011, data: { service: 'auth' } });
    expect(JSON.stringify(response.error)).not.toContain(String(authPort));
  });
});
