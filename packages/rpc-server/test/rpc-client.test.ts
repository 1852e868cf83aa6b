// The typed client against the real server, over both transports.
import { RpcError } from '@cyber/contract';
import {
  API_KEY_SUBPROTOCOL_PREFIX as CLIENT_API_KEY_PREFIX,
  BEARER_SUBPROTOCOL_PREFIX as CLIENT_BEARER_PREFIX,
  RPC_SUBPROTOCOL as CLIENT_SUBPROTOCOL,
  createHttpClient,
  createWsClient,
  type HttpClient,
  type WsClient,
} from '@cyber/rpc-client';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import { API_KEY_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX, RPC_SUBPROTOCOL } from '../src/index.js';
import { buildTestServer, testContract, type TestContract, type TestServer } from './test-contract.js';

let server: TestServer;
let base: string;
const wsClients: WsClient<TestContract>[] = [];

beforeEach(async () => {
  server = await buildTestServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(server.app.server.address() as AddressInfo).port}/rpc`;
});
afterEach(async () => {
  for (const client of wsClients.splice(0)) client.close();
  await server.app.close();
});

function http(credentials?: { bearer: string } | { apiKey: string }): HttpClient<TestContract> {
  return createHttpClient({ url: `http://${base}`, contract: testContract, credentials });
}

function ws(credentials?: { bearer: string } | { apiKey: string }): WsClient<TestContract> {
  const client = createWsClient({ url: `ws://${base}`, contract: testContract, WebSocket, credentials });
  wsClients.push(client);
  return client;
}

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

it('client and server agree on the WebSocket subprotocol names', () => {
  expect([CLIENT_SUBPROTOCOL, CLIENT_BEARER_PREFIX, CLIENT_API_KEY_PREFIX]).toStrictEqual([
    RPC_SUBPROTOCOL,
    BEARER_SUBPROTOCOL_PREFIX,
    API_KEY_SUBPROTOCOL_PREFIX,
  ]);
});

describe('HTTP client', () => {
  it('calls a method with typed params and result', async () => {
    const result = await http().call('test.echo', { text: 'hello' });
    expectTypeOf(result).toEqualTypeOf<{ text: string }>();
    expect(result).toStrictEqual({ text: 'hello' });
  });

  it('sends credentials as headers, asked per request', async () => {
    let calls = 0;
    const client = createHttpClient({
      url: `http://${base}`,
      contract: testContract,
      credentials: () => {
        calls += 1;
        return { bearer: 'dev-token' };
      },
    });
    expect(await client.call('test.whoami')).toStrictEqual({ userId: 'u-dev', role: 'developer' });
    expect(await http({ apiKey: 'key-1' }).call('test.whoami')).toStrictEqual({
      userId: 'u-script',
      role: 'developer',
    });
    expect(calls).toBe(1);
  });

  it('throws the server error as an RpcError with the right key, code and data', async () => {
    const error = await rejection(http().call('test.fail'));
    expect(error.key).toBe('conflict');
    expect(error.code).toBe(-32004);
    expect(error.message).toBe('Project name taken');
    expect(error.data).toMatchObject({ name: 'demo', key: 'conflict' });
    expect((await rejection(http().call('test.admin'))).key).toBe('unauthenticated');
    expect((await rejection(http({ bearer: 'dev-token' }).call('test.admin'))).key).toBe('forbidden');
    const crash = await rejection(http().call('test.crash'));
    expect(crash.key).toBe('internal_error');
    expect(crash.message).toBe('Internal error');
  });

  it('settles each batch entry on its own, in order, with typed results', async () => {
    const results = await http().batch([
      { method: 'test.echo', params: { text: 'a' } },
      { method: 'test.fail' },
      { method: 'test.count', params: { to: 2 } },
    ] as const);
    expect(results[0]).toStrictEqual({ ok: true, result: { text: 'a' } });
    expect(results[1].ok).toBe(false);
    if (!results[1].ok) expect(results[1].error.key).toBe('conflict');
    expect(results[2]).toStrictEqual({ ok: true, result: { total: 2 } });
    if (results[2].ok) expectTypeOf(results[2].result).toEqualTypeOf<{ total: number }>();
  });

  it('throws the batch-level error when the whole batch is refused', async () => {
    const entries = Array.from(
      { length: 6 },
      () => ({ method: 'test.echo', params: { text: 'x' } }) as const,
    );
    const error = await rejection(http().batch(entries));
    expect(error.key).toBe('invalid_request');
    expect(error.data).toMatchObject({ limit: 5 });
  });

  it('sends a notification and gets no answer', async () => {
    await expect(http().notify('test.echo', { text: 'fire and forget' })).resolves.toBeUndefined();
  });

  it('maps an unreachable endpoint to service_unavailable', async () => {
    const client = createHttpClient({ url: 'http://127.0.0.1:1/rpc', contract: testContract });
    expect((await rejection(client.call('test.echo', { text: 'x' }))).key).toBe('service_unavailable');
  });
});

describe('WebSocket client', () => {
  it('calls a method with typed params and result', async () => {
    const client = ws();
    await client.opened;
    const result = await client.call('test.echo', { text: 'over ws' });
    expectTypeOf(result).toEqualTypeOf<{ text: string }>();
    expect(result).toStrictEqual({ text: 'over ws' });
  });

  it('authenticates through the subprotocol with a bearer token or an API key', async () => {
    expect(await ws({ bearer: 'admin-token' }).call('test.whoami')).toStrictEqual({
      userId: 'u-admin',
      role: 'admin',
    });
    expect(await ws({ apiKey: 'key-1' }).call('test.whoami')).toStrictEqual({
      userId: 'u-script',
      role: 'developer',
    });
  });

  it('delivers typed stream notifications in order before the result', async () => {
    const seen: number[] = [];
    const result = await ws().call(
      'test.count',
      { to: 4 },
      {
        onNotification: (notification) => {
          expectTypeOf(notification).toEqualTypeOf<{ n: number }>();
          seen.push(notification.n);
        },
      },
    );
    expect(seen).toStrictEqual([1, 2, 3, 4]);
    expect(result).toStrictEqual({ total: 4 });
  });

  it('sends rpc.cancel on abort: the call rejects as cancelled and the handler signal aborts', async () => {
    const client = ws();
    const controller = new AbortController();
    const pending = client.call('test.slow', { tag: 'client-abort' }, { signal: controller.signal });
    const signal = await server.slow.waitStarted('client-abort');
    controller.abort();
    const error = await rejection(pending);
    expect(error.key).toBe('cancelled');
    await expect.poll(() => signal.aborted).toBe(true);
    expect(await client.call('test.echo', { text: 'after cancel' })).toStrictEqual({ text: 'after cancel' });
  });

  it('throws the server error as an RpcError with the right key', async () => {
    const client = ws();
    expect((await rejection(client.call('test.fail'))).key).toBe('conflict');
    expect((await rejection(client.call('test.admin'))).key).toBe('unauthenticated');
  });

  it('rejects pending calls when the connection closes, and later calls too', async () => {
    const client = ws();
    const pending = client.call('test.slow', { tag: 'closing-client' });
    const signal = await server.slow.waitStarted('closing-client');
    client.close();
    expect((await rejection(pending)).key).toBe('service_unavailable');
    expect((await rejection(client.call('test.echo', { text: 'x' }))).key).toBe('service_unavailable');
    await expect.poll(() => signal.aborted).toBe(true);
  });

  it('rejects pending calls when the server goes away', async () => {
    const client = ws();
    const pending = client.call('test.slow', { tag: 'server-gone' });
    await server.slow.waitStarted('server-gone');
    await server.app.close();
    expect((await rejection(pending)).key).toBe('service_unavailable');
  });
});

describe('client typing', () => {
  it('rejects wrong params, unknown methods and onNotification on non-streaming methods at compile time', () => {
    const client = http();
    const socket = ws();
    // Type-only checks: the arrow functions are never called.
    const checks = [
      // @ts-expect-error text must be a string
      () => client.call('test.echo', { text: 1 }),
      // @ts-expect-error unknown method
      () => client.call('test.nope', {}),
      // @ts-expect-error test.echo needs params
      () => client.call('test.echo'),
      // @ts-expect-error test.echo does not stream
      () => socket.call('test.echo', { text: 'x' }, { onNotification: () => undefined }),
    ];
    expect(checks).toHaveLength(4);
  });
});
