// Forwarding to the services that own a family, against real downstream servers: Fastify + the same
// rpcServer plugin the services use, on loopback ports, recording the headers each call arrived with.
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RpcError, type TokenEvent, type User } from '@cyber/contract';
import { createWsClient } from '@cyber/rpc-client';
import { defineHandlers, rpcServer, type RpcIdentity } from '@cyber/rpc-server';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let auth: FastifyInstance;
let llm: FastifyInstance;
let authPort: number;
let gatewayUrl: string;
let t: TestApp;
let dev: TestUser;
const seen: Record<string, string | undefined>[] = [];
/** Headers and transport of each llm.chat the llmserver stand-in received. */
const llmSeen: Record<string, string | undefined>[] = [];
/** Tokens the llm.chat stand-in streams before its result. */
const TOKENS = 25;
/** Set by the llm.chat stand-in when a `hang` chat starts, and when its signal aborts. */
let hangStarted = deferred();
let hangAborted = deferred();

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Sends one request on a raw socket and collects every message up to its response. */
async function rawCall(
  socket: WebSocket,
  request: { id: string | number; method: string; params: unknown },
): Promise<Record<string, unknown>[]> {
  const messages: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      messages.push(message);
      if (message.id === request.id) resolve(messages);
    });
    socket.on('error', reject);
    socket.send(JSON.stringify({ jsonrpc: '2.0', ...request }));
  });
}

const chatParams = (content: string) => ({
  model: 'stub-model',
  messages: [{ role: 'user' as const, content }],
});

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
  await llm.register(rpcServer, {
    authenticate: (headers: IncomingHttpHeaders) => {
      const apiKey = headers['x-cyber-token'];
      const present = headers.authorization !== undefined || apiKey !== undefined;
      llmSeen.push({
        authorization: headers.authorization,
        apiKey: typeof apiKey === 'string' ? apiKey : undefined,
        traceparent: typeof headers.traceparent === 'string' ? headers.traceparent : undefined,
      });
      return Promise.resolve<RpcIdentity | undefined>(
        present ? { userId: '41', role: 'developer' } : undefined,
      );
    },
    // A stand-in for llmserver's llm.chat on the real contract: TOKENS token notifications, then the result;
    // a chat saying `hang` waits for its signal instead.
    handlers: defineHandlers()({
      'llm.chat': async (params, ctx) => {
        llmSeen.push({ transport: ctx.transport });
        const content = params.messages[0]?.content ?? '';
        if (content === 'fail') {
          await ctx.notify({ kind: 'started', promptTokens: 3 });
          throw new RpcError('budget_exceeded', {
            message: 'From llmserver',
            data: { needed: 9, available: 1 },
          });
        }
        if (content === 'hang') {
          ctx.signal.addEventListener('abort', () => hangAborted.resolve(), { once: true });
          hangStarted.resolve();
          await new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => reject(new RpcError('cancelled')), { once: true });
          });
        }
        let text = '';
        await ctx.notify({ kind: 'started', promptTokens: 3 });
        for (let i = 1; i <= TOKENS; i += 1) {
          text += `t${i} `;
          await ctx.notify({ kind: 'token', text: `t${i} `, completionTokens: i });
        }
        return {
          id: '5f0c6a7e-1b2c-4d3e-8f90-a1b2c3d4e5f6',
          model: params.model,
          finishReason: 'stop' as const,
          usage: { promptTokens: 3, completionTokens: TOKENS, totalTokens: 3 + TOKENS, cost: 0 },
          queuedMs: 0,
          durationMs: 1,
          message: { role: 'assistant' as const, content: text, toolCalls: [] },
        };
      },
    }),
  });
  const llmPort = await listen(llm);
  t = await startTestApp({
    services: { auth: `http://127.0.0.1:${authPort}`, llmserver: `http://127.0.0.1:${llmPort}` },
  });
  dev = await t.user('developer');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  gatewayUrl = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/rpc`;
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
    const client = createWsClient({
      url: gatewayUrl,
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

  it('relays every llm.token of a streaming method to a WebSocket caller, in order, with its own request id', async () => {
    llmSeen.length = 0;
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const socket = new WebSocket(gatewayUrl, ['cyber-rpc.v1'], {
      headers: { authorization: `Bearer ${dev.token}`, traceparent: `00-${trace}-00f067aa0ba902b7-01` },
    });
    try {
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      const messages = await rawCall(socket, { id: 'chat-1', method: 'llm.chat', params: chatParams('hi') });
      const notifications = messages.slice(0, -1);
      expect(notifications).toHaveLength(TOKENS + 1);
      for (const notification of notifications) {
        expect(notification).toMatchObject({ method: 'llm.token', params: { requestId: 'chat-1' } });
      }
      const events = notifications.map((n) => n.params as TokenEvent & { requestId: string });
      expect(events[0]).toMatchObject({ kind: 'started', promptTokens: 3 });
      expect(events.slice(1).map((e) => (e.kind === 'token' ? e.completionTokens : 0))).toEqual(
        Array.from({ length: TOKENS }, (_, i) => i + 1),
      );
      const last = messages.at(-1);
      expect(last).toMatchObject({
        id: 'chat-1',
        result: { finishReason: 'stop', usage: { completionTokens: TOKENS } },
      });
      expect((last?.result as { message: { content: string } }).message.content).toBe(
        events.map((e) => (e.kind === 'token' ? e.text : '')).join(''),
      );
      // The service saw the caller's own credential on a WebSocket of its own, in the caller's trace.
      expect(llmSeen).toContainEqual({ transport: 'ws' });
      const upgrade = llmSeen.find((entry) => entry.transport === undefined);
      expect(upgrade?.authorization).toBe(`Bearer ${dev.token}`);
      expect(upgrade?.traceparent).toMatch(new RegExp(`^00-${trace}-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$`));
    } finally {
      socket.close();
    }
  });

  it('forwards a streaming call with an API key, and cancelling it aborts the service’s handler', async () => {
    llmSeen.length = 0;
    hangStarted = deferred();
    hangAborted = deferred();
    const client = createWsClient({ url: gatewayUrl, WebSocket, credentials: { apiKey: dev.apiKey } });
    try {
      const controller = new AbortController();
      const tokens: unknown[] = [];
      const call = client.call('llm.chat', chatParams('hang'), {
        signal: controller.signal,
        onNotification: (event) => tokens.push(event),
      });
      await hangStarted.promise;
      expect(llmSeen).toContainEqual({ transport: 'ws' });
      expect(llmSeen.find((entry) => entry.transport === undefined)?.apiKey).toBe(dev.apiKey);
      controller.abort();
      await expect(call).rejects.toMatchObject({ code: -32012 });
      await hangAborted.promise;
      expect(tokens).toEqual([]);
      // The caller's socket still serves calls after the cancel.
      const result = await client.call('llm.chat', chatParams('again'), {
        onNotification: (event) => tokens.push(event),
      });
      expect(result.usage.completionTokens).toBe(TOKENS);
      expect(tokens).toHaveLength(TOKENS + 1);
    } finally {
      client.close();
    }
  });

  it('returns the service’s error to a WebSocket caller unchanged, after what it streamed', async () => {
    const client = createWsClient({ url: gatewayUrl, WebSocket, credentials: { bearer: dev.token } });
    try {
      const tokens: unknown[] = [];
      await expect(
        client.call('llm.chat', chatParams('fail'), { onNotification: (event) => tokens.push(event) }),
      ).rejects.toMatchObject({
        code: -32005,
        message: 'From llmserver',
        data: { needed: 9, available: 1, key: 'budget_exceeded' },
      });
      expect(tokens).toEqual([{ kind: 'started', promptTokens: 3 }]);
    } finally {
      client.close();
    }
  });

  it('returns only the result of a streaming method over HTTP', async () => {
    llmSeen.length = 0;
    const response = await t.rpc('llm.chat', chatParams('hi'), dev);
    expect(response.result).toMatchObject({ finishReason: 'stop', usage: { completionTokens: TOKENS } });
    expect(llmSeen).toContainEqual({ transport: 'http' });
  });

  it('answers service_unavailable naming the service when it is down', async () => {
    await auth.close();
    const response = await t.rpc('auth.me', {}, dev);
    expect(response.error).toMatchObject({ code: -32011, data: { service: 'auth' } });
    expect(JSON.stringify(response.error)).not.toContain(String(authPort));
  });

  it('answers service_unavailable naming llmserver to a WebSocket caller of a streaming method when it is down', async () => {
    await llm.close();
    const client = createWsClient({ url: gatewayUrl, WebSocket, credentials: { bearer: dev.token } });
    try {
      await expect(client.call('llm.chat', chatParams('hi'))).rejects.toMatchObject({
        code: -32011,
        data: { service: 'llmserver' },
      });
    } finally {
      client.close();
    }
  });
});
