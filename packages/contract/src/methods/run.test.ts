import { describe, expect, it } from 'vitest';
import { RunResult, RunVerdict, runMethods } from './run.js';

const projectId = '7f8f1d7c-5c8e-4a61-9a0b-3d2f6f6d9a11';
const exec = runMethods['run.exec'].params;

describe('run.exec params', () => {
  it('runs either an entry file or a command, never both or neither', () => {
    expect(exec.safeParse({ projectId, language: 'python', entry: 'main.py' }).success).toBe(true);
    expect(exec.safeParse({ projectId, language: 'shell', command: ['sh', '-c', 'ls'] }).success).toBe(true);
    expect(exec.safeParse({ projectId, language: 'python' }).success).toBe(false);
    expect(
      exec.safeParse({ projectId, language: 'python', entry: 'main.py', command: ['python3'] }).success,
    ).toBe(false);
  });

  it('refuses an unknown language', () => {
    expect(exec.safeParse({ projectId, language: 'cobol', entry: 'main.cob' }).success).toBe(false);
  });

  it('refuses negative, zero and absurd limits and unknown limit keys', () => {
    const run = (limits: unknown) => exec.safeParse({ projectId, language: 'node', entry: 'a.js', limits });
    expect(run({ wallMs: 5000, memoryBytes: 256 * 1024 * 1024, pids: 64 }).success).toBe(true);
    expect(run({ wallMs: -1 }).success).toBe(false);
    expect(run({ pids: 0 }).success).toBe(false);
    expect(run({ memoryBytes: 1.5 }).success).toBe(false);
    expect(run({ outputBytes: 2 ** 40 }).success).toBe(false);
    expect(run({ network: true }).success).toBe(false);
  });

  it('refuses environment names that are not identifiers', () => {
    const run = (env: unknown) => exec.safeParse({ projectId, language: 'node', entry: 'a.js', env });
    expect(run({ NODE_ENV: 'test' }).success).toBe(true);
    expect(run({ 'LD_PRELOAD=x': 'y' }).success).toBe(false);
    expect(run({ 'A B': 'y' }).success).toBe(false);
  });
});

describe('run results', () => {
  it('knows exactly the verdicts the sandbox can give', () => {
    expect(RunVerdict.options).toEqual(['ok', 'error', 'timeout', 'memory', 'output_limit', 'cancelled']);
  });

  it('parses a typed result of a killed run', () => {
    const result = {
      runId: '0b6f0a44-8d7e-4f43-9a3e-2a7d7a1c1f00',
      verdict: 'memory',
      exitCode: null,
      signal: 'SIGKILL',
      wallMs: 812,
      cpuMs: 790,
      peakMemoryBytes: 268_435_456,
      stdoutBytes: 0,
      stderrBytes: 0,
      stdoutTruncated: false,
      stderrTruncated: false,
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:00.812Z',
    };
    expect(RunResult.parse(result)).toEqual(result);
    expect(RunResult.safeParse({ ...result, verdict: 'killed' }).success).toBe(false);
  });

  it('streams run.output with a started event first, then ordered chunks', () => {
    const stream = runMethods['run.exec'].stream;
    if (!stream) throw new Error('expected a streaming method');
    expect(stream.method).toBe('run.output');
    const runId = '0b6f0a44-8d7e-4f43-9a3e-2a7d7a1c1f00';
    expect(
      stream.params.safeParse({ kind: 'started', runId, startedAt: '2025-01-01T00:00:00Z' }).success,
    ).toBe(true);
    expect(
      stream.params.safeParse({ kind: 'output', runId, seq: 0, stream: 'stdout', data: '1\n' }).success,
    ).toBe(true);
    expect(
      stream.params.safeParse({ kind: 'output', runId, seq: 0, stream: 'stdlog', data: '' }).success,
    ).toBe(false);
  });
});
