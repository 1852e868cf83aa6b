// onCallEnd: every call is reported once with a bounded method name and the outcome its caller saw, over HTTP
// (single, batch members, notifications, refused bodies) and WebSocket (calls, streams, cancels, big frames).
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RPC_SUBPROTOCOL, rpcServer, type RpcCallEnd } from './index.js';
import { buildTestServer, testContract, type TestContract, type TestServer } from '../test/test-contract.js';

let server: TestServer;

beforeEach(async () => {
  server = await buildTestServer();
});
afterEach(async () => {
  await server.app.close();
});

async function post(payload: unknown): Promise<number> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { 'content-type': 'application/json' },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return response.statusCode;
}

function req(id: number | undefined, method: string, params?: unknown): Record<string, unknown> {
  return { jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, ...(params ? { params } : {}) };
}

/** The reported calls without their durations, which vary. */
function seen(): Omit<RpcCallEnd, 'durationSeconds'>[] {
  return server.calls.map(({ method, outcome, transport }) => ({ method, outcome, transport }));
}

describe('onCallEnd over HTTP', () => {
  it('reports each call once with its contract method and outcome: ok or the error key the caller got', async () => {
    await post(req(1, 'test.echo', { text: 'hi' }));
    await post(req(2, 'test.fail'));
    await post(req(3, 'test.crash'));
    await post(req(4, 'test.echo', { text: '' }));
    await post(req(5, 'test.admin'));
    await post(req(6, 'test.unserved'));
    expect(seen()).toEqual([
      { method: 'test.echo', outcome: 'ok', transport: 'http' },
      { method: 'test.fail', outcome: 'conflict', transport: 'http' },
      { method: 'test.crash', outcome: 'internal_error', transport: 'http' },
      { method: 'test.echo', outcome: 'invalid_params', transport: 'http' },
      { method: 'test.admin', outcome: 'unauthenticated', transport: 'http' },
      // In the contract but not served here: still a bounded name.
      { method: 'test.unserved', outcome: 'method_not_found', transport: 'http' },
    ]);
    for (const call of server.calls) {
      expect(call.durationSeconds).toBeGreaterThanOrEqual(0);
      expect(call.durationSeconds).toBeLessThan(5);
    }
  });

  it('collapses names outside the contract to "unknown", so callers cannot create label values', async () => {
    await post(req(1, `user.${'x'.repeat(40)}`));
    await post(req(2, 'toString'));
    await post(req(3, '__proto__'));
    expect(seen()).toEqual(
      Array.from({ length: 3 }, () => ({
        method: 'unknown',
        outcome: 'method_not_found',
        transport: 'http',
      })),
    );
  });

  it('counts every member of a batch, notifications included', async () => {
    const status = await post([
      req(1, 'test.echo', { text: 'a' }),
      req(undefined, 'test.echo', { text: 'notified' }),
      req(2, 'test.fail'),
      { jsonrpc: '1.0', id: 3, method: 'test.echo' },
    ]);
    expect(status).toBe(200);
    expect(seen()).toEqual(
      expect.arrayContaining([
        { method: 'test.echo', outcome: 'ok', transport: 'http' },
        { method: 'test.fail', outcome: 'conflict', transport: 'http' },
        { method: 'unknown', outcome: 'invalid_request', transport: 'http' },
      ]),
    );
    expect(server.calls.filter((call) => call.method === 'test.echo')).toHaveLength(2);
    expect(server.calls).toHaveLength(4);
  });

  it('reports messages refused before any method was read once each, as "unknown"', async () => {
    await post('{not json');
    await post([]);
    await post(Array.from({ length: 6 }, (_, i) => req(i, 'test.echo', { text: 'x' })));
    expect(await post(JSON.stringify(req(9, 'test.echo', { text: 'x'.repeat(5000) })))).toBe(413);
    expect(seen()).toEqual([
      { method: 'unknown', outcome: 'parse_error', transport: 'http' },
      { method: 'unknown', outcome: 'invalid_request', transport: 'http' },
      { method: 'unknown', outcome: 'invalid_request', transport: 'http' },
      { method: 'unknown', outcome: 'payload_too_large', transport: 'http' },
    ]);
  });

  it('keeps answering when the hook throws, and logs a warning', async () => {
    const warnings: unknown[] = [];
    const throwing = Fastify();
    try {
      await throwing.register(rpcServer<TestContract>, {
        contract: testContract,
        handlers: { 'test.echo': ({ text }) => ({ text }) },
        logger: { error: () => undefined, warn: (obj) => warnings.push(obj) },
        onCallEnd: () => {
          throw new Error('metrics broke');
        },
      });
      const response = await throwing.inject({
        method: 'POST',
        url: '/rpc',
        payload: JSON.stringify(req(1, 'test.echo', { text: 'still here' })),
      });
      expect(JSON.parse(response.body)).toEqual({ jsonrpc: '2.0', id: 1, result: { text: 'still here' } });
      expect(warnings).toHaveLength(1);
    } finally {
      await throwing.close();
    }
  });
});

describe('onCallEnd over WebSocket', () => {
  let socket: WebSocket;
  const inbox: unknown[] = [];

  beforeEach(async () => {
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (server.app.server.address() as AddressInfo).port;
    socket = new WebSocket(`ws://127.0.0.1:${port}/rpc`, [RPC_SUBPROTOCOL]);
    inbox.length = 0;
    socket.on('message', (data: Buffer) => inbox.push(JSON.parse(data.toString('utf8'))));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
  });
  afterEach(() => {
    socket.terminate();
  });

  async function until(condition: () => boolean): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out; calls so far: ${JSON.stringify(seen())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('reports calls, a whole stream as one call, a cancelled call, and an oversized frame', async () => {
    socket.send(JSON.stringify(req(1, 'test.echo', { text: 'hi' })));
    socket.send(JSON.stringify(req(2, 'test.count', { to: 3 })));
    // A stream ends with its result, after its three notifications; the call ends when its answer is ready.
    await until(() => inbox.some((message) => (message as { id?: number }).id === 2));
    expect(server.calls).toHaveLength(2);
    expect(inbox.filter((message) => (message as { method?: string }).method === 'test.tick')).toHaveLength(
      3,
    );

    socket.send(JSON.stringify(req(3, 'test.slow', { tag: 'ws-metrics' })));
    await server.slow.waitStarted('ws-metrics');
    socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'rpc.cancel', params: { id: 3 } }));
    await until(() => server.calls.length === 3);

    socket.send('x'.repeat(5000));
    await until(() => server.calls.length === 4);
    expect(seen()).toEqual([
      { method: 'test.echo', outcome: 'ok', transport: 'ws' },
      { method: 'test.count', outcome: 'ok', transport: 'ws' },
      // The cancel itself is a control message, not a call.
      { method: 'test.slow', outcome: 'cancelled', transport: 'ws' },
      { method: 'unknown', outcome: 'payload_too_large', transport: 'ws' },
    ]);
  });
});
