import Fastify from 'fastify';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rpcServer } from './index.js';
import { RpcError } from '@cyber/contract';
import { SECRET, buildTestServer, type TestServer } from '../test/test-contract.js';

interface Answer {
  status: number;
  raw: string;
  body: unknown;
  contentType: string | undefined;
  cid: string;
}

let server: TestServer;

beforeEach(async () => {
  server = await buildTestServer();
});
afterEach(async () => {
  await server.app.close();
});

async function post(payload: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/rpc',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  const cid = response.headers['x-correlation-id'];
  if (typeof cid !== 'string') throw new Error('missing x-correlation-id header');
  return {
    status: response.statusCode,
    raw: response.body,
    body: response.body === '' ? undefined : (JSON.parse(response.body) as unknown),
    contentType: String(response.headers['content-type']),
    cid,
  };
}

function req(id: string | number | null, method: string, params?: unknown): Record<string, unknown> {
  return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
}

function ok(id: string | number | null, result: unknown): unknown {
  return { jsonrpc: '2.0', id, result };
}

interface ErrorSpec {
  id: string | number | null;
  code: number;
  message: string;
  key: string;
  cid: string;
  data?: Record<string, unknown>;
}

function err(spec: ErrorSpec): unknown {
  return {
    jsonrpc: '2.0',
    id: spec.id,
    error: {
      code: spec.code,
      message: spec.message,
      data: { ...spec.data, key: spec.key, correlationId: spec.cid },
    },
  };
}

const invalid = (id: string | number | null, cid: string, reason: string): unknown =>
  err({ id, code: -32600, message: 'Invalid Request', key: 'invalid_request', cid, data: { reason } });

describe('POST /rpc single requests', () => {
  it('answers a valid request with HTTP 200, application/json and the result', async () => {
    const answer = await post(req(1, 'test.echo', { text: 'hi' }));
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.body).toStrictEqual(ok(1, { text: 'hi' }));
  });

  it('echoes string ids and null ids exactly', async () => {
    expect((await post(req('abc', 'test.echo', { text: 'x' }))).body).toStrictEqual(ok('abc', { text: 'x' }));
    expect((await post(req(null, 'test.echo', { text: 'x' }))).body).toStrictEqual(ok(null, { text: 'x' }));
  });

  it('applies param defaults when params are omitted', async () => {
    const answer = await post(req(2, 'test.whoami'), { authorization: 'Bearer dev-token' });
    expect(answer.body).toStrictEqual(ok(2, { userId: 'u-dev', role: 'developer' }));
  });

  it('keeps a safe incoming x-correlation-id and replaces an unsafe one', async () => {
    const kept = await post(req(1, 'test.fail'), { 'x-correlation-id': 'gw-123' });
    expect(kept.cid).toBe('gw-123');
    expect(kept.body).toMatchObject({ error: { data: { correlationId: 'gw-123' } } });
    const replaced = await post(req(1, 'test.fail'), { 'x-correlation-id': 'bad id\twith spaces' });
    expect(replaced.cid).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('POST /rpc notifications', () => {
  it('answers a notification with HTTP 204 and an empty body', async () => {
    const answer = await post({ jsonrpc: '2.0', method: 'test.echo', params: { text: 'x' } });
    expect(answer.status).toBe(204);
    expect(answer.raw).toBe('');
  });

  it('answers a batch of notifications only with HTTP 204 and an empty body', async () => {
    const answer = await post([
      { jsonrpc: '2.0', method: 'test.echo', params: { text: 'x' } },
      { jsonrpc: '2.0', method: 'no.such' },
      { jsonrpc: '2.0', method: 'test.fail' },
    ]);
    expect(answer.status).toBe(204);
    expect(answer.raw).toBe('');
  });

  it('logs an internal error in a notification once without answering', async () => {
    const answer = await post({ jsonrpc: '2.0', method: 'test.crash' });
    expect(answer.status).toBe(204);
    expect(server.logger.error).toHaveBeenCalledTimes(1);
  });
});

describe('POST /rpc batches', () => {
  it('answers a batch of one with an array of one', async () => {
    const answer = await post([req(1, 'test.echo', { text: 'a' })]);
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual([ok(1, { text: 'a' })]);
  });

  it('answers a mixed batch in request order, leaving out notifications', async () => {
    const answer = await post([
      req(1, 'test.echo', { text: 'a' }),
      { jsonrpc: '2.0', method: 'test.echo', params: { text: 'n' } },
      req('two', 'no.such'),
      req(3, 'test.fail'),
      1,
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual([
      ok(1, { text: 'a' }),
      err({ id: 'two', code: -32601, message: 'Method not found', key: 'method_not_found', cid: answer.cid }),
      err({
        id: 3,
        code: -32004,
        message: 'Project name taken',
        key: 'conflict',
        cid: answer.cid,
        data: { name: 'demo' },
      }),
      invalid(null, answer.cid, 'request must be an object'),
    ]);
  });

  it('answers an empty batch with a single Invalid Request object', async () => {
    const answer = await post([]);
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual(invalid(null, answer.cid, 'empty batch'));
  });

  it('answers one Invalid Request per invalid batch element', async () => {
    const answer = await post([1, 2, 3]);
    expect(answer.body).toStrictEqual([
      invalid(null, answer.cid, 'request must be an object'),
      invalid(null, answer.cid, 'request must be an object'),
      invalid(null, answer.cid, 'request must be an object'),
    ]);
  });

  it('refuses a batch over the limit with one Invalid Request carrying data.limit', async () => {
    const answer = await post(Array.from({ length: 6 }, (_, i) => req(i, 'test.echo', { text: 'x' })));
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual(
      err({
        id: null,
        code: -32600,
        message: 'Invalid Request',
        key: 'invalid_request',
        cid: answer.cid,
        data: { reason: 'batch too long', limit: 5 },
      }),
    );
  });
});

describe('POST /rpc parse and request errors', () => {
  it('answers malformed JSON with -32700 and id null (not Fastify 400)', async () => {
    const answer = await post('{"jsonrpc": "2.0", "method": "test.echo", "params": "bar", "baz]');
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual(
      err({ id: null, code: -32700, message: 'Parse error', key: 'parse_error', cid: answer.cid }),
    );
  });

  it('answers malformed JSON inside a batch with a single -32700', async () => {
    const answer = await post('[{"jsonrpc": "2.0", "method": "test.echo"},{"jsonrpc": "2.0", "method"]');
    expect(answer.body).toStrictEqual(
      err({ id: null, code: -32700, message: 'Parse error', key: 'parse_error', cid: answer.cid }),
    );
  });

  it('answers an empty body with -32700', async () => {
    const answer = await post('');
    expect(answer.body).toStrictEqual(
      err({ id: null, code: -32700, message: 'Parse error', key: 'parse_error', cid: answer.cid }),
    );
  });

  it('parses the body whatever the content type', async () => {
    const answer = await post(req(1, 'test.echo', { text: 'p' }), { 'content-type': 'text/plain' });
    expect(answer.body).toStrictEqual(ok(1, { text: 'p' }));
  });

  it.each([
    ['a string', '"hello"', null, 'request must be an object'],
    ['a number', '42', null, 'request must be an object'],
    ['null', 'null', null, 'request must be an object'],
    ['a wrong jsonrpc version', { jsonrpc: '1.0', id: 7, method: 'test.echo' }, 7, 'jsonrpc must be "2.0"'],
    ['a missing jsonrpc', { id: 'x', method: 'test.echo' }, 'x', 'jsonrpc must be "2.0"'],
    [
      'an object id',
      { jsonrpc: '2.0', id: { a: 1 }, method: 'test.echo' },
      null,
      'id must be a string, a number or null',
    ],
    [
      'a boolean id',
      { jsonrpc: '2.0', id: true, method: 'test.echo' },
      null,
      'id must be a string, a number or null',
    ],
    ['a numeric method', { jsonrpc: '2.0', id: 8, method: 1, params: 'bar' }, 8, 'method must be a string'],
    ['a missing method', { jsonrpc: '2.0', id: 9 }, 9, 'method must be a string'],
    [
      'a non-structured params',
      { jsonrpc: '2.0', id: 10, method: 'test.echo', params: 'bar' },
      10,
      'params must be an object or an array',
    ],
    ['a numeric method without id', { jsonrpc: '2.0', method: 1 }, null, 'method must be a string'],
  ])('answers %s with -32600', async (_name, payload, id, reason) => {
    const answer = await post(typeof payload === 'string' ? payload : payload);
    expect(answer.status).toBe(200);
    expect(answer.body).toStrictEqual(invalid(id, answer.cid, reason));
  });

  it('answers an unknown method with -32601', async () => {
    const answer = await post(req(1, 'no.such'));
    expect(answer.body).toStrictEqual(
      err({ id: 1, code: -32601, message: 'Method not found', key: 'method_not_found', cid: answer.cid }),
    );
  });

  it('answers a contract method this server has no handler for with -32601', async () => {
    const answer = await post(req(1, 'test.unserved'));
    expect(answer.body).toStrictEqual(
      err({ id: 1, code: -32601, message: 'Method not found', key: 'method_not_found', cid: answer.cid }),
    );
  });

  it('does not resolve Object.prototype members as methods', async () => {
    const answer = await post([req(1, 'toString'), req(2, '__proto__'), req(3, 'constructor')]);
    const notFound = (id: number): unknown =>
      err({ id, code: -32601, message: 'Method not found', key: 'method_not_found', cid: answer.cid });
    expect(answer.body).toStrictEqual([notFound(1), notFound(2), notFound(3)]);
  });

  it('answers params failing zod with -32602 and only the zod issues in data', async () => {
    const answer = await post(req(4, 'test.echo', { text: '', extra: true }));
    expect(answer.body).toStrictEqual(
      err({
        id: 4,
        code: -32602,
        message: 'Invalid params',
        key: 'invalid_params',
        cid: answer.cid,
        data: {
          issues: [
            {
              path: ['text'],
              message: 'Too small: expected string to have >=1 characters',
              code: 'too_small',
            },
            { path: [], message: 'Unrecognized key: "extra"', code: 'unrecognized_keys' },
          ],
        },
      }),
    );
  });

  it('answers by-position params on a by-name method with -32602', async () => {
    const answer = await post(req(5, 'test.echo', ['hi']));
    expect(answer.body).toMatchObject({ id: 5, error: { code: -32602, message: 'Invalid params' } });
  });
});

describe('POST /rpc limits', () => {
  it('answers a body over the limit with HTTP 413 and -32009 carrying data.limit', async () => {
    const answer = await post(req(1, 'test.echo', { text: 'x'.repeat(5000) }));
    expect(answer.status).toBe(413);
    expect(answer.contentType).toBe('application/json; charset=utf-8');
    expect(answer.body).toStrictEqual(
      err({
        id: null,
        code: -32009,
        message: 'Payload too large',
        key: 'payload_too_large',
        cid: answer.cid,
        data: { limit: 4096 },
      }),
    );
  });
});

describe('POST /rpc access control', () => {
  it('answers a non-public method without identity with -32001', async () => {
    const answer = await post(req(1, 'test.whoami'));
    expect(answer.body).toStrictEqual(
      err({
        id: 1,
        code: -32001,
        message: 'Authentication required',
        key: 'unauthenticated',
        cid: answer.cid,
      }),
    );
  });

  it('answers an insufficient role with -32002', async () => {
    const answer = await post(req(1, 'test.admin'), { authorization: 'Bearer dev-token' });
    expect(answer.body).toStrictEqual(
      err({ id: 1, code: -32002, message: 'Permission denied', key: 'forbidden', cid: answer.cid }),
    );
  });

  it('lets a sufficient role through, by bearer token or API key', async () => {
    expect((await post(req(1, 'test.admin'), { authorization: 'Bearer admin-token' })).body).toStrictEqual(
      ok(1, { ok: true }),
    );
    expect((await post(req(2, 'test.whoami'), { 'x-cyber-token': 'key-1' })).body).toStrictEqual(
      ok(2, { userId: 'u-script', role: 'developer' }),
    );
  });

  it('checks access before params, so anonymous callers learn nothing about the schema', async () => {
    const answer = await post(req(1, 'test.admin', { bogus: 1 }));
    expect(answer.body).toMatchObject({ error: { code: -32001 } });
  });

  it('answers bad credentials on a protected method with the authenticator error; public methods still work', async () => {
    const answer = await post([req(1, 'test.whoami'), req(2, 'test.echo', { text: 'ok' })], {
      authorization: 'Bearer expired',
    });
    expect(answer.body).toStrictEqual([
      err({ id: 1, code: -32001, message: 'Token expired', key: 'unauthenticated', cid: answer.cid }),
      ok(2, { text: 'ok' }),
    ]);
  });

  it('authenticates once per HTTP request, even for a batch', async () => {
    await post([req(1, 'test.whoami'), req(2, 'test.whoami'), req(3, 'test.admin')], {
      authorization: 'Bearer dev-token',
    });
    expect(server.authenticate).toHaveBeenCalledTimes(1);
  });

  it('tells authenticate the client address, for per-address limits', async () => {
    await post(req(1, 'test.whoami'), { authorization: 'Bearer dev-token' });
    expect(server.authenticate).toHaveBeenCalledWith(
      expect.objectContaining({ authorization: 'Bearer dev-token' }),
      { ip: '127.0.0.1' },
    );
  });
});

describe('POST /rpc handler errors', () => {
  it('passes an RpcError through with its code, message and data', async () => {
    const answer = await post(req(1, 'test.fail'));
    expect(answer.body).toStrictEqual(
      err({
        id: 1,
        code: -32004,
        message: 'Project name taken',
        key: 'conflict',
        cid: answer.cid,
        data: { name: 'demo' },
      }),
    );
  });

  it('hides a plain Error as -32603 with only the correlation id, and logs it once', async () => {
    const answer = await post(req(1, 'test.crash'));
    expect(answer.body).toStrictEqual(
      err({ id: 1, code: -32603, message: 'Internal error', key: 'internal_error', cid: answer.cid }),
    );
    expect(answer.raw).not.toContain('hunter2');
    expect(server.logger.error).toHaveBeenCalledTimes(1);
    const [logged] = server.logger.error.mock.calls[0] as [
      { err: Error; correlationId: string; method: string },
    ];
    expect(logged.err.message).toBe(SECRET);
    expect(logged.correlationId).toBe(answer.cid);
    expect(logged.method).toBe('test.crash');
    expect(server.onInternalError).toHaveBeenCalledTimes(1);
  });

  it('strips undeclared result fields so internal data cannot leak', async () => {
    const answer = await post(req(1, 'test.leak'));
    expect(answer.body).toStrictEqual(ok(1, { name: 'alice' }));
    expect(answer.raw).not.toContain('hunter2');
  });

  it('streams nothing over HTTP but still returns the result of a streaming method', async () => {
    const answer = await post(req(1, 'test.count', { to: 3 }));
    expect(answer.body).toStrictEqual(ok(1, { total: 3 }));
  });
});

describe('plugin encapsulation', () => {
  it('leaves the host app JSON parser and error handling alone', async () => {
    const app = Fastify({ logger: false });
    await app.register(rpcServer, { handlers: {} });
    app.post('/other', (request, reply) => reply.send({ got: request.body }));
    const good = await app.inject({ method: 'POST', url: '/other', payload: { a: 1 } });
    expect(good.json()).toStrictEqual({ got: { a: 1 } });
    const bad = await app.inject({
      method: 'POST',
      url: '/other',
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    expect(bad.statusCode).toBe(400);
    // The product contract is the default; without a handler its methods answer -32601.
    const ping = await app.inject({ method: 'POST', url: '/rpc', payload: req(1, 'system.ping', {}) });
    expect(ping.json()).toMatchObject({ id: 1, error: { code: -32601 } });
    await app.close();
  });
});

describe('POST /rpc client disconnect', () => {
  /** Posts `payload` over a real socket; `destroy` drops the connection before the answer. */
  async function open(payload: unknown): Promise<{ destroy: () => void }> {
    await server.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.app.server.address() as AddressInfo;
    const body = JSON.stringify(payload);
    const call = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/rpc',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    call.on('error', () => {});
    call.end(body);
    return { destroy: () => call.destroy() };
  }

  it('aborts a running handler with cancelled when the client goes away', async () => {
    const call = await open(req(1, 'test.slow', { tag: 'http-gone' }));
    const signal = await server.slow.waitStarted('http-gone');
    expect(signal.aborted).toBe(false);
    call.destroy();
    await expect.poll(() => signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(RpcError);
    expect((signal.reason as RpcError).key).toBe('cancelled');
    expect(server.onInternalError).not.toHaveBeenCalled();
  });

  it('aborts every running handler of a batch when the client goes away', async () => {
    const call = await open([
      req(1, 'test.slow', { tag: 'batch-gone-1' }),
      req(2, 'test.slow', { tag: 'batch-gone-2' }),
    ]);
    const first = await server.slow.waitStarted('batch-gone-1');
    const second = await server.slow.waitStarted('batch-gone-2');
    call.destroy();
    await expect.poll(() => first.aborted && second.aborted).toBe(true);
  });
});
