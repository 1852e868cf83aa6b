// models.download end to end through the handlers: a real PostgreSQL registry, the real downloader writing to a
// temp models directory, the tiny GGUF served by a local HTTP server (never the internet) that can break the
// connection, ignore Range or stall, and a local stand-in for auth's audit.record.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRpcError, type DownloadProgress } from '@cyber/contract';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { LlmEngine } from '@cyber/llm';
import { ensureTinyModel, sha256Hex } from '@cyber/llm/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ModelDownloader,
  ModelRepository,
  createAuditReporter,
  modelHandlers,
  recoverInterruptedDownloads,
} from '../src/models/index.js';
import {
  FakeAuth,
  ModelFileServer,
  callHandler,
  quietLogger,
  rejectionOf,
  testContext,
} from './fixtures/models-harness.js';

let database: TestDatabase;
let repository: ModelRepository;
let engine: LlmEngine;
let server: ModelFileServer;
let auth: FakeAuth;
let bytes: Uint8Array;
let sha256: string;
let modelsDir: string;
let freeDisk = Number.MAX_SAFE_INTEGER;
let handlers: ReturnType<typeof modelHandlers>;
let counter = 0;

beforeAll(async () => {
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  repository = new ModelRepository(database.db);
  engine = await LlmEngine.create({ threads: 1 });
  bytes = new Uint8Array(await readFile(await ensureTinyModel()));
  sha256 = sha256Hex(bytes);
  server = await ModelFileServer.start(bytes);
  auth = await FakeAuth.start();
});

afterAll(async () => {
  await server?.close();
  await auth?.close();
  await engine?.close();
  await database?.close();
});

beforeEach(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'models-download-'));
  freeDisk = Number.MAX_SAFE_INTEGER;
  server.mode = 'normal';
  server.requests.length = 0;
  auth.mode = 'ok';
  auth.calls.length = 0;
  handlers = modelHandlers({
    repository,
    engine,
    modelsDir,
    audit: createAuditReporter({ authUrl: auth.url }),
    logger: quietLogger,
    freeDiskBytes: () => Promise.resolve(freeDisk),
  });
});

afterEach(async () => {
  await rm(modelsDir, { recursive: true, force: true });
});

async function registerModel(options: { sha256?: string; path?: string } = {}): Promise<string> {
  const name = `dl-${++counter}`;
  await callHandler(
    handlers,
    'models.register',
    {
      name,
      sourceUrl: server.url(options.path),
      contextSize: 512,
      costPerToken: 2,
      ...(options.sha256 === undefined ? {} : { sha256: options.sha256 }),
    },
    testContext().ctx,
  );
  return name;
}

function progressOf(events: unknown[]): DownloadProgress[] {
  return events as DownloadProgress[];
}

describe('models.download', () => {
  it('downloads the whole file with progress, verifies its sha256 and marks the model ready', async () => {
    const name = await registerModel({ sha256 });
    const { ctx, events } = testContext();
    const result = await callHandler(handlers, 'models.download', { name }, ctx);

    expect(result).toMatchObject({ sizeBytes: bytes.byteLength, sha256, resumed: false });
    expect(result.model).toMatchObject({ status: 'ready', sha256, sizeBytes: bytes.byteLength, error: null });
    const file = join(modelsDir, `${name}.gguf`);
    expect(sha256Hex(new Uint8Array(await readFile(file)))).toBe(sha256);
    await expect(stat(`${file}.part`)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await repository.byName(name))?.filePath).toBe(file);

    const progress = progressOf(events);
    const downloading = progress.filter((event) => event.phase === 'downloading');
    // Throttled: the server takes ~0.5 s, so some intermediate events and a final one, not one per chunk.
    expect(downloading.length).toBeGreaterThanOrEqual(2);
    expect(downloading.length).toBeLessThan(bytes.byteLength / server.slice);
    expect(downloading.at(-1)).toMatchObject({
      receivedBytes: bytes.byteLength,
      totalBytes: bytes.byteLength,
      resumedFromBytes: 0,
    });
    const received = downloading.map((event) => event.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(downloading.some((event) => event.bytesPerSecond > 0)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'verifying', receivedBytes: bytes.byteLength });

    // Audited before (start) and after (outcome).
    expect(auth.records.filter((record) => record.targetId === name).map((record) => record.action)).toEqual([
      'model.register',
      'model.download',
      'model.download',
    ]);
    expect(auth.records.at(-1)?.details).toMatchObject({
      step: 'finish',
      outcome: 'ok',
      sha256,
      sizeBytes: bytes.byteLength,
    });
  });

  it('keeps the partial when the connection breaks mid-body, then resumes with Range to the right sha256', async () => {
    const name = await registerModel({ sha256 });
    server.mode = 'break';
    server.breakAfter = 300_000;
    const first = testContext();
    const error = await rejectionOf(callHandler(handlers, 'models.download', { name }, first.ctx));
    expect(isRpcError(error, 'service_unavailable')).toBe(true);
    const partialBytes = (await stat(join(modelsDir, `${name}.gguf.part`))).size;
    expect(partialBytes).toBe(300_000);
    expect(isRpcError(error) ? error.data : undefined).toMatchObject({
      receivedBytes: partialBytes,
      reason: 'connection_broken',
    });
    const interrupted = await repository.byName(name);
    expect(interrupted).toMatchObject({ status: 'registered', filePath: null });
    expect(interrupted?.error).toMatch(/broke off after 300000 bytes/);

    server.mode = 'normal';
    server.requests.length = 0;
    const second = testContext();
    const result = await callHandler(handlers, 'models.download', { name }, second.ctx);
    expect(server.requests.map((request) => request.range)).toEqual([`bytes=${partialBytes}-`]);
    expect(result).toMatchObject({ resumed: true, sha256, sizeBytes: bytes.byteLength });
    const progress = progressOf(second.events);
    expect(progress.every((event) => event.resumedFromBytes === partialBytes)).toBe(true);
    expect(progress[0]?.resumedFromBytes).toBeGreaterThan(0);
    expect(sha256Hex(new Uint8Array(await readFile(join(modelsDir, `${name}.gguf`))))).toBe(sha256);
  });

  it('starts over when the server ignores Range (200), still ending with the right sha256', async () => {
    const name = await registerModel({ sha256 });
    // A stale, wrong partial: if it were kept, the sha256 would not match.
    await writeFile(join(modelsDir, `${name}.gguf.part`), new Uint8Array(1000).fill(7));
    server.mode = 'ignore-range';
    const { ctx, events } = testContext();
    const result = await callHandler(handlers, 'models.download', { name }, ctx);
    expect(server.requests.map((request) => request.range)).toEqual(['bytes=1000-']);
    expect(result).toMatchObject({ resumed: false, sha256, sizeBytes: bytes.byteLength });
    expect(progressOf(events).at(-1)?.resumedFromBytes).toBe(0);
  });

  it('treats 416 on a complete partial as done and verifies it', async () => {
    const name = await registerModel({ sha256 });
    await writeFile(join(modelsDir, `${name}.gguf.part`), bytes);
    const result = await callHandler(handlers, 'models.download', { name }, testContext().ctx);
    expect(server.requests.map((request) => request.range)).toEqual([`bytes=${bytes.byteLength}-`]);
    expect(result).toMatchObject({ resumed: true, sha256, sizeBytes: bytes.byteLength });
  });

  it('refuses a file whose sha256 differs: file removed, status failed, expected and actual in the error', async () => {
    const wrong = 'b'.repeat(64);
    const name = await registerModel({ sha256: wrong });
    const error = await rejectionOf(callHandler(handlers, 'models.download', { name }, testContext().ctx));
    expect(isRpcError(error, 'precondition_failed')).toBe(true);
    expect(isRpcError(error) ? error.data : undefined).toMatchObject({ expected: wrong, actual: sha256 });
    await expect(stat(join(modelsDir, `${name}.gguf.part`))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(modelsDir, `${name}.gguf`))).rejects.toMatchObject({ code: 'ENOENT' });
    const record = await repository.byName(name);
    expect(record?.status).toBe('failed');
    expect(record?.error).toContain(sha256);
    expect(auth.records.at(-1)?.details).toMatchObject({
      outcome: 'precondition_failed',
      reason: 'sha256_mismatch',
    });
  });

  it('refuses to start without the disk space for the rest of the file', async () => {
    const name = await registerModel({ sha256 });
    freeDisk = 1000;
    const error = await rejectionOf(callHandler(handlers, 'models.download', { name }, testContext().ctx));
    expect(isRpcError(error, 'precondition_failed')).toBe(true);
    expect(isRpcError(error) ? error.data : undefined).toMatchObject({
      reason: 'insufficient_disk',
      requiredBytes: bytes.byteLength,
      availableBytes: 1000,
    });
    expect((await repository.byName(name))?.status).toBe('registered');
    // Nothing was written.
    await expect(stat(join(modelsDir, `${name}.gguf.part`))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('cancels mid-download with models.cancelDownload: partial kept, registered, call ends cancelled', async () => {
    const name = await registerModel({ sha256 });
    server.mode = 'stall';
    server.breakAfter = 200_000;
    const download = callHandler(handlers, 'models.download', { name }, testContext().ctx);
    await waitFor(async () => (await sizeOf(join(modelsDir, `${name}.gguf.part`))) === 200_000);
    const status = await callHandler(handlers, 'models.status', {}, testContext().ctx);
    expect(status.downloads).toEqual([expect.objectContaining({ model: name, phase: 'downloading' })]);

    expect(await callHandler(handlers, 'models.cancelDownload', { name }, testContext().ctx)).toEqual({
      cancelled: true,
    });
    const error = await rejectionOf(download);
    expect(isRpcError(error, 'cancelled')).toBe(true);
    expect(await sizeOf(join(modelsDir, `${name}.gguf.part`))).toBe(200_000);
    expect(await repository.byName(name)).toMatchObject({ status: 'registered', error: null });
    expect(await callHandler(handlers, 'models.cancelDownload', { name }, testContext().ctx)).toEqual({
      cancelled: false,
    });
    expect((await callHandler(handlers, 'models.status', {}, testContext().ctx)).downloads).toEqual([]);
  });

  it("cancels when the caller's signal aborts (client gone)", async () => {
    const name = await registerModel({ sha256 });
    server.mode = 'stall';
    server.breakAfter = 100_000;
    const { ctx, controller } = testContext();
    const download = callHandler(handlers, 'models.download', { name }, ctx);
    await waitFor(async () => (await sizeOf(join(modelsDir, `${name}.gguf.part`))) === 100_000);
    controller.abort();
    expect(isRpcError(await rejectionOf(download), 'cancelled')).toBe(true);
    expect((await repository.byName(name))?.status).toBe('registered');
    // The outcome is still audited although the caller's signal is aborted.
    expect(auth.records.at(-1)?.details).toMatchObject({ step: 'finish', outcome: 'cancelled' });
  });

  it('refuses a second download of the same model while one runs (conflict)', async () => {
    const name = await registerModel({ sha256 });
    server.mode = 'stall';
    server.breakAfter = 100_000;
    const first = callHandler(handlers, 'models.download', { name }, testContext().ctx);
    await waitFor(async () => (await sizeOf(join(modelsDir, `${name}.gguf.part`))) === 100_000);
    const error = await rejectionOf(callHandler(handlers, 'models.download', { name }, testContext().ctx));
    expect(isRpcError(error, 'conflict')).toBe(true);
    const deleteError = await rejectionOf(
      callHandler(handlers, 'models.delete', { name }, testContext().ctx),
    );
    expect(isRpcError(deleteError, 'conflict')).toBe(true);
    await callHandler(handlers, 'models.cancelDownload', { name }, testContext().ctx);
    await rejectionOf(first);
  });

  it('refuses a model that is already downloaded, and one not registered', async () => {
    const name = await registerModel({ sha256 });
    await callHandler(handlers, 'models.download', { name }, testContext().ctx);
    const again = await rejectionOf(callHandler(handlers, 'models.download', { name }, testContext().ctx));
    expect(isRpcError(again, 'conflict')).toBe(true);
    const missing = await rejectionOf(
      callHandler(handlers, 'models.download', { name: 'nope' }, testContext().ctx),
    );
    expect(isRpcError(missing, 'not_found')).toBe(true);
  });

  it('refuses a redirect to a non-http(s) URL and a source that answers 404 (failed)', async () => {
    const ftp = await registerModel({ path: '/redirect-ftp' });
    const ftpError = await rejectionOf(
      callHandler(handlers, 'models.download', { name: ftp }, testContext().ctx),
    );
    expect(isRpcError(ftpError, 'precondition_failed')).toBe(true);
    expect(isRpcError(ftpError) ? ftpError.data : undefined).toMatchObject({
      reason: 'redirect_scheme',
      protocol: 'ftp:',
    });
    const missing = await registerModel({ path: '/missing' });
    const missingError = await rejectionOf(
      callHandler(handlers, 'models.download', { name: missing }, testContext().ctx),
    );
    expect(isRpcError(missingError) ? missingError.data : undefined).toMatchObject({
      reason: 'source_http_status',
      status: 404,
    });
    expect((await repository.byName(missing))?.status).toBe('failed');
    // A source written into the table by hand, past the contract's http(s) check.
    await repository.register({
      name: 'by-hand-ftp',
      sourceUrl: 'ftp://127.0.0.1/m.gguf',
      contextSize: 1,
      costPerToken: 0,
    });
    const byHand = await rejectionOf(
      callHandler(handlers, 'models.download', { name: 'by-hand-ftp' }, testContext().ctx),
    );
    expect(isRpcError(byHand) ? byHand.data : undefined).toMatchObject({ reason: 'source_scheme' });
  });

  it('resumes after a restart: a row left downloading is recovered and the next download continues', async () => {
    const name = await registerModel({ sha256 });
    // What a crash leaves: the row downloading, a partial file on disk.
    await writeFile(join(modelsDir, `${name}.gguf.part`), bytes.subarray(0, 123_456));
    await repository.setStatus(name, 'downloading');
    await recoverInterruptedDownloads(repository);
    expect((await repository.byName(name))?.status).toBe('registered');
    const fresh = new ModelDownloader({ repository, modelsDir, logger: quietLogger });
    const outcome = await fresh.download({ name });
    expect(outcome).toMatchObject({ resumedFromBytes: 123_456, sha256, sizeBytes: bytes.byteLength });
  });
});

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (stats) => stats.size,
    () => 0,
  );
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
