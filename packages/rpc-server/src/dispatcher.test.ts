// The dispatcher's schema checks: synchronous schemas take zod's sync parse, schemas with async refinements
// still work (fall back to safeParseAsync), and results are stripped of undeclared fields either way.
import { defineMethod } from '@cyber/contract';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, type DispatchSession } from './dispatcher.js';
import type { RpcIdentity } from './server-types.js';

const contract = {
  'sync.echo': defineMethod({
    description: 'echo',
    access: 'public',
    params: z.object({ text: z.string() }),
    result: z.object({ text: z.string() }),
  }),
  'async.echo': defineMethod({
    description: 'echo with async checks',
    access: 'public',
    params: z.object({ text: z.string() }).refine(async (value) => Promise.resolve(value.text !== 'no')),
    result: z.object({ text: z.string() }).refine(async () => Promise.resolve(true)),
  }),
};

// Returns a field the contract does not declare, which must never reach the client.
const echo = (params: { text: string }): Promise<{ text: string }> =>
  Promise.resolve(Object.assign({ secret: 'undeclared' }, params));

const dispatch = createDispatcher({
  contract,
  handlers: { 'sync.echo': echo, 'async.echo': echo },
  maxBatch: 10,
  validateResults: true,
  reportInternal: () => undefined,
});

function session(): DispatchSession<RpcIdentity> {
  return {
    transport: 'http',
    request: {} as FastifyRequest,
    correlationId: 'test',
    identity: () => Promise.resolve({}),
    signal: new AbortController().signal,
  };
}

const call = (method: string, params: unknown): Promise<unknown> =>
  dispatch(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), session());

describe('dispatcher schema checks', () => {
  it.each(['sync.echo', 'async.echo'])(
    '%s answers with the result stripped of undeclared fields',
    async (method) => {
      expect(await call(method, { text: 'hi' })).toEqual({ jsonrpc: '2.0', id: 1, result: { text: 'hi' } });
    },
  );

  it.each(['sync.echo', 'async.echo'])('%s refuses bad params with invalid_params', async (method) => {
    const answer = (await call(method, { text: 3 })) as { error?: { code: number } };
    expect(answer.error?.code).toBe(-32602);
  });

  it('runs an async refinement of the params', async () => {
    const answer = (await call('async.echo', { text: 'no' })) as { error?: { code: number } };
    expect(answer.error?.code).toBe(-32602);
  });
});
