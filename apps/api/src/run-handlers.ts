// run.exec and run.cancel: code runs in a fresh sandbox with the project folder at /workspace. Output streams
// as run.output notifications on a WebSocket (in order, each stream decoded as UTF-8 across chunk borders);
// over HTTP the result carries the captured output instead. Every run is recorded in `runs`.
//
// run.stdin is not served (answers method_not_found): the SandboxRunner takes stdin only at start and closes
// it, so `interactive: true` is refused with invalid_params rather than pretending stdin stays open.
import { randomUUID } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { RpcError, type RunLanguage, type RunLimits, type RunResult } from '@cyber/contract';
import type { SandboxRunRequest, SandboxRunResult } from '@cyber/sandbox';
import { defineHandlers, type RpcHandlers } from '@cyber/rpc-server';
import { callerOf } from './caller.js';
import type { ProjectAccessGuard } from './project-handlers.js';
import type { ProjectFiles } from './project-files.js';
import type { ProjectRepository } from './project.repository.js';
import type { RunRepository } from './run.repository.js';

/** The part of @cyber/sandbox's SandboxRunner the gateway uses. */
export interface SandboxLike {
  run(request: SandboxRunRequest): Promise<SandboxRunResult>;
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
}

/** How each runtime runs an entry file. */
const ENTRY_COMMAND: Record<RunLanguage, string> = { node: 'node', python: 'python3', shell: 'sh' };

/** Runs in flight on this gateway, so run.cancel and project.delete can stop them. */
export class ActiveRuns {
  readonly #runs = new Map<string, { controller: AbortController; userId: number; projectId: string }>();

  /** Registers a run; the returned signal aborts on cancel. */
  add(runId: string, owner: { userId: number; projectId: string }): AbortController {
    const controller = new AbortController();
    this.#runs.set(runId, { controller, ...owner });
    return controller;
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

function clampLimits(requested: RunLimits | undefined, maxima: Required<RunLimits>): RunLimits | undefined {
  if (requested === undefined) return undefined;
  const clamped: RunLimits = {};
  for (const key of Object.keys(requested) as (keyof RunLimits)[]) {
    const value = requested[key];
    if (value !== undefined) clamped[key] = Math.min(value, maxima[key]);
  }
  return clamped;
}

/** Handlers of run.exec and run.cancel. */
export function runHandlers(deps: RunHandlersDeps): RpcHandlers {
  const { sandbox, guard, projects, runs, files, active } = deps;

  return defineHandlers()({
    'run.exec': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      const project = await guard.writable(params.projectId, caller);
      if (params.interactive) {
        throw new RpcError('invalid_params', {
          message: 'Interactive runs are not supported yet: pass stdin with the call',
          data: { reason: 'interactive_unsupported' },
        });
      }
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
      const controller = active.add(runId, { userId: caller.userId, projectId: project.id });
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
      }
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
      // The run may have written files: measure again.
      files.invalidateUsage(project.id);
      await projects.touch(project.id, await files.usage(project.id));
      const { stdout, stderr, ...rest } = result;
      const answer: RunResult = { ...rest, runId };
      return streaming ? answer : { ...answer, stdout, stderr };
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
