import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

let t: TestApp;
let dev: TestUser;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  dev = await t.user('developer');
  ({ id: projectId } = await t.call<{ id: string }>('project.create', { name: 'race' }, dev));
});
afterAll(async () => {
  await t.close();
});

it('50 parallel writes with the same expected version: exactly one wins, the rest conflict, no torn file', async () => {
  const base = await t.call<{ version: string }>(
    'fs.write',
    { projectId, path: 'shared.txt', content: 'base' },
    dev,
  );
  // Contents of different lengths, so a mix of two writers could not pass for either.
  const contents = Array.from({ length: 50 }, (_, i) => `writer ${i} `.repeat(100 + i * 37));
  const responses = await Promise.all(
    contents.map((content) =>
      t.rpc('fs.write', { projectId, path: 'shared.txt', content, expectedVersion: base.version }, dev),
    ),
  );
  const winners = responses.filter((r) => r.error === undefined);
  const conflicts = responses.filter((r) => r.error?.code === -32004);
  expect(winners).toHaveLength(1);
  expect(conflicts).toHaveLength(49);
  const winner = winners[0]?.result as { version: string };
  for (const conflict of conflicts) expect(conflict.error?.data?.currentVersion).toBe(winner.version);
  const onDisk = await readFile(join(t.projectsDir, projectId, 'shared.txt'), 'utf8');
  expect(contents).toContain(onDisk);
  const read = await t.call<{ content: string; version: string }>(
    'fs.read',
    { projectId, path: 'shared.txt' },
    dev,
  );
  expect(read).toEqual(expect.objectContaining({ content: onDisk, version: winner.version }));
  // No temporary file left behind by the losers.
  expect(await readdir(join(t.projectsDir, projectId))).toEqual(['shared.txt']);
});

it('50 parallel unconditional writes leave exactly one writer’s content', async () => {
  const contents = Array.from({ length: 50 }, (_, i) => `${i}:`.repeat(500 + i * 91));
  const responses = await Promise.all(
    contents.map((content) => t.rpc('fs.write', { projectId, path: 'last.txt', content }, dev)),
  );
  expect(responses.every((r) => r.error === undefined)).toBe(true);
  expect(contents).toContain(await readFile(join(t.projectsDir, projectId, 'last.txt'), 'utf8'));
});
