// The audit reporter against a local stand-in for auth's /rpc (auth is another service: the outside world of
// llmserver), and the fail-closed policy: when auth cannot record an action, the action is not performed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRpcError } from '@cyber/contract';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { LlmEngine } from '@cyber/llm';
import { ensureTinyModel } from '@cyber/llm/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelRepository, createAuditReporter, modelHandlers } from '../src/models/index.js';
import {
  DEVELOPER,
  FakeAuth,
  callHandler,
  quietLogger,
  rejectionOf,
  testContext,
} from './fixtures/models-harness.js';

let auth: FakeAuth;
let database: TestDatabase;
let repository: ModelRepository;
let engine: LlmEngine;
let modelsDir: string;
let modelPath: string;
let handlers: ReturnType<typeof modelHandlers>;

beforeAll(async () => {
  auth = await FakeAuth.start();
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  repository = new ModelRepository(database.db);
  engine = await LlmEngine.create({ threads: 1 });
  modelsDir = await mkdtemp(join(tmpdir(), 'models-audit-'));
  modelPath = await ensureTinyModel();
  handlers = modelHandlers({
    repository,
    engine,
    modelsDir,
    audit: createAuditReporter({ authUrl: auth.url }),
    logger: quietLogger,
  });
});

afterAll(async () => {
  await auth?.close();
  await engine?.close();
  await database?.close();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

beforeEach(() => {
  auth.mode = 'ok';
  auth.calls.length = 0;
});

describe('createAuditReporter', () => {
  it("calls audit.record with the caller's bearer token, address, trace and correlation id", async () => {
    const reporter = createAuditReporter({ authUrl: auth.url });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { ctx } = testContext({
      headers: { authorization: 'Bearer the-admin-jwt', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      ip: '198.51.100.4',
    });
    await reporter.record(ctx, {
      action: 'model.load',
      targetId: 'tiny',
      details: { memoryBytes: 1234, note: 'x'.repeat(600), forced: false, sha256: null },
    });
    expect(auth.calls).toHaveLength(1);
    const [call] = auth.calls;
    expect(call?.body).toEqual({
      jsonrpc: '2.0',
      id: 1,
      method: 'audit.record',
      params: {
        action: 'model.load',
        targetId: 'tiny',
        // Strings are cut to what audit.record accepts (512).
        details: { memoryBytes: 1234, note: 'x'.repeat(512), forced: false, sha256: null },
      },
    });
    expect(call?.headers).toMatchObject({
      authorization: 'Bearer the-admin-jwt',
      'x-forwarded-for': '198.51.100.4',
      'x-correlation-id': 'corr-test',
      'content-type': 'application/json',
    });
    // Same trace, a new span for the hop.
    expect(call?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(call?.headers.traceparent).not.toContain('00f067aa0ba902b7');
    expect(call?.headers['x-cyber-token']).toBeUndefined();
  });

  it('forwards an API key that arrived as a WebSocket subprotocol as X-Cyber-Token', async () => {
    const reporter = createAuditReporter({ authUrl: auth.url });
    const key = 'cyk_live_0123456789';
    const { ctx } = testContext({
      headers: {
        'sec-websocket-protocol': `cyber-rpc.v1, cyber-rpc.api-key.${Buffer.from(key).toString('base64url')}`,
      },
    });
    await reporter.record(ctx, { action: 'model.unload', targetId: 'tiny', details: {} });
    expect(auth.calls[0]?.headers['x-cyber-token']).toBe(key);
    expect(auth.calls[0]?.headers.authorization).toBeUndefined();
    expect(auth.calls[0]?.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('answers service_unavailable naming auth when auth fails, is unreachable or answers without JSON', async () => {
    const { ctx } = testContext();
    const entry = { action: 'model.delete', targetId: 'tiny', details: {} } as const;
    auth.mode = 'internal_error';
    const failed = await rejectionOf(createAuditReporter({ authUrl: auth.url }).record(ctx, entry));
    auth.mode = 'html';
    const html = await rejectionOf(createAuditReporter({ authUrl: auth.url }).record(ctx, entry));
    const unreachable = await rejectionOf(
      createAuditReporter({ authUrl: 'http://127.0.0.1:9' }).record(ctx, entry),
    );
    for (const error of [failed, html, unreachable]) {
      expect(isRpcError(error, 'service_unavailable')).toBe(true);
      expect(isRpcError(error) ? error.data : undefined).toMatchObject({ service: 'auth' });
    }
  });

  it("passes auth's refusal of the caller's credential through as forbidden", async () => {
    auth.mode = 'forbidden';
    const error = await rejectionOf(
      createAuditReporter({ authUrl: auth.url }).record(testContext().ctx, {
        action: 'model.load',
        targetId: 'tiny',
        details: {},
      }),
    );
    expect(isRpcError(error, 'forbidden')).toBe(true);
  });
});

describe('models.* audit policy (fail closed)', () => {
  it('does not register a model when auth cannot record it', async () => {
    auth.mode = 'internal_error';
    const error = await rejectionOf(
      callHandler(
        handlers,
        'models.register',
        { name: 'unaudited', sourceUrl: 'http://127.0.0.1:1/m.gguf', contextSize: 512, costPerToken: 1 },
        testContext().ctx,
      ),
    );
    expect(isRpcError(error, 'service_unavailable')).toBe(true);
    expect(await repository.byName('unaudited')).toBeUndefined();
  });

  it('does not load a model when auth cannot record it, and audits load and unload when it can', async () => {
    await repository.register({
      name: 'audited-tiny',
      sourceUrl: 'http://127.0.0.1:1/m.gguf',
      contextSize: 256,
      costPerToken: 1,
    });
    await repository.markDownloaded('audited-tiny', {
      filePath: modelPath,
      sizeBytes: 1,
      sha256: 'c'.repeat(64),
    });
    auth.mode = 'html';
    const error = await rejectionOf(
      callHandler(handlers, 'models.load', { name: 'audited-tiny', sequences: 1 }, testContext().ctx),
    );
    expect(isRpcError(error, 'service_unavailable')).toBe(true);
    expect(engine.listModels()).toEqual([]);
    expect((await repository.byName('audited-tiny'))?.status).toBe('ready');

    auth.mode = 'ok';
    await callHandler(handlers, 'models.load', { name: 'audited-tiny', sequences: 1 }, testContext().ctx);
    auth.mode = 'internal_error';
    const unloadError = await rejectionOf(
      callHandler(handlers, 'models.unload', { name: 'audited-tiny' }, testContext().ctx),
    );
    expect(isRpcError(unloadError, 'service_unavailable')).toBe(true);
    expect(engine.listModels().map((model) => model.id)).toEqual(['audited-tiny']);
    auth.mode = 'ok';
    await callHandler(handlers, 'models.unload', { name: 'audited-tiny' }, testContext().ctx);
    expect(auth.records.map((record) => [record.action, record.details['step'] ?? null])).toEqual([
      ['model.load', 'start'],
      ['model.load', 'finish'],
      ['model.unload', null],
    ]);
    expect(auth.records[0]?.details).toMatchObject({ contextSize: 256, sequences: 1 });
    expect(auth.records[0]?.details['estimatedMemoryBytes']).toBeGreaterThan(0);
    expect(auth.records[1]?.details).toMatchObject({ outcome: 'ok' });
    expect(auth.records[2]?.details).toEqual({ force: false });
  });

  it('checks the role in every admin handler before anything is audited', async () => {
    const { ctx } = testContext({ identity: DEVELOPER });
    for (const call of [
      callHandler(
        handlers,
        'models.register',
        { name: 'dev', sourceUrl: 'http://127.0.0.1:1/m.gguf', contextSize: 1, costPerToken: 1 },
        ctx,
      ),
      callHandler(handlers, 'models.download', { name: 'dev' }, ctx),
      callHandler(handlers, 'models.cancelDownload', { name: 'dev' }, ctx),
      callHandler(handlers, 'models.load', { name: 'dev' }, ctx),
      callHandler(handlers, 'models.unload', { name: 'dev' }, ctx),
      callHandler(handlers, 'models.delete', { name: 'dev' }, ctx),
      callHandler(handlers, 'models.status', {}, ctx),
    ]) {
      expect(isRpcError(await rejectionOf(call), 'forbidden')).toBe(true);
    }
    expect(auth.calls).toEqual([]);
    // models.list is open to every role, but not to anonymous callers.
    const listed = await callHandler(handlers, 'models.list', {}, ctx);
    expect(Array.isArray(listed.items)).toBe(true);
    const anonymous = await rejectionOf(
      callHandler(handlers, 'models.list', {}, testContext({ identity: undefined }).ctx),
    );
    expect(isRpcError(anonymous, 'unauthenticated')).toBe(true);
  });
});
