import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import {
  Count,
  pageOf,
  pageParams,
  ProjectId,
  ProjectPath,
  RunId,
  Timestamp,
  UserId,
} from '../schemas/common.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Sandbox runtimes; each has its own image built from `sandbox-images/`. */
export const RunLanguage = z.enum(['node', 'python', 'shell']).describe('Runtime image of the sandbox.');
/** Runtime type. */
export type RunLanguage = z.infer<typeof RunLanguage>;

/** How a run ended. */
export const RunVerdict = z
  .enum(['ok', 'error', 'timeout', 'memory', 'output_limit', 'cancelled'])
  .describe(
    'ok: exit 0; error: non-zero exit or killed by a signal; timeout: wall or CPU limit; memory: OOM-killed; ' +
      'output_limit: captured output limit reached; cancelled: by run.cancel or a dropped client.',
  );
/** Verdict type. */
export type RunVerdict = z.infer<typeof RunVerdict>;

/**
 * Limits a caller may ask for. The ranges here are absolute sanity bounds; the server clamps to (or refuses
 * above) the admin-configured maxima, and fills omitted ones from its defaults.
 */
export const RunLimits = z
  .strictObject({
    wallMs: z.number().int().min(100).max(3_600_000).optional().describe('Wall-clock limit in ms.'),
    cpuMs: z.number().int().min(100).max(3_600_000).optional().describe('CPU time limit in ms.'),
    memoryBytes: z
      .number()
      .int()
      .min(16 * MiB)
      .max(64 * GiB)
      .optional()
      .describe('Memory limit in bytes (no swap).'),
    pids: z.number().int().min(1).max(4096).optional().describe('Most processes and threads.'),
    openFiles: z.number().int().min(16).max(65_536).optional().describe('Most open file descriptors.'),
    fileSizeBytes: z
      .number()
      .int()
      .min(KiB)
      .max(16 * GiB)
      .optional()
      .describe('Largest file the run may write.'),
    outputBytes: z
      .number()
      .int()
      .min(KiB)
      .max(GiB)
      .optional()
      .describe('Captured stdout + stderr; the run is stopped with verdict output_limit past it.'),
  })
  .describe('Resource limits, each within the admin maxima.');
/** Run limits type. */
export type RunLimits = z.infer<typeof RunLimits>;

/** Which output stream a chunk came from. */
export const OutputStream = z.enum(['stdout', 'stderr']);

/** The typed outcome of `run.exec`. */
export const RunResult = z.object({
  runId: RunId,
  verdict: RunVerdict,
  exitCode: z
    .number()
    .int()
    .nullable()
    .describe('Exit status; null when the process was killed by a signal.'),
  signal: z
    .string()
    .max(16)
    .nullable()
    .describe('Signal that ended the process, e.g. SIGKILL; null otherwise.'),
  wallMs: Count.describe('Wall-clock time in ms.'),
  cpuMs: Count.describe('User + system CPU time in ms.'),
  peakMemoryBytes: Count,
  stdoutBytes: Count.describe('Bytes written to stdout (including any not captured).'),
  stderrBytes: Count,
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
  stdout: z.string().optional().describe('Captured stdout, when the call did not stream it (HTTP).'),
  stderr: z.string().optional().describe('Captured stderr, when the call did not stream it (HTTP).'),
  startedAt: Timestamp,
  finishedAt: Timestamp,
});
/** Run result type. */
export type RunResult = z.infer<typeof RunResult>;

/** A `run.output` notification: first `started` (so the caller learns the run id), then output chunks in order. */
export const RunOutput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), runId: RunId, startedAt: Timestamp }),
  z.object({
    kind: z.literal('output'),
    runId: RunId,
    seq: Count.describe('Position of this chunk across both streams, from 0, so interleaving is kept.'),
    stream: OutputStream,
    data: z.string().describe('UTF-8 text; invalid byte sequences are replaced with U+FFFD.'),
  }),
]);
/** Run output notification type. */
export type RunOutput = z.infer<typeof RunOutput>;

/** One run in a listing. */
export const RunSummary = z.object({
  runId: RunId,
  projectId: ProjectId,
  userId: UserId,
  language: RunLanguage,
  entry: ProjectPath.nullable(),
  command: z.array(z.string()).nullable(),
  status: z.enum(['running', 'finished']),
  verdict: RunVerdict.nullable().describe('Null while running.'),
  exitCode: z.number().int().nullable(),
  wallMs: Count.nullable(),
  startedAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});
/** Run summary type. */
export type RunSummary = z.infer<typeof RunSummary>;

const Arg = z.string().max(4096);

/** Code execution in the project's sandbox. */
export const runMethods = {
  'run.exec': defineMethod({
    description:
      'Runs a file (`entry`) or a command in a fresh sandbox with the project at /workspace. Over the WebSocket ' +
      'output streams as run.output; over HTTP the result carries the captured output.',
    access: 'developer',
    params: z
      .strictObject({
        projectId: ProjectId,
        language: RunLanguage,
        entry: ProjectPath.optional().describe('File the runtime runs, e.g. main.py.'),
        command: z
          .array(Arg)
          .min(1)
          .max(256)
          .optional()
          .describe('argv run as-is in the runtime image, e.g. ["sh", "-c", "make test"].'),
        args: z.array(Arg).max(256).default([]).describe('Arguments after `entry`.'),
        stdin: z
          .string()
          .max(1024 * 1024)
          .optional()
          .describe('Text written to stdin at start.'),
        interactive: z
          .boolean()
          .default(false)
          .describe('Keep stdin open for run.stdin; otherwise it closes after `stdin`.'),
        env: z
          .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(4096))
          .refine((env) => Object.keys(env).length <= 64, 'at most 64 variables')
          .optional()
          .describe('Extra environment variables.'),
        limits: RunLimits.optional(),
      })
      .refine(
        (p) => (p.entry === undefined) !== (p.command === undefined),
        'give exactly one of entry or command',
      )
      .refine(
        (p) => p.command === undefined || p.args.length === 0,
        'args go with entry; put them in command',
      ),
    result: RunResult,
    stream: { method: 'run.output', params: RunOutput },
  }),
  'run.stdin': defineMethod({
    description:
      'Writes to the stdin of an interactive run the caller started; `eof` closes it. Answers when the bytes ' +
      'were handed to the sandbox (a process that does not read holds the answer until it exits).',
    access: 'developer',
    params: z.strictObject({
      runId: RunId,
      data: z
        .string()
        .max(1024 * 1024)
        .default(''),
      encoding: z
        .enum(['utf8', 'base64'])
        .default('utf8')
        .describe('How `data` is encoded: UTF-8 text, or base64 for binary input.'),
      eof: z.boolean().default(false),
    }),
    result: z.object({ acceptedBytes: Count }),
  }),
  'run.cancel': defineMethod({
    description: 'Stops a run; its result has verdict cancelled. False when it had already finished.',
    access: 'developer',
    params: z.strictObject({ runId: RunId }),
    result: z.object({ cancelled: z.boolean() }),
  }),
  'run.list': defineMethod({
    description: 'Recent runs the caller may see, newest first, optionally of one project.',
    access: 'viewer',
    params: z
      .strictObject({
        ...pageParams,
        projectId: ProjectId.optional(),
        status: z.enum(['running', 'finished']).optional(),
      })
      .prefault({}),
    result: pageOf(RunSummary),
  }),
} as const;
