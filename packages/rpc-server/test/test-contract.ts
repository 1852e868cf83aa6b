// A small contract and server that exercise every rule of the transport, shared by the conformance tests.
import { RpcError, defineMethod } from '@cyber/contract';
import Fastify, { type FastifyInstance } from 'fastify';
import { vi } from 'vitest';
import { z } from 'zod';
import {
  defineHandlers,
  rpcServer,
  type RpcCallEnd,
  type RpcIdentity,
  type RpcLimits,
} from '../src/index.js';

export const SECRET = 'db password is hunter2';

export const testContract = {
  'test.echo': defineMethod({
    description: 'Echoes its text.',
    access: 'public',
    params: z.strictObject({ text: z.string().min(1) }),
    result: z.object({ text: z.string() }),
  }),
  'test.whoami': defineMethod({
    description: 'The caller, for developers.',
    access: 'developer',
    params: z.strictObject({}).default({}),
    result: z.object({ userId: z.string(), role: z.string() }),
  }),
  'test.admin': defineMethod({
    description: 'Admins only.',
    access: 'admin',
    params: z.strictObject({}).default({}),
    result: z.object({ ok: z.literal(true) }),
  }),
  'test.fail': defineMethod({
    description: 'Throws an RpcError.',
    access: 'public',
    params: z.strictObject({}).default({}),
    result: z.object({}),
  }),
  'test.crash': defineMethod({
    description: 'Throws a plain Error carrying a secret.',
    access: 'public',
    params: z.strictObject({}).default({}),
    result: z.object({}),
  }),
  'test.leak': defineMethod({
    description: 'Returns a field the result schema does not declare.',
    access: 'public',
    params: z.strictObject({}).default({}),
    result: z.object({ name: z.string() }),
  }),
  'test.count': defineMethod({
    description: 'Streams 1..to then returns the total.',
    access: 'public',
    params: z.strictObject({ to: z.number().int().min(0).max(100) }),
    result: z.object({ total: z.number() }),
    stream: { method: 'test.tick', params: z.object({ n: z.number() }) },
  }),
  'test.slow': defineMethod({
    description: 'Waits until its signal aborts.',
    access: 'public',
    params: z.strictObject({ tag: z.string() }),
    result: z.object({ done: z.boolean() }),
  }),
  'test.unserved': defineMethod({
    description: 'In the contract, but this server has no handler.',
    access: 'public',
    params: z.strictObject({}).default({}),
    result: z.object({}),
  }),
} as const;

export type TestContract = typeof testContract;

/** Promise.withResolvers arrived in Node 22; this is its Node 20 stand-in. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Identities the test authenticator knows. */
const TOKENS: Record<string, RpcIdentity> = {
  'dev-token': { userId: 'u-dev', role: 'developer' },
  'admin-token': { userId: 'u-admin', role: 'admin' },
  'viewer-token': { userId: 'u-viewer', role: 'viewer' },
};

/** Started slow handlers, keyed by tag, so tests can wait for the start and observe the abort. */
export interface SlowProbe {
  started: Map<string, Deferred<AbortSignal>>;
  waitStarted(tag: string): Promise<AbortSignal>;
}

export interface TestServer {
  app: FastifyInstance;
  logger: { error: ReturnType<typeof vi.fn>; warn: ReturnType<typeof vi.fn> };
  onInternalError: ReturnType<typeof vi.fn>;
  authenticate: ReturnType<typeof vi.fn>;
  slow: SlowProbe;
  /** Every call the server reported through `onCallEnd`, in the order they ended. */
  calls: RpcCallEnd[];
}

/** Builds (not listening) a Fastify app serving the test contract. */
export async function buildTestServer(limits: RpcLimits = {}): Promise<TestServer> {
  const started = new Map<string, Deferred<AbortSignal>>();
  const probe = (tag: string): Deferred<AbortSignal> => {
    let entry = started.get(tag);
    if (entry === undefined) {
      entry = deferred<AbortSignal>();
      started.set(tag, entry);
    }
    return entry;
  };
  const slow: SlowProbe = { started, waitStarted: (tag) => probe(tag).promise };

  const handlers = defineHandlers(testContract)({
    'test.echo': ({ text }) => ({ text }),
    'test.whoami': (_params, ctx) => {
      if (ctx.identity === undefined) throw new Error('unreachable: access check passed without identity');
      return { userId: ctx.identity.userId, role: ctx.identity.role };
    },
    'test.admin': () => ({ ok: true }),
    'test.fail': () => {
      throw new RpcError('conflict', { message: 'Project name taken', data: { name: 'demo' } });
    },
    'test.crash': () => {
      throw new Error(SECRET);
    },
    'test.leak': () => ({ name: 'alice', passwordHash: SECRET }) as { name: string },
    'test.count': async ({ to }, ctx) => {
      for (let n = 1; n <= to; n += 1) await ctx.notify({ n });
      return { total: to };
    },
    'test.slow': async ({ tag }, ctx) => {
      probe(tag).resolve(ctx.signal);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      return { done: true };
    },
  });

  const logger = { error: vi.fn(), warn: vi.fn() };
  const onInternalError = vi.fn();
  const calls: RpcCallEnd[] = [];
  const authenticate = vi.fn((headers: Record<string, string | string[] | undefined>) => {
    const auth = headers.authorization;
    const key = headers['x-cyber-token'];
    if (typeof auth === 'string') {
      const token = auth.replace(/^Bearer /, '');
      const identity = TOKENS[token];
      if (identity === undefined) {
        return Promise.reject(new RpcError('unauthenticated', { message: 'Token expired' }));
      }
      return Promise.resolve(identity);
    }
    if (key === 'key-1') return Promise.resolve<RpcIdentity>({ userId: 'u-script', role: 'developer' });
    return Promise.resolve(undefined);
  });

  const app = Fastify({ logger: false });
  await app.register(rpcServer<TestContract>, {
    contract: testContract,
    handlers,
    authenticate,
    logger,
    onInternalError,
    onCallEnd: (call) => calls.push(call),
    limits: { bodyLimit: 4096, maxBatch: 5, maxFrameBytes: 4096, maxInFlightPerConnection: 3, ...limits },
  });
  await app.ready();
  return { app, logger, onInternalError, authenticate, slow, calls };
}
