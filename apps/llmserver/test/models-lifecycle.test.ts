// models.load / unload / status / delete on the tiny GGUF with a real LlmEngine (llama.cpp, CPU, 1 thread) and
// a real PostgreSQL registry. Auth's audit.record is a local stand-in (another service).
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRpcError } from '@cyber/contract';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { LlmEngine } from '@cyber/llm';
import { ensureTinyModel, sha256Hex } from '@cyber/llm/testing';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRepository, createAuditReporter, modelHandlers } from '../src/models/index.js';
import { FakeAuth, callHandler, quietLogger, rejectionOf, testContext } from './fixtures/models-harness.js';

let auth: FakeAuth;
let database: TestDatabase;
let repository: ModelRepository;
let engine: LlmEngine;
let modelsDir: string;
let tinyPath: string;
let tinySize: number;
let tinySha: string;
let handlers: ReturnType<typeof modelHandlers>;
const queued = new Map<string, number>();
let counter = 0;

beforeAll(async () => {
  auth = await FakeAuth.start();
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  repository = new ModelRepository(database.db);
  engine = await LlmEngine.create({ threads: 1 });
  modelsDir = await mkdtemp(join(tmpdir(), 'models-lifecycle-'));
  tinyPath = await ensureTinyModel();
  const bytes = new Uint8Array(await readFile(tinyPath));
  tinySize = bytes.byteLength;
  tinySha = sha256Hex(bytes);
  handlers = modelHandlers({
    repository,
    engine,
    modelsDir,
    audit: createAuditReporter({ authUrl: auth.url }),
    logger: quietLogger,
    queuedOf: (name) => queued.get(name) ?? 0,
  });
});

afterAll(async () => {
  await auth?.close();
  await engine?.close();
  await database?.close();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

/** A registered model whose verified file sits in the models directory, as a download leaves it. */
async function readyModel(contextSize = 512): Promise<string> {
  const name = `life-${++counter}`;
  await repository.register({
    name,
    sourceUrl: 'http://127.0.0.1:1/tiny.gguf',
    contextSize,
    costPerToken: 1,
  });
  const filePath = join(modelsDir, `${name}.gguf`);
  await copyFile(tinyPath, filePath);
  await repository.markDownloaded(name, { filePath, sizeBytes: tinySize, sha256: tinySha });
  return name;
}

describe('models.load / unload / status', () => {
  it('loads a ready model, reports it in models.status, and unloads it', async () => {
    const name = await readyModel();
    const loaded = await callHandler(handlers, 'models.load', { name, sequences: 2 }, testContext().ctx);
    expect(loaded.model).toMatchObject({
      name,
      contextSize: 512,
      sequences: 2,
      activeSequences: 0,
      queued: 0,
    });
    expect(loaded.estimatedMemoryBytes).toBeGreaterThan(0);
    expect(loaded.model.memoryBytes).toBe(loaded.estimatedMemoryBytes);
    expect((await repository.byName(name))?.status).toBe('loaded');

    queued.set(name, 3);
    const status = await callHandler(handlers, 'models.status', {}, testContext().ctx);
    expect(status.loaded).toEqual([{ ...loaded.model, queued: 3 }]);
    expect(status.memory.modelsBytes).toBe(loaded.model.memoryBytes);
    expect(status.memory.totalBytes).toBeGreaterThan(status.memory.freeBytes);
    expect(status.downloads).toEqual([]);
    queued.delete(name);

    const again = await rejectionOf(callHandler(handlers, 'models.load', { name }, testContext().ctx));
    expect(isRpcError(again, 'precondition_failed')).toBe(true);
    expect(isRpcError(again) ? again.data : undefined).toMatchObject({ status: 'loaded' });

    expect(await callHandler(handlers, 'models.unload', { name }, testContext().ctx)).toEqual({
      unloaded: true,
      cancelledRequests: 0,
    });
    expect(engine.listModels()).toEqual([]);
    expect((await repository.byName(name))?.status).toBe('ready');
    expect((await callHandler(handlers, 'models.status', {}, testContext().ctx)).loaded).toEqual([]);
  });

  it('uses the registered context size by default and refuses a larger one', async () => {
    const name = await readyModel(256);
    const tooBig = await rejectionOf(
      callHandler(handlers, 'models.load', { name, contextSize: 257 }, testContext().ctx),
    );
    expect(isRpcError(tooBig, 'invalid_params')).toBe(true);
    const loaded = await callHandler(handlers, 'models.load', { name, sequences: 1 }, testContext().ctx);
    expect(loaded.model.contextSize).toBe(256);
    await callHandler(handlers, 'models.unload', { name }, testContext().ctx);
  });

  it('refuses to load a model that has no verified file (precondition_failed with its status)', async () => {
    const name = `life-${++counter}`;
    await repository.register({
      name,
      sourceUrl: 'http://127.0.0.1:1/x.gguf',
      contextSize: 512,
      costPerToken: 1,
    });
    const error = await rejectionOf(callHandler(handlers, 'models.load', { name }, testContext().ctx));
    expect(isRpcError(error, 'precondition_failed')).toBe(true);
    expect(isRpcError(error) ? error.data : undefined).toMatchObject({ status: 'registered' });
    const missing = await rejectionOf(
      callHandler(handlers, 'models.load', { name: 'no-such' }, testContext().ctx),
    );
    expect(isRpcError(missing, 'not_found')).toBe(true);
  });

  it('refuses a model that does not fit in memory with both numbers, leaving it ready with the error', async () => {
    const tight = await LlmEngine.create({ threads: 1, freeMemory: () => 1 });
    try {
      const tightHandlers = modelHandlers({
        repository,
        engine: tight,
        modelsDir,
        audit: createAuditReporter({ authUrl: auth.url }),
        logger: quietLogger,
      });
      const name = await readyModel();
      const error = await rejectionOf(callHandler(tightHandlers, 'models.load', { name }, testContext().ctx));
      expect(isRpcError(error, 'precondition_failed')).toBe(true);
      expect(isRpcError(error) ? error.data : undefined).toMatchObject({ availableBytes: 1 });
      expect(isRpcError(error) ? error.data?.['requiredBytes'] : 0).toBeGreaterThan(1);
      const record = await repository.byName(name);
      expect(record?.status).toBe('ready');
      expect(record?.error).toMatch(/^Load failed: .*only 1 MiB is free/);
      expect(tight.listModels()).toEqual([]);
      expect(auth.records.at(-1)).toMatchObject({
        action: 'model.load',
        details: { outcome: 'precondition_failed' },
      });
    } finally {
      await tight.close();
    }
  });

  it('answers model_not_loaded when unloading a model that is not loaded', async () => {
    const name = await readyModel();
    const error = await rejectionOf(callHandler(handlers, 'models.unload', { name }, testContext().ctx));
    expect(isRpcError(error, 'model_not_loaded')).toBe(true);
  });

  it('force-unloads a model with a running generation and reports it cancelled', async () => {
    const name = await readyModel();
    await callHandler(handlers, 'models.load', { name, sequences: 1 }, testContext().ctx);
    let started!: () => void;
    const firstToken = new Promise<void>((resolve) => (started = resolve));
    const generation = engine.generate({
      modelId: name,
      prompt: 'hello',
      maxTokens: 400,
      onToken: () => started(),
    });
    await firstToken;
    const result = await callHandler(handlers, 'models.unload', { name, force: true }, testContext().ctx);
    expect(result).toEqual({ unloaded: true, cancelledRequests: 1 });
    const generated = await generation;
    expect(generated.stopReason).toBe('abort');
    expect(generated.completionTokens).toBeLessThan(400);
  });
});

describe('models.delete', () => {
  it('refuses a loaded model, then deletes the file and the unused row', async () => {
    const name = await readyModel();
    await writeFile(join(modelsDir, `${name}.gguf.part`), new Uint8Array(10));
    await callHandler(handlers, 'models.load', { name, sequences: 1 }, testContext().ctx);
    const loaded = await rejectionOf(callHandler(handlers, 'models.delete', { name }, testContext().ctx));
    expect(isRpcError(loaded, 'conflict')).toBe(true);
    await callHandler(handlers, 'models.unload', { name }, testContext().ctx);

    const result = await callHandler(handlers, 'models.delete', { name }, testContext().ctx);
    expect(result).toEqual({ freedBytes: tinySize + 10, removedFromRegistry: true });
    await expect(stat(join(modelsDir, `${name}.gguf`))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(modelsDir, `${name}.gguf.part`))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await repository.byName(name)).toBeUndefined();
    expect(auth.records.at(-1)).toMatchObject({
      action: 'model.delete',
      targetId: name,
      details: { freedBytes: tinySize + 10 },
    });
    const missing = await rejectionOf(callHandler(handlers, 'models.delete', { name }, testContext().ctx));
    expect(isRpcError(missing, 'not_found')).toBe(true);
  });

  it('keeps the row of a model the ledger refers to (registered, no file)', async () => {
    const name = await readyModel();
    const record = await repository.byName(name);
    const user = await database.db
      .insertInto('users')
      .values({ username: `user-${name}`, password_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto('tokens_used')
      .values({
        event_id: crypto.randomUUID(),
        user_id: user.id,
        model_id: record?.id ?? 0,
        prompt_tokens: 1,
        completion_tokens: 1,
        cost: 2,
        trace_id: null,
      })
      .execute();
    const result = await callHandler(handlers, 'models.delete', { name }, testContext().ctx);
    expect(result).toEqual({ freedBytes: tinySize, removedFromRegistry: false });
    expect(await repository.byName(name)).toMatchObject({ status: 'registered', filePath: null });
    const listed = await callHandler(
      handlers,
      'models.list',
      { status: 'registered', limit: 100 },
      testContext().ctx,
    );
    expect(listed.items.map((model) => model.name)).toContain(name);
  });
});
