// Prewarming on the real engine: a warm container serves only the workspace and owner it was started for, the
// pool stays within its size, and a finished run leaves a fresh container for the next one. Also the cancel that
// races with container creation.
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_LABEL } from '../src/index.ts';
import { dockerClient, makeWorkspace, testRunner } from './sandbox-harness.ts';

const docker = dockerClient();
const PRINT = ['python3', '-c', 'print(1)'];

describe('prewarm', () => {
  const runner = testRunner({ docker, warmPoolSize: 1 });
  const first = makeWorkspace();
  const second = makeWorkspace();

  afterAll(async () => {
    await runner.close();
    first.cleanup();
    second.cleanup();
  });

  it('serves a prewarmed container only to its owner in its workspace, then refills it', async () => {
    await runner.prewarm({ language: 'python', workspaceDir: first.dir, owner: 'alice' });
    expect(runner.warmIdle).toBe(1);

    // Another member of the same project, and the owner in another workspace, both run cold.
    const bob = await runner.run({
      language: 'python',
      command: PRINT,
      workspaceDir: first.dir,
      owner: 'bob',
    });
    expect(bob).toMatchObject({ verdict: 'ok', stdout: '1\n', path: 'cold' });
    await runner.settled();
    const elsewhere = await runner.run({
      language: 'python',
      command: PRINT,
      workspaceDir: second.dir,
      owner: 'alice',
    });
    expect(elsewhere.path).toBe('cold');
    await runner.settled();

    // The pool holds one python container: the refills after those runs evicted alice's. Prewarm it again.
    await runner.prewarm({ language: 'python', workspaceDir: first.dir, owner: 'alice' });
    const alice = await runner.run({
      language: 'python',
      command: PRINT,
      workspaceDir: first.dir,
      owner: 'alice',
    });
    expect(alice).toMatchObject({ verdict: 'ok', stdout: '1\n', path: 'warm' });

    // The finished run refilled the pool for alice; a second one is warm again without a prewarm call.
    await runner.settled();
    expect(runner.warmIdle).toBe(1);
    const again = await runner.run({
      language: 'python',
      command: PRINT,
      workspaceDir: first.dir,
      owner: 'alice',
    });
    expect(again.path).toBe('warm');
    await runner.settled();
  });

  it('keeps at most the pool size of idle containers per language', async () => {
    for (const owner of ['a', 'b', 'c']) {
      await runner.prewarm({ language: 'shell', workspaceDir: second.dir, owner });
    }
    await runner.settled();
    const shells = await docker.listContainers({
      all: true,
      filters: { label: [`${SANDBOX_LABEL}=warm`], ancestor: ['cyber-sandbox-shell:bookworm'] },
    });
    expect(shells.length).toBe(1);
  });

  it('a cancel that arrives while the container is being created stops the run at once', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    const running = runner.run({
      language: 'shell',
      command: ['sleep', '30'],
      workspaceDir: second.dir,
      mode: 'cold',
      signal: controller.signal,
    });
    controller.abort();
    expect((await running).verdict).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  it('does not refill after a run with its own limits (only default limits are pooled)', async () => {
    await runner.settled();
    const before = runner.warmIdle;
    const result = await runner.run({
      language: 'node',
      command: ['node', '-e', 'console.log(2)'],
      workspaceDir: second.dir,
      owner: 'carol',
      limits: { memoryBytes: 64 * 1024 * 1024 },
    });
    expect(result).toMatchObject({ verdict: 'ok', stdout: '2\n' });
    await runner.settled();
    expect(runner.warmIdle).toBe(before);
  });
});
