// run.exec, run.stdin and run.cancel: code runs in a fresh sandbox with the project folder at /workspace.
// Output streams as run.output notifications on a WebSocket (in order, each stream decoded as UTF-8 across chunk
// borders); over HTTP the result carries the captured output instead. Every run is recorded in `runs`.
//
// An interactive run keeps its stdin open: run.stdin from the user who started it writes to the process while it
// runs, `eof` closes it. Opening a project, and finishing a run (the runner refills), leaves a warm container
// for the caller, so the next run skips the container start.
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  isRpcError,
  RpcError,
  type FsEntry,
  type RunLanguage,
  type RunLimits,
  type RunResult,
  type RunSummary,
} from '@cyber/contract';
import type { SandboxRunRequest, SandboxRunResult } from '@cyber/sandbox';
import { defineHandlers, type RpcHandlers } from '@cyber/rpc-server';
import type { BackgroundWork } from './background-work.js';
import { callerOf } from './caller.js';
import type { ProjectAccessGuard } from './project-handlers.js';
import type { ProjectFiles } from './project-files.js';
import type { ProjectRepository } from './project.repository.js';
import type { RunRepository } from './run.repository.js';

/** The part of @cyber/sandbox's SandboxRunner the gateway uses. */
export interface SandboxLike {
  run(request: SandboxRunRequest): Promise<SandboxRunResult>;
  /** Starts a warm container for the owner's next run in a workspace (bounded by the runner's pool size). */
  prewarm?(options: { language: RunLanguage; workspaceDir: string; owner: string }): Promise<void>;
}

/** Sandbox settings of the gateway. */
export interface SandboxDeps {
  /** The runner (production: SandboxRunner from @cyber/sandbox). */
  runner: SandboxLike;
  /** Admin maxima: requested limits above these are lowered to them before the runner sees them. */
  maxima: Required<RunLimits>;
}

/** What the run handlers need. */
export interface RunHandlersDeps {
  sandbox: SandboxDeps;
  guard: ProjectAccessGuard;
  projects: ProjectRepository;
  runs: RunRepository;
  files: ProjectFiles;
  /** Runs in flight, shared with project.delete so deleting a project stops its runs. */
  active: ActiveRuns;
  /** Where a run's bookkeeping that the answer does not wait for goes (re-measuring the project's size). */
  background: BackgroundWork;
}

/** How each runtime runs an entry file. */
const ENTRY_COMMAND: Record<RunLanguage, string> = { node: 'node', python: 'python3', shell: 'sh' };

/** A run in flight on this gateway. */
interface ActiveRun {
  controller: AbortController;
  userId: number;
  projectId: string;
  /** Open stdin of an interactive run; the runner destroys it when the run ends. */
  stdin: PassThrough | undefined;
}

/** Runs in flight on this gateway, so run.cancel, run.stdin and project.delete can reach them. */
export class ActiveRuns {
  readonly #runs = new Map<string, ActiveRun>();

  /** Registers a run; the returned signal aborts on cancel. */
  add(
    runId: string,
    owner: { userId: number; projectId: string; stdin?: PassThrough | undefined },
  ): AbortController {
    const controller = new AbortController();
    this.#runs.set(runId, {
      controller,
      userId: owner.userId,
      projectId: owner.projectId,
      stdin: owner.stdin,
    });
    return controller;
  }

  /** The run if it is in flight here. */
  get(runId: string): Readonly<ActiveRun> | undefined {
    return this.#runs.get(runId);
  }

  /** Forgets a finished run. */
  delete(runId: string): void {
    this.#runs.delete(runId);
  }

  /** Stops a run; false when it is not in flight here. */
  cancel(runId: string): boolean {
    const run = this.#runs.get(runId);
    if (run === undefined) return false;
    run.controller.abort(new RpcError('cancelled'));
    return true;
  }

  /** Stops every run of a project. */
  cancelProject(projectId: string): void {
    for (const [runId, run] of this.#runs) if (run.projectId === projectId) this.cancel(runId);
  }

  /** Stops every run (shutdown). */
  cancelAll(): void {
    for (const runId of [...this.#runs.keys()]) this.cancel(runId);
  }
}

/** Largest decoded run.stdin payload: the contract's 1 MiB of text, or what 1 MiB of base64 decodes to. */
const MAX_STDIN_BYTES = 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeStdin(data: string, encoding: 'utf8' | 'base64'): Buffer {
  if (encoding === 'base64' && (data.length % 4 !== 0 || !BASE64.test(data))) {
    throw new RpcError('invalid_params', { message: 'data is not base64', data: { reason: 'encoding' } });
  }
  const bytes = Buffer.from(data, encoding);
  if (bytes.length > MAX_STDIN_BYTES) {
    throw new RpcError('payload_too_large', {
      message: `At most ${MAX_STDIN_BYTES} bytes of stdin per call`,
      data: { limit: MAX_STDIN_BYTES },
    });
  }
  return bytes;
}

/**
 * Hands `data` to the run's stdin and resolves once the pipe took it (backpressure: a process that does not read
 * holds the answer). Rejects with not_found when the run ends first.
 */
function writeStdin(stdin: PassThrough, data: Buffer, eof: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const flushed = data.length === 0 || stdin.write(data);
    if (eof) stdin.end();
    if (flushed) {
      resolve();
      return;
    }
    const onDrain = (): void => {
      stdin.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      stdin.off('drain', onDrain);
      reject(new RpcError('not_found', { message: 'Run finished before it read its input' }));
    };
    stdin.once('drain', onDrain);
    stdin.once('close', onClose);
  });
}

/** Runtime of a project's first runnable file, by name; undefined when nothing looks runnable. */
function languageOfTree(tree: readonly FsEntry[]): RunLanguage | undefined {
  const files = tree.filter((entry) => entry.type === 'file').map((entry) => entry.path);
  const byName: [RegExp, RunLanguage][] = [
    [/(^|\/)main\.py$/, 'python'],
    [/(^|\/)(index|main)\.m?js$/, 'node'],
    [/\.py$/, 'python'],
    [/\.m?js$/, 'node'],
    [/\.sh$/, 'shell'],
  ];
  for (const [pattern, language] of byName) if (files.some((path) => pattern.test(path))) return language;
  return undefined;
}

/** What project.open answers, as far as prewarming needs it. */
interface OpenedProject {
  project: { id: string; access: 'owner' | 'write' | 'read' };
  tree: FsEntry[];
  recentRuns: RunSummary[];
}

/**
 * Wraps project.open so that opening a project the caller may run code in prewarms a container for them: the
 * language of their latest run in it, else of anyone's, else guessed from the files. Fire and forget: the answer
 * never waits for the engine, and failures go to the runner's background error handler.
 */
export function prewarmOnOpen(
  handlers: RpcHandlers,
  deps: { sandbox: SandboxDeps; files: ProjectFiles },
): RpcHandlers {
  const open = handlers['project.open'];
  const prewarm = deps.sandbox.runner.prewarm?.bind(deps.sandbox.runner);
  if (open === undefined || prewarm === undefined) return handlers;
  return {
    ...handlers,
    'project.open': async (params, ctx) => {
      const opened = await open(params, ctx);
      const caller = callerOf(ctx.identity);
      const { project, recentRuns, tree }: OpenedProject = opened;
      if (caller.role !== 'viewer' && project.access !== 'read') {
        const own = recentRuns.find((run) => run.userId === caller.userId);
        const language = own?.language ?? recentRuns[0]?.language ?? languageOfTree(tree);
        if (language !== undefined) {
          void prewarm({
            language,
            workspaceDir: deps.files.hostPath(project.id),
            owner: String(caller.userId),
          });
        }
      }
      return opened;
    },
  };
}

function clampLimits(requested: RunLimits | undefined, maxima: Required<RunLimits>): RunLimits | undefined {
  if (requested === undefined) return undefined;
  const clamped: RunLimits = {};
  for (const key of Object.keys(requested) as (keyof RunLimits)[]) {
    const value = requested[key];
    if (value !== undefined) clamped[key] = Math.min(value, maxima[key]);
  }
  return clamped;
}

/** Handlers of run.exec, run.stdin and run.cancel. */
export function runHandlers(deps: RunHandlersDeps): RpcHandlers {
  const { sandbox, guard, projects, runs, files, active, background } = deps;

  /** Stores the project's size after a run; a project deleted meanwhile has nothing left to measure. */
  const remeasure = async (projectId: string): Promise<void> => {
    let bytes: number;
    try {
      bytes = await files.usage(projectId);
    } catch (error) {
      if (isRpcError(error, 'not_found')) return;
      throw error;
    }
    await projects.touch(projectId, bytes);
  };

  return defineHandlers()({
    'run.exec': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.writable(params.projectId, caller);
      let command: string[];
      if (params.entry !== undefined) {
        // The entry must be a regular file of the project, reached without links (same rules as fs.*).
        const entry = await files.stat({ projectId: project.id, path: params.entry });
        if (entry.type !== 'file') {
          throw new RpcError('invalid_params', {
            message: `Entry is not a file: ${params.entry}`,
            data: { reason: 'entry_not_a_file' },
          });
        }
        command = [ENTRY_COMMAND[params.language], params.entry, ...params.args];
      } else {
        command = params.command ?? [];
      }

      const runId = randomUUID();
      await runs.start({
        id: runId,
        project_id: project.id,
        user_id: caller.userId,
        language: params.language,
        entry: params.entry ?? null,
        command: params.entry === undefined ? JSON.stringify(command) : null,
      });
      // Interactive: stdin stays open for run.stdin; `stdin` of the call is its first input.
      const stdin = params.interactive ? new PassThrough() : undefined;
      const controller = active.add(runId, { userId: caller.userId, projectId: project.id, stdin });
      const onCallerGone = (): void => controller.abort(new RpcError('cancelled'));
      ctx.signal.addEventListener('abort', onCallerGone, { once: true });
      const streaming = ctx.transport === 'ws';
      let sent: Promise<void> = Promise.resolve();
      let seq = 0;
      const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
      const emit = (stream: 'stdout' | 'stderr', data: string): void => {
        if (data.length === 0) return;
        const notification = { kind: 'output' as const, runId, seq: seq++, stream, data };
        // Chained so chunks leave in order; each waits for the socket to drain (bounded by the output limit).
        sent = sent.then(() => ctx.notify(notification));
      };
      let result: SandboxRunResult;
      try {
        if (streaming) await ctx.notify({ kind: 'started', runId, startedAt: new Date().toISOString() });
        result = await sandbox.runner.run({
          runId,
          language: params.language,
          command,
          workspaceDir: files.hostPath(project.id),
          ...(params.stdin === undefined ? {} : { stdin: params.stdin }),
          ...(stdin === undefined ? {} : { stdinStream: stdin }),
          owner: String(caller.userId),
          ...(params.env === undefined ? {} : { env: params.env }),
          ...(params.limits === undefined ? {} : { limits: clampLimits(params.limits, sandbox.maxima) }),
          signal: controller.signal,
          ...(streaming ? { onOutput: (stream, chunk) => emit(stream, decoders[stream].write(chunk)) } : {}),
        });
        if (streaming) {
          emit('stdout', decoders.stdout.end());
          emit('stderr', decoders.stderr.end());
          await sent.catch(() => undefined);
        }
      } catch (error) {
        // It never ran (engine down, image missing, limits refused): no run to list.
        await runs.remove(runId);
        throw error;
      } finally {
        ctx.signal.removeEventListener('abort', onCallerGone);
        active.delete(runId);
        // The runner destroys it after a run; here also when the run never started.
        stdin?.destroy();
      }
      // The run may have written files: the cached size goes now, so the next write's quota check measures
      // again. The new size is measured after the answer: the walk takes an lstat per file (0.3 s for 5,000
      // files here, seconds with a node_modules), and the caller is waiting for the run, not for the size.
      files.invalidateUsage(project.id);
      background.start(() => remeasure(project.id));
      await runs.finish(runId, {
        verdict: result.verdict,
        exit_code: result.exitCode,
        signal: result.signal,
        wall_ms: result.wallMs,
        cpu_ms: result.cpuMs,
        peak_memory_bytes: result.peakMemoryBytes,
        stdout_bytes: result.stdoutBytes,
        stderr_bytes: result.stderrBytes,
        stdout_truncated: result.stdoutTruncated,
        stderr_truncated: result.stderrTruncated,
        finished_at: result.finishedAt,
      });
      const { stdout, stderr, ...rest } = result;
      const answer: RunResult = { ...rest, runId };
      return streaming ? answer : { ...answer, stdout, stderr };
    },

    'run.stdin': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const run = active.get(params.runId);
      if (run === undefined) {
        throw new RpcError('not_found', { message: 'Run not found or no longer running' });
      }
      if (run.userId !== caller.userId) {
        // Only the user who started it types into it. Whoever cannot see the project learns nothing (not_found).
        await guard.readable(run.projectId, caller);
        throw new RpcError('forbidden', {
          message: 'Only the user who started the run may write to its stdin',
        });
      }
      if (run.stdin === undefined) {
        throw new RpcError('invalid_params', {
          message: 'The run is not interactive: start it with interactive: true',
          data: { reason: 'not_interactive' },
        });
      }
      if (run.stdin.writableEnded || run.stdin.destroyed) {
        throw new RpcError('invalid_params', {
          message: 'stdin of this run is already closed',
          data: { reason: 'stdin_closed' },
        });
      }
      const data = decodeStdin(params.data, params.encoding);
      await writeStdin(run.stdin, data, params.eof);
      return { acceptedBytes: data.length };
    },

    'run.cancel': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const run = await runs.findVisible(params.runId, caller.userId);
      if (run === undefined) throw new RpcError('not_found', { message: 'Run not found' });
      // Whoever started it, or whoever may write the project, may stop it.
      if (run.user_id !== caller.userId) await guard.writable(run.project_id, caller);
      if (run.status === 'finished') return { cancelled: false };
      return { cancelled: active.cancel(run.id) };
    },
  });
}
