import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildTestServer, type TestServer } from '../test/test-contract.js';
import { API_KEY_SUBPROTOCOL_PREFIX, BEARER_SUBPROTOCOL_PREFIX, RPC_SUBPROTOCOL } from './index.js';

let server: TestServer;
let url: string;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  server = await buildTestServer();
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/rpc`;
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await server.app.close();
});

/** A raw ws connection with an inbox, so each test asserts the exact frames the server sent. */
interface Conn {
  socket: WebSocket;
  send(payload: unknown): void;
  next(): Promise<unknown>;
  closed: Promise<number>;
}

async function connect(
  protocols: string[] = [RPC_SUBPROTOCOL],
  headers: Record<string, string> = {},
): Promise<Conn> {
  const socket = new WebSocket(url, protocols, { headers });
  sockets.push(socket);
  const inbox: unknown[] = [];
  const waiters: ((message: unknown) => void)[] = [];
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as unknown;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    send: (payload) => socket.send(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    next: () =>
      inbox.length > 0
        ? Promise.resolve(inbox.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no message within 2 s')), 2000);
            waiters.push((message) => {
              clearTimeout(timer);
              resolve(message);
            });
          }),
    closed,
  };
}

function cidOf(message: unknown): string {
  const cid = (message as { error?: { data?: { correlationId?: unknown } } }).error?.data?.correlationId;
  if (typeof cid !== 'string') throw new Error('error without correlationId');
  return cid;
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}

describe('WebSocket /rpc', () => {
  it('answers a request and a batch like HTTP', async () => {
    const conn = await connect();
    expect(conn.socket.protocol).toBe(RPC_SUBPROTOCOL);
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.echo', params: { text: 'hi' } });
    expect(await conn.next()).toStrictEqual({ jsonrpc: '2.0', id: 1, result: { text: 'hi' } });
    conn.send([{ jsonrpc: '2.0', id: 2, method: 'test.echo', params: { text: 'b' } }]);
    expect(await conn.next()).toStrictEqual([{ jsonrpc: '2.0', id: 2, result: { text: 'b' } }]);
  });

  it('answers a malformed frame with -32700 and id null, and keeps the connection', async () => {
    const conn = await connect();
    conn.send('{not json');
    const message = await conn.next();
    expect(message).toStrictEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32700,
        message: 'Parse error',
        data: { key: 'parse_error', correlationId: cidOf(message) },
      },
    });
    conn.send({ jsonrpc: '2.0', id: 3, method: 'test.echo', params: { text: 'still here' } });
    expect(await conn.next()).toStrictEqual({ jsonrpc: '2.0', id: 3, result: { text: 'still here' } });
  });

  it('sends nothing for notifications, then answers the next request', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', method: 'test.echo', params: { text: 'n' } });
    conn.send([{ jsonrpc: '2.0', method: 'test.echo', params: { text: 'n' } }]);
    conn.send({ jsonrpc: '2.0', id: 4, method: 'test.echo', params: { text: 'r' } });
    expect(await conn.next()).toStrictEqual({ jsonrpc: '2.0', id: 4, result: { text: 'r' } });
  });

  it('streams notifications tied to the request id, in order, before the result', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', id: 'c1', method: 'test.count', params: { to: 3 } });
    const frames = [await conn.next(), await conn.next(), await conn.next(), await conn.next()];
    expect(frames).toStrictEqual([
      { jsonrpc: '2.0', method: 'test.tick', params: { requestId: 'c1', n: 1 } },
      { jsonrpc: '2.0', method: 'test.tick', params: { requestId: 'c1', n: 2 } },
      { jsonrpc: '2.0', method: 'test.tick', params: { requestId: 'c1', n: 3 } },
      { jsonrpc: '2.0', id: 'c1', result: { total: 3 } },
    ]);
  });

  it('aborts the handler on rpc.cancel and answers -32012 cancelled', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', id: 7, method: 'test.slow', params: { tag: 'cancel-me' } });
    const signal = await server.slow.waitStarted('cancel-me');
    conn.send({ jsonrpc: '2.0', method: 'rpc.cancel', params: { id: 7 } });
    const message = await conn.next();
    expect(message).toStrictEqual({
      jsonrpc: '2.0',
      id: 7,
      error: {
        code: -32012,
        message: 'Request cancelled',
        data: { key: 'cancelled', correlationId: cidOf(message) },
      },
    });
    expect(signal.aborted).toBe(true);
  });

  it('ignores rpc.cancel for an unknown id and answers rpc.cancel sent as a request with -32600', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', method: 'rpc.cancel', params: { id: 999 } });
    conn.send({ jsonrpc: '2.0', id: 5, method: 'rpc.cancel', params: { id: 999 } });
    const message = await conn.next();
    expect(message).toStrictEqual({
      jsonrpc: '2.0',
      id: 5,
      error: {
        code: -32600,
        message: 'Invalid Request',
        data: {
          reason: 'rpc.cancel must be a notification',
          key: 'invalid_request',
          correlationId: cidOf(message),
        },
      },
    });
  });

  it('aborts the handler signal when the socket closes', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.slow', params: { tag: 'closing' } });
    const signal = await server.slow.waitStarted('closing');
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    conn.socket.close();
    await aborted;
    expect(signal.aborted).toBe(true);
  });

  it('caps in-flight requests per connection with -32007 carrying data.limit', async () => {
    const conn = await connect();
    for (const tag of ['a', 'b', 'c']) {
      conn.send({ jsonrpc: '2.0', id: tag, method: 'test.slow', params: { tag } });
    }
    await Promise.all(['a', 'b', 'c'].map((tag) => server.slow.waitStarted(tag)));
    conn.send({ jsonrpc: '2.0', id: 'd', method: 'test.echo', params: { text: 'over' } });
    const message = await conn.next();
    expect(message).toStrictEqual({
      jsonrpc: '2.0',
      id: 'd',
      error: {
        code: -32007,
        message: 'Too many requests in flight on this connection',
        data: { limit: 3, key: 'rate_limited', correlationId: cidOf(message) },
      },
    });
    // Cancelling one frees its slot once the handler has stopped.
    conn.send({ jsonrpc: '2.0', method: 'rpc.cancel', params: { id: 'a' } });
    expect(await conn.next()).toMatchObject({ id: 'a', error: { code: -32012 } });
    conn.send({ jsonrpc: '2.0', id: 'e', method: 'test.echo', params: { text: 'room again' } });
    expect(await conn.next()).toStrictEqual({ jsonrpc: '2.0', id: 'e', result: { text: 'room again' } });
  });

  it('refuses a second request reusing an id still in flight', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.slow', params: { tag: 'dup' } });
    await server.slow.waitStarted('dup');
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.echo', params: { text: 'dup' } });
    expect(await conn.next()).toMatchObject({
      id: 1,
      error: { code: -32600, data: { reason: 'a request with this id is still in flight' } },
    });
  });

  it('answers a frame over the size limit with -32009 and keeps the connection', async () => {
    const conn = await connect();
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.echo', params: { text: 'x'.repeat(5000) } });
    const message = await conn.next();
    expect(message).toStrictEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32009,
        message: 'Payload too large',
        data: { limit: 4096, key: 'payload_too_large', correlationId: cidOf(message) },
      },
    });
    conn.send({ jsonrpc: '2.0', id: 2, method: 'test.echo', params: { text: 'small' } });
    expect(await conn.next()).toStrictEqual({ jsonrpc: '2.0', id: 2, result: { text: 'small' } });
  });

  it('closes the connection (1009) on a frame beyond the hard cap without crashing', async () => {
    const conn = await connect();
    conn.send('x'.repeat(4096 * 4 + 1));
    expect(await conn.closed).toBe(1009);
    const again = await connect();
    again.send({ jsonrpc: '2.0', id: 1, method: 'test.echo', params: { text: 'alive' } });
    expect(await again.next()).toStrictEqual({ jsonrpc: '2.0', id: 1, result: { text: 'alive' } });
  });

  it('hides internal errors and checks access per request', async () => {
    const conn = await connect();
    conn.send([
      { jsonrpc: '2.0', id: 1, method: 'test.crash' },
      { jsonrpc: '2.0', id: 2, method: 'test.whoami' },
    ]);
    const message = (await conn.next()) as unknown[];
    expect(JSON.stringify(message)).not.toContain('hunter2');
    expect(message).toMatchObject([
      { id: 1, error: { code: -32603, message: 'Internal error' } },
      { id: 2, error: { code: -32001 } },
    ]);
    expect(server.logger.error).toHaveBeenCalledTimes(1);
  });
});

describe('WebSocket authentication', () => {
  it('takes a bearer token from the subprotocol, never echoing it, and authenticates once per connection', async () => {
    const conn = await connect([RPC_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + b64('admin-token')]);
    expect(conn.socket.protocol).toBe(RPC_SUBPROTOCOL);
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.admin' });
    conn.send({ jsonrpc: '2.0', id: 2, method: 'test.whoami' });
    const answers = [await conn.next(), await conn.next()];
    expect(answers).toContainEqual({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    expect(answers).toContainEqual({ jsonrpc: '2.0', id: 2, result: { userId: 'u-admin', role: 'admin' } });
    expect(server.authenticate).toHaveBeenCalledTimes(1);
  });

  it('takes an API key from the subprotocol', async () => {
    const conn = await connect([RPC_SUBPROTOCOL, API_KEY_SUBPROTOCOL_PREFIX + b64('key-1')]);
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.whoami' });
    expect(await conn.next()).toStrictEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { userId: 'u-script', role: 'developer' },
    });
  });

  it('accepts ordinary headers from non-browser clients', async () => {
    const conn = await connect([], { authorization: 'Bearer dev-token' });
    conn.send({ jsonrpc: '2.0', id: 1, method: 'test.whoami' });
    expect(await conn.next()).toStrictEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { userId: 'u-dev', role: 'developer' },
    });
  });

  it('answers -32001 and -32002 per request on an anonymous or under-privileged connection', async () => {
    const anonymous = await connect();
    anonymous.send({ jsonrpc: '2.0', id: 1, method: 'test.whoami' });
    const first = await anonymous.next();
    expect(first).toStrictEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32001,
        message: 'Authentication required',
        data: { key: 'unauthenticated', correlationId: cidOf(first) },
      },
    });
    const viewer = await connect([RPC_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + b64('viewer-token')]);
    viewer.send({ jsonrpc: '2.0', id: 2, method: 'test.whoami' });
    const second = await viewer.next();
    expect(second).toStrictEqual({
      jsonrpc: '2.0',
      id: 2,
      error: {
        code: -32002,
        message: 'Permission denied',
        data: { key: 'forbidden', correlationId: cidOf(second) },
      },
    });
  });
});
