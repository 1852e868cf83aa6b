// run.exec through the gateway against the real Docker engine and the images sandbox-images/build.sh makes.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type RunOutput } from '@cyber/contract';
import { createWsClient } from '@cyber/rpc-client';
import { DEFAULT_LIMITS, DEFAULT_PROFILE_PATH, SandboxRunner } from '@cyber/sandbox';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp, type TestUser } from './test-app.js';

const MiB = 1024 * 1024;
const MAXIMA = {
  wallMs: 20_000,
  cpuMs: 20_000,
  memoryBytes: 256 * MiB,
  pids: 64,
  openFiles: 256,
  fileSizeBytes: 8 * MiB,
  outputBytes: 1 * MiB,
};

let t: TestApp;
let runner: SandboxRunner;
let dev: TestUser;
let projectId: string;

beforeAll(async () => {
  const socketPath = process.env.CYBER_DOCKER_SOCKET;
  if (!socketPath) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
  runner = SandboxRunner.start({
    docker: new Docker({ socketPath }),
    profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
    defaults: { ...DEFAULT_LIMITS, ...MAXIMA, wallMs: 10_000, tmpBytes: 16 * MiB },
    maxima: { ...DEFAULT_LIMITS, ...MAXIMA, tmpBytes: 16 * MiB },
  });
  t = await startTestApp({ sandbox: { runner, maxima: MAXIMA } });
  dev = await t.user('developer');
  ({ id: projectId } = await t.call<{ id: string }>(
    'project.create',
    { name: 'runs', template: 'python' },
    dev,
  ));
}, 120_000);

afterAll(async () => {
  await t.close();
  await runner.close();
});

interface ExecResult {
  runId: string;
  verdict: string;
  exitCode: number | null;
  stdout?: string;
  stderr?: string;
}

describe('run.exec', () => {
  it('runs the entry over HTTP, returns captured output, records the run, and its files appear', async () => {
    await t.call(
      'fs.write',
      { projectId, path: 'main.py', content: "print('hi')\nopen('out.txt', 'w').write('made in sandbox')\n" },
      dev,
    );
    // Limits above the admin maxima are lowered to them, not refused.
    const result = await t.call<ExecResult>(
      'run.exec',
      { projectId, language: 'python', entry: 'main.py', limits: { wallMs: 3_600_000 } },
      dev,
    );
    expect(result).toMatchObject({ verdict: 'ok', exitCode: 0, stdout: 'hi\n', stderr: '' });
    const file = await t.call<{ content: string }>('fs.read', { projectId, path: 'out.txt' }, dev);
    expect(file.content).toBe('made in sandbox');
    const list = await t.call<{ items: { runId: string; verdict: string; status: string }[] }>(
      'run.list',
      { projectId },
      dev,
    );
    expect(list.items[0]).toMatchObject({ runId: result.runId, verdict: 'ok', status: 'finished' });
  });

  it('a symlink the run creates is refused by fs.* afterwards', async () => {
    const result = await t.call<ExecResult>(
      'run.exec',
      { projectId, language: 'shell', command: ['sh', '-c', 'ln -s /etc/passwd leak && ln -s / root'] },
      dev,
    );
    expect(result.verdict).toBe('ok');
    expect((await t.rpc('fs.read', { projectId, path: 'leak' }, dev)).error).toMatchObject({
      code: -32602,
      data: { reason: 'symlink' },
    });
    expect((await t.rpc('fs.read', { projectId, path: 'root/etc/passwd' }, dev)).error).toMatchObject({
      code: -32602,
      data: { reason: 'symlink' },
    });
  });

  it('streams run.output in order over the WebSocket and cancels with run.cancel', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/rpc`;
    const client = createWsClient({ url, WebSocket, credentials: { bearer: dev.token } });
    try {
      const notes: RunOutput[] = [];
      const result = await client.call(
        'run.exec',
        {
          projectId,
          language: 'shell',
          command: ['sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done'],
        },
        { onNotification: (note) => notes.push(note) },
      );
      expect(result).toMatchObject({ verdict: 'ok', exitCode: 0 });
      expect(result.stdout).toBeUndefined();
      expect(notes[0]).toMatchObject({ kind: 'started', runId: result.runId });
      const chunks = notes.flatMap((n) => (n.kind === 'output' ? [n] : []));
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      const text = (stream: string): string =>
        chunks
          .filter((c) => c.stream === stream)
          .map((c) => c.data)
          .join('');
      expect(text('stdout')).toBe('out1\nout2\nout3\n');
      expect(text('stderr')).toBe('err1\nerr2\nerr3\n');

      let started: (runId: string) => void = () => undefined;
      const runIdKnown = new Promise<string>((resolve) => (started = resolve));
      const long = client.call(
        'run.exec',
        { projectId, language: 'shell', command: ['sleep', '30'] },
        { onNotification: (note) => note.kind === 'started' && started(note.runId) },
      );
      const runId = await runIdKnown;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await client.call('run.cancel', { runId })).toEqual({ cancelled: true });
      expect((await long).verdict).toBe('cancelled');
      expect(await client.call('run.cancel', { runId })).toEqual({ cancelled: false });
    } finally {
      client.close();
    }
  });

  it('viewers and read-only members cannot run; strangers get not_found', async () => {
    const viewer = await t.user('viewer');
    const reader = await t.user('developer');
    const stranger = await t.user('developer');
    await t.call('project.members.set', { projectId, userId: viewer.id, access: 'read' }, dev);
    await t.call('project.members.set', { projectId, userId: reader.id, access: 'read' }, dev);
    const params = { projectId, language: 'python', entry: 'main.py' };
    expect((await t.rpc('run.exec', params, viewer)).error?.code).toBe(-32002);
    expect((await t.rpc('run.exec', params, reader)).error?.code).toBe(-32002);
    expect((await t.rpc('run.exec', params, stranger)).error?.code).toBe(-32003);
    expect(
      (await t.call<{ items: unknown[] }>('run.list', { projectId }, reader)).items.length,
    ).toBeGreaterThan(0);
  });

  it('refuses interactive runs and an entry that is not a file', async () => {
    const interactive = await t.rpc(
      'run.exec',
      { projectId, language: 'python', entry: 'main.py', interactive: true },
      dev,
    );
    expect(interactive.error).toMatchObject({ code: -32602, data: { reason: 'interactive_unsupported' } });
    const noEntry = await t.rpc('run.exec', { projectId, language: 'python', entry: 'missing.py' }, dev);
    expect(noEntry.error?.code).toBe(-32003);
    const linked = await t.rpc('run.exec', { projectId, language: 'python', entry: 'leak' }, dev);
    expect(linked.error).toMatchObject({ code: -32602, data: { reason: 'entry_not_a_file' } });
  });
});
