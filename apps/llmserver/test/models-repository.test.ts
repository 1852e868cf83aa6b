// ModelRepository against a real PostgreSQL migrated with the repository's migrations (0011 included).
import { isRpcError } from '@cyber/contract';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ModelRepository,
  decodeModelCursor,
  recoverInterruptedDownloads,
  toModel,
} from '../src/models/index.js';
import { rejectionOf } from './fixtures/models-harness.js';

let database: TestDatabase;
let repository: ModelRepository;
let counter = 0;
const uniqueName = (prefix: string): string => `${prefix}-${++counter}`;
const SHA = 'a'.repeat(64);

beforeAll(async () => {
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  repository = new ModelRepository(database.db);
});

afterAll(async () => {
  await database?.close();
});

function register(name: string, extra: { sha256?: string; sizeBytes?: number } = {}) {
  return repository.register({
    name,
    sourceUrl: `http://127.0.0.1:1/${name}.gguf`,
    contextSize: 2048,
    costPerToken: 3,
    quantization: 'Q8_0',
    parameters: 28_000_000,
    ...extra,
  });
}

describe('ModelRepository', () => {
  it('registers a model as registered and maps it to the contract shape', async () => {
    const record = await register(uniqueName('reg'), { sha256: SHA, sizeBytes: 1234 });
    expect(record).toMatchObject({
      contextSize: 2048,
      costPerToken: 3,
      status: 'registered',
      filePath: null,
      sha256: SHA,
      sizeBytes: 1234,
      quantization: 'Q8_0',
      parameters: 28_000_000,
      error: null,
    });
    const model = toModel(record);
    expect(model.createdAt).toMatch(/Z$/);
    expect(model).not.toHaveProperty('filePath');
    expect(await repository.byName(record.name)).toEqual(record);
  });

  it('refuses a duplicate name with conflict', async () => {
    const name = uniqueName('dup');
    await register(name);
    const error = await rejectionOf(register(name));
    expect(isRpcError(error, 'conflict')).toBe(true);
  });

  it('answers undefined for an unknown name', async () => {
    expect(await repository.byName('no-such-model')).toBeUndefined();
  });

  it('keeps the status to the contract values (CHECK)', async () => {
    const name = uniqueName('check');
    await register(name);
    const error = await rejectionOf(
      database.db
        .updateTable('models')
        .set({ status: 'bogus' as 'ready' })
        .where('name', '=', name)
        .execute(),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'models_status_check' });
  });

  it('lists in registration order, page by page, optionally by status', async () => {
    const prefix = uniqueName('page');
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const name of names) await register(name);
    await repository.setStatus(names[1] ?? '', 'failed', 'sha256 mismatch');
    const all = await repository.list({ limit: 1000 });
    const ours = all.filter((record) => record.name.startsWith(prefix)).map((record) => record.name);
    expect(ours).toEqual(names);
    const firstPage = await repository.list({ limit: 2 });
    const secondPage = await repository.list({ limit: 1000, afterId: firstPage.at(-1)?.id });
    expect([...firstPage, ...secondPage].map((record) => record.id)).toEqual(all.map((record) => record.id));
    const failed = await repository.list({ limit: 1000, status: 'failed' });
    expect(failed.map((record) => record.name)).toContain(names[1]);
    expect(failed.every((record) => record.status === 'failed')).toBe(true);
  });

  it('rejects a cursor it did not make', () => {
    expect(() => decodeModelCursor('bm90LWEtY3Vyc29y')).toThrow('Invalid cursor');
  });

  it('records a verified download as ready with file, size and sha256, clearing the error', async () => {
    const name = uniqueName('dl');
    await register(name);
    await repository.setStatus(name, 'registered', 'broken connection');
    const record = await repository.markDownloaded(name, {
      filePath: `/models/${name}.gguf`,
      sizeBytes: 99,
      sha256: SHA,
    });
    expect(record).toMatchObject({
      status: 'ready',
      error: null,
      filePath: `/models/${name}.gguf`,
      sizeBytes: 99,
      sha256: SHA,
    });
    expect(record.updatedAt.getTime()).toBeGreaterThanOrEqual(record.createdAt.getTime());
  });

  it('clips an error to the column limit', async () => {
    const name = uniqueName('clip');
    await register(name);
    const record = await repository.setStatus(name, 'failed', 'x'.repeat(5000));
    expect(record?.error).toHaveLength(1000);
  });

  it('recovers rows a crash left downloading (registered) or loaded (ready)', async () => {
    const downloading = uniqueName('crash-dl');
    const loaded = uniqueName('crash-loaded');
    await register(downloading);
    await register(loaded);
    await repository.setStatus(downloading, 'downloading');
    await repository.markDownloaded(loaded, { filePath: '/m/x.gguf', sizeBytes: 1, sha256: SHA });
    await repository.setStatus(loaded, 'loaded');
    const counts = await recoverInterruptedDownloads(repository);
    expect(counts.downloads).toBeGreaterThanOrEqual(1);
    expect(counts.loads).toBeGreaterThanOrEqual(1);
    expect(await repository.byName(downloading)).toMatchObject({ status: 'registered' });
    expect((await repository.byName(downloading))?.error).toMatch(/resumes/);
    expect(await repository.byName(loaded)).toMatchObject({ status: 'ready', filePath: '/m/x.gguf' });
  });

  it('deletes an unused model row', async () => {
    const name = uniqueName('del');
    await register(name);
    expect(await repository.delete(name)).toEqual({ removedFromRegistry: true });
    expect(await repository.byName(name)).toBeUndefined();
    expect(await repository.delete(name)).toBeUndefined();
  });

  it('keeps a model that usage refers to, as registered without a file', async () => {
    const name = uniqueName('used');
    const record = await register(name);
    await repository.markDownloaded(name, { filePath: '/m/used.gguf', sizeBytes: 5, sha256: SHA });
    const user = await database.db
      .insertInto('users')
      .values({ username: uniqueName('user'), password_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await database.db
      .insertInto('tokens_used')
      .values({
        event_id: crypto.randomUUID(),
        user_id: user.id,
        model_id: record.id,
        prompt_tokens: 1,
        completion_tokens: 2,
        cost: 9,
        trace_id: null,
      })
      .execute();
    expect(await repository.delete(name)).toEqual({ removedFromRegistry: false });
    expect(await repository.byName(name)).toMatchObject({
      id: record.id,
      status: 'registered',
      filePath: null,
      sha256: SHA,
    });
  });
});
