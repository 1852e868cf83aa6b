// run.exec through the gateway against the real Docker engine and the images sandbox-images/build.sh makes.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type RunOutput } from '@cyber/contract';
import { createWsClient } from '@cyber/rpc-client';
import {
  DEFAULT_IMAGES,
  DEFAULT_LIMITS,
  DEFAULT_PROFILE_PATH,
  SANDBOX_LABEL,
  SandboxRunner,
} from '@cyber/sandbox';
import Docker from 'dockerode';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
let docker: Docker;
let dev: TestUser;
let projectId: string;

beforeAll(async () => {
  const socketPath = process.env.CYBER_DOCKER_SOCKET;
  if (!socketPath) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
  docker = new Docker({ socketPath });
  runner = SandboxRunner.start({
    docker,
    profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
    defaults: { ...DEFAULT_LIMITS, ...MAXIMA, wallMs: 10_000, tmpBytes: 16 * MiB },
    maxima: { ...DEFAULT_LIMITS, ...MAXIMA, tmpBytes: 16 * MiB },
    // One warm container per language: project.open and finished runs prewarm; other runs go cold.
    warmPoolSize: 1,
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

/** Echoes each line of stdin as it arrives and says bye at EOF. */
const INTERACTIVE_ECHO =
  "import sys\nprint('ready', flush=True)\nfor line in iter(sys.stdin.readline, ''):\n  print('echo:' + line.strip(), flush=True)\nprint('bye')";

/** Polls `condition` every 10 ms for up to 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The app's WebSocket URL, listening on loopback on first use. */
async function wsUrl(): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/rpc`;
}

/** Starts an interactive echo run over a WebSocket as `user`; resolves once the program is reading. */
async function startInteractive(user: TestUser): Promise<{
  runId: string;
  output: () => string;
  notes: RunOutput[];
  result: Promise<{ verdict: string; exitCode: number | null }>;
  close: () => void;
}> {
  const client = createWsClient({ url: await wsUrl(), WebSocket, credentials: { bearer: user.token } });
  const notes: RunOutput[] = [];
  let out = '';
  let started: (runId: string) => void = () => undefined;
  const runIdKnown = new Promise<string>((resolve) => (started = resolve));
  const result = client.call(
    'run.exec',
    { projectId, language: 'python', command: ['python3', '-c', INTERACTIVE_ECHO], interactive: true },
    {
      onNotification: (note) => {
        notes.push(note);
        if (note.kind === 'started') started(note.runId);
        else out += note.data;
      },
    },
  );
  const runId = await runIdKnown;
  await until(() => out.includes('ready\n'));
  return { runId, output: () => out, notes, result, close: () => client.close() };
}

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

  it("answers before the project's size is measured again, and the size follows", async () => {
    const { id } = await t.call<{ id: string }>('project.create', { name: 'sized', template: 'empty' }, dev);
    const script = "open('made.bin', 'wb').write(b'x' * 5000)\n";
    await t.call('fs.write', { projectId: id, path: 'main.py', content: script }, dev);
    const sizeOf = async (): Promise<number> =>
      (await t.call<{ project: { sizeBytes: number } }>('project.open', { projectId: id }, dev)).project
        .sizeBytes;
    expect(await sizeOf()).toBe(script.length);
    // A transaction holds the project's row, so the size's UPDATE waits for it in PostgreSQL (the run's own
    // rows only take a key-share lock on it, which this lock lets through).
    const { db } = t.database;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = (): void => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const holder = db.transaction().execute(async (trx) => {
      await trx.selectFrom('projects').select('id').where('id', '=', id).forNoKeyUpdate().execute();
      holding();
      await released;
    });
    const sizeUpdatesWaiting = async (): Promise<number> => {
      const { rows } = await sql<{ waiting: number }>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'update "projects"%'
      `.execute(db);
      return rows[0]?.waiting ?? 0;
    };
    await held;
    const answer = t.call<ExecResult>(
      'run.exec',
      { projectId: id, language: 'python', entry: 'main.py' },
      dev,
    );
    // A handler that waits for the size would wait for this test's lock: fail after 10 s, then let it go,
    // instead of hanging the suite.
    let timer: NodeJS.Timeout | undefined;
    const tooLate = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('run.exec waited for the size update')), 10_000);
    });
    try {
      expect(await Promise.race([answer, tooLate])).toMatchObject({ verdict: 'ok', exitCode: 0 });
      await vi.waitFor(async () => expect(await sizeUpdatesWaiting()).toBe(1));
      expect(await sizeOf()).toBe(script.length);
    } finally {
      clearTimeout(timer);
      release();
      await holder;
      await answer.catch(() => undefined);
    }
    await t.background.settled();
    expect(await sizeOf()).toBe(script.length + 5000);
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
    const url = await wsUrl();
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

  it('refuses an entry that is missing or not a file', async () => {
    const noEntry = await t.rpc('run.exec', { projectId, language: 'python', entry: 'missing.py' }, dev);
    expect(noEntry.error?.code).toBe(-32003);
    const linked = await t.rpc('run.exec', { projectId, language: 'python', entry: 'leak' }, dev);
    expect(linked.error).toMatchObject({ code: -32602, data: { reason: 'entry_not_a_file' } });
  });
});

describe('run.stdin', () => {
  it('delivers two messages (text, then base64) and EOF to a running program, output streamed in order', async () => {
    const run = await startInteractive(dev);
    try {
      expect(await t.call('run.stdin', { runId: run.runId, data: 'one\n' }, dev)).toEqual({
        acceptedBytes: 4,
      });
      // Answered before the next line is sent: the program reads while it runs.
      await until(() => run.output().includes('echo:one\n'));
      const two = Buffer.from('two\n').toString('base64');
      expect(await t.call('run.stdin', { runId: run.runId, data: two, encoding: 'base64' }, dev)).toEqual({
        acceptedBytes: 4,
      });
      await until(() => run.output().includes('echo:two\n'));
      expect(await t.call('run.stdin', { runId: run.runId, eof: true }, dev)).toEqual({ acceptedBytes: 0 });
      expect(await run.result).toMatchObject({ verdict: 'ok', exitCode: 0 });
      expect(run.output()).toBe('ready\necho:one\necho:two\nbye\n');
      const chunks = run.notes.flatMap((n) => (n.kind === 'output' ? [n] : []));
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      // The run is over: its stdin is gone.
      expect((await t.rpc('run.stdin', { runId: run.runId, data: 'late\n' }, dev)).error?.code).toBe(-32003);
    } finally {
      run.close();
    }
  });

  it("only the run's owner may write: members get forbidden, strangers not_found, viewers forbidden", async () => {
    const writer = await t.user('developer');
    const stranger = await t.user('developer');
    const viewer = await t.user('viewer');
    await t.call('project.members.set', { projectId, userId: writer.id, access: 'write' }, dev);
    await t.call('project.members.set', { projectId, userId: viewer.id, access: 'read' }, dev);
    const run = await startInteractive(dev);
    try {
      const write = { runId: run.runId, data: 'intruder\n' };
      expect((await t.rpc('run.stdin', write, writer)).error?.code).toBe(-32002);
      expect((await t.rpc('run.stdin', write, viewer)).error?.code).toBe(-32002);
      expect((await t.rpc('run.stdin', write, stranger)).error?.code).toBe(-32003);
      expect((await t.rpc('run.stdin', { runId: randomUUID(), data: 'x' }, dev)).error?.code).toBe(-32003);
      // Input that is not base64, and input after EOF, are refused.
      const bad = await t.rpc('run.stdin', { runId: run.runId, data: '***', encoding: 'base64' }, dev);
      expect(bad.error).toMatchObject({ code: -32602, data: { reason: 'encoding' } });
      await t.call('run.stdin', { runId: run.runId, eof: true }, dev);
      const closed = await t.rpc('run.stdin', { runId: run.runId, data: 'x' }, dev);
      expect(closed.error).toMatchObject({ code: -32602, data: { reason: 'stdin_closed' } });
      expect(await run.result).toMatchObject({ verdict: 'ok' });
      // Nobody else's bytes reached the program.
      expect(run.output()).toBe('ready\nbye\n');
    } finally {
      run.close();
    }
  });

  it('refuses stdin to a run that is not interactive', async () => {
    const client = createWsClient({ url: await wsUrl(), WebSocket, credentials: { bearer: dev.token } });
    try {
      let started: (runId: string) => void = () => undefined;
      const runIdKnown = new Promise<string>((resolve) => (started = resolve));
      const running = client.call(
        'run.exec',
        { projectId, language: 'shell', command: ['sleep', '30'] },
        { onNotification: (note) => note.kind === 'started' && started(note.runId) },
      );
      const runId = await runIdKnown;
      const refused = await t.rpc('run.stdin', { runId, data: 'x' }, dev);
      expect(refused.error).toMatchObject({ code: -32602, data: { reason: 'not_interactive' } });
      await client.call('run.cancel', { runId });
      expect((await running).verdict).toBe('cancelled');
    } finally {
      client.close();
    }
  });
});

describe('prewarm', () => {
  it('project.open prewarms a container for a developer who may run, not for a viewer', async () => {
    const opener = await t.user('developer');
    const viewer = await t.user('viewer');
    const { id } = await t.call<{ id: string }>(
      'project.create',
      { name: 'warm', template: 'python' },
      opener,
    );
    await t.call('project.members.set', { projectId: id, userId: viewer.id, access: 'read' }, opener);
    const workspace = `${t.projectsDir}/${id}`;
    const warmFor = async (): Promise<number> => {
      await runner.settled();
      const warm = await docker.listContainers({
        all: true,
        filters: { label: [`${SANDBOX_LABEL}=warm`], ancestor: [DEFAULT_IMAGES.python] },
      });
      return warm.filter((c) => c.Mounts.some((m) => m.Source === workspace)).length;
    };
    await t.call('project.open', { projectId: id }, viewer);
    expect(await warmFor()).toBe(0);
    await t.call('project.open', { projectId: id }, opener);
    expect(await warmFor()).toBe(1);
    // A run uses it, and the finished run leaves a fresh one for the next.
    const result = await t.call<ExecResult>(
      'run.exec',
      { projectId: id, language: 'python', entry: 'main.py' },
      opener,
    );
    expect(result.verdict).toBe('ok');
    expect(await warmFor()).toBe(1);
  });
});
