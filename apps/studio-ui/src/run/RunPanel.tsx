// Runs the open file or a command in the project's sandbox and streams its output: stdout and stderr in their
// own colours, ANSI colours rendered as styled text (never as HTML), stdin given at start or typed while the
// program runs (interactive runs keep stdin open until EOF is sent), cancel, the verdict with exit code, times and
// memory at the end, and the recent runs.
import type { Project, RunLanguage, RunResult, RunSummary } from '@cyber/contract';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useRpc } from '../rpc/RpcProvider.tsx';
import { errorText } from '../rpc/error-text.ts';
import { AnsiStream, type AnsiSegment } from './ansi.ts';

/** Props of {@link RunPanel}. */
export interface RunPanelProps {
  project: Project;
  /** The file open in the editor, if any. */
  activePath: string | undefined;
  /** Runtime that runs the open file, when known from its extension. */
  activeRuntime: RunLanguage | undefined;
  /** False for viewers and read-only members: no run controls at all. */
  canRun: boolean;
  /** Saves the open file first (runs use what is on disk); false when the save failed. */
  saveBeforeRun: () => Promise<boolean>;
  recentRuns: RunSummary[];
  onFinished: (result: RunResult, summary: RunSummary) => void;
}

interface Chunk {
  id: number;
  /** `stdin` is what the user typed into an interactive run, echoed as a terminal would. */
  stream: 'stdout' | 'stderr' | 'stdin';
  segments: AnsiSegment[];
}

const INTERACTIVE_KEY = 'cyber.run.interactive';

function storedInteractive(): boolean {
  try {
    return localStorage.getItem(INTERACTIVE_KEY) === 'true';
  } catch {
    return false;
  }
}

type Status =
  | { state: 'idle' }
  | { state: 'starting' }
  | { state: 'running'; runId: string }
  | { state: 'done'; result: RunResult }
  | { state: 'failed'; message: string };

/** Most characters of output kept on screen; the rest is dropped with a note (the run itself goes on). */
const MAX_SHOWN_CHARS = 1_000_000;

const verdictClass: Record<RunResult['verdict'], string> = {
  ok: 'text-success',
  error: 'text-danger',
  timeout: 'text-warning',
  memory: 'text-danger',
  output_limit: 'text-warning',
  cancelled: 'text-muted',
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The run panel. */
export function RunPanel(props: RunPanelProps) {
  const { project, activePath, activeRuntime, canRun } = props;
  const rpc = useRpc();
  const [language, setLanguage] = useState<RunLanguage>(activeRuntime ?? 'shell');
  const [command, setCommand] = useState('');
  const [stdin, setStdin] = useState('');
  const [interactive, setInteractive] = useState(storedInteractive);
  const [line, setLine] = useState('');
  const [stdinOpen, setStdinOpen] = useState(false);
  const [stdinError, setStdinError] = useState<string | undefined>(undefined);
  const nextChunkId = useRef(0);
  const [limitSeconds, setLimitSeconds] = useState('');
  const [chunks, setChunks] = useState<Chunk[]>([]);
  const [clipped, setClipped] = useState(false);
  const [status, setStatus] = useState<Status>({ state: 'idle' });
  const abortRef = useRef<AbortController | undefined>(undefined);
  const outputRef = useRef<HTMLDivElement>(null);
  const running = status.state === 'starting' || status.state === 'running';

  useEffect(() => {
    if (activeRuntime !== undefined) setLanguage(activeRuntime);
  }, [activeRuntime]);

  useEffect(() => {
    const output = outputRef.current;
    if (output !== null) output.scrollTop = output.scrollHeight;
  }, [chunks]);

  useEffect(() => () => abortRef.current?.abort(), []);

  const start = async (target: { entry: string } | { command: string[] }) => {
    if (running) return;
    if ('entry' in target && !(await props.saveBeforeRun())) return;
    const streams = { stdout: new AnsiStream(), stderr: new AnsiStream() };
    let shown = 0;
    let runId: string | undefined;
    setChunks([]);
    setClipped(false);
    setStdinError(undefined);
    setStdinOpen(interactive);
    setStatus({ state: 'starting' });
    const abort = new AbortController();
    abortRef.current = abort;
    const seconds = Number(limitSeconds);
    const limits =
      limitSeconds.trim() !== '' && seconds > 0 ? { wallMs: Math.round(seconds * 1000) } : undefined;
    try {
      const result = await rpc.stream(
        'run.exec',
        {
          projectId: project.id,
          language,
          ...target,
          ...(stdin === '' ? {} : { stdin }),
          ...(interactive ? { interactive: true } : {}),
          ...(limits === undefined ? {} : { limits }),
        },
        {
          signal: abort.signal,
          onNotification: (note) => {
            if (note.kind === 'started') {
              runId = note.runId;
              setStatus({ state: 'running', runId: note.runId });
              return;
            }
            if (shown >= MAX_SHOWN_CHARS) {
              setClipped(true);
              return;
            }
            shown += note.data.length;
            const segments = streams[note.stream].push(note.data);
            if (segments.length === 0) return;
            const chunk: Chunk = { id: nextChunkId.current++, stream: note.stream, segments };
            setChunks((previous) => [...previous, chunk]);
          },
        },
      );
      setStatus({ state: 'done', result });
      props.onFinished(result, {
        runId: result.runId,
        projectId: project.id,
        userId: 0,
        language,
        entry: 'entry' in target ? target.entry : null,
        command: 'command' in target ? target.command : null,
        status: 'finished',
        verdict: result.verdict,
        exitCode: result.exitCode,
        wallMs: result.wallMs,
        startedAt: result.startedAt,
        finishedAt: result.finishedAt,
      });
    } catch (error) {
      setStatus({ state: 'failed', message: runId === undefined ? errorText(error) : errorText(error) });
    } finally {
      if (abortRef.current === abort) abortRef.current = undefined;
      setStdinOpen(false);
    }
  };

  /** Sends a typed line (with its newline) or EOF to the running program's stdin. */
  const sendStdin = async (data: string, eof: boolean) => {
    if (status.state !== 'running' || !stdinOpen) return;
    if (eof) setStdinOpen(false);
    if (data !== '') {
      const chunk: Chunk = { id: nextChunkId.current++, stream: 'stdin', segments: [{ text: data }] };
      setChunks((previous) => [...previous, chunk]);
    }
    try {
      await rpc.call('run.stdin', { runId: status.runId, data, eof });
    } catch (error) {
      // A program that already exited closed its stdin; the verdict line tells the rest.
      setStdinError(errorText(error));
    }
  };

  const submitLine = (event: FormEvent) => {
    event.preventDefault();
    const data = `${line}\n`;
    setLine('');
    void sendStdin(data, false);
  };

  const cancel = async () => {
    if (status.state === 'running') {
      try {
        await rpc.call('run.cancel', { runId: status.runId });
      } catch {
        abortRef.current?.abort();
      }
    } else {
      abortRef.current?.abort();
    }
  };

  const runCommand = (event: FormEvent) => {
    event.preventDefault();
    if (command.trim() === '') return;
    void start({ command: ['sh', '-c', command] });
  };

  return (
    <section aria-label="Run" className="flex h-full flex-col border-t border-border bg-surface">
      {canRun && (
        <form
          onSubmit={runCommand}
          className="flex flex-wrap items-center gap-2 border-b border-border px-2 py-1.5"
        >
          <button
            type="button"
            data-testid="run-file"
            disabled={running || activePath === undefined}
            onClick={() => activePath !== undefined && void start({ entry: activePath })}
            className="rounded bg-accent px-3 py-1 font-semibold text-on-accent disabled:opacity-50"
            title={activePath === undefined ? 'Open a file to run it' : `Run ${activePath}`}
          >
            ▶ Run file
          </button>
          <label className="flex items-center gap-1 text-muted">
            Runtime
            <select
              value={language}
              onChange={(event) => setLanguage(event.target.value as RunLanguage)}
              className="rounded border border-border bg-surface-alt px-1 py-0.5 text-fg"
            >
              <option value="node">node</option>
              <option value="python">python</option>
              <option value="shell">shell</option>
            </select>
          </label>
          <input
            aria-label="Command"
            placeholder="or a command, e.g. ls -la"
            value={command}
            onChange={(event) => setCommand(event.target.value)}
            className="min-w-40 flex-1 rounded border border-border bg-surface-alt px-2 py-0.5 font-mono text-fg"
          />
          <button
            type="submit"
            disabled={running || command.trim() === ''}
            className="rounded border border-border px-2 py-0.5 disabled:opacity-50"
          >
            Run command
          </button>
          <label className="flex items-center gap-1 text-muted">
            Limit (s)
            <input
              aria-label="Time limit in seconds"
              inputMode="decimal"
              value={limitSeconds}
              onChange={(event) => setLimitSeconds(event.target.value)}
              placeholder="default"
              className="w-16 rounded border border-border bg-surface-alt px-1 py-0.5 text-fg"
            />
          </label>
          {running && (
            <button
              type="button"
              onClick={() => void cancel()}
              className="rounded border border-danger px-2 py-0.5 text-danger"
            >
              ■ Cancel
            </button>
          )}
        </form>
      )}
      <div className="flex min-h-0 flex-1">
        <div className="flex min-w-0 flex-1 flex-col">
          <div
            ref={outputRef}
            data-testid="run-output"
            aria-live="polite"
            aria-label="Run output"
            tabIndex={0}
            className="min-h-0 flex-1 overflow-auto bg-terminal p-2 font-mono text-[13px] leading-snug whitespace-pre-wrap"
          >
            {chunks.length === 0 && status.state === 'idle' && (
              <span className="text-muted">
                {canRun ? 'Output appears here.' : 'You can view runs but not start them.'}
              </span>
            )}
            {chunks.map((chunk) => (
              <span
                key={chunk.id}
                data-stream={chunk.stream}
                className={
                  chunk.stream === 'stderr'
                    ? 'text-stderr'
                    : chunk.stream === 'stdin'
                      ? 'text-accent'
                      : 'text-stdout'
                }
              >
                {chunk.segments.map((segment, index) => (
                  <span
                    key={index}
                    style={{
                      color: segment.fg,
                      backgroundColor: segment.bg,
                      fontWeight: segment.bold === true ? 700 : undefined,
                      fontStyle: segment.italic === true ? 'italic' : undefined,
                      textDecoration: segment.underline === true ? 'underline' : undefined,
                      opacity: segment.dim === true ? 0.7 : undefined,
                    }}
                  >
                    {segment.text}
                  </span>
                ))}
              </span>
            ))}
            {clipped && <div className="text-warning">[more output than the view keeps; not shown]</div>}
          </div>
          {canRun && running && stdinOpen && (
            <form
              onSubmit={submitLine}
              className="flex items-center gap-2 border-t border-border px-2 py-1 text-muted"
            >
              <label className="flex min-w-0 flex-1 items-center gap-2">
                stdin ›
                <input
                  aria-label="Input to the running program"
                  autoFocus
                  value={line}
                  onChange={(event) => setLine(event.target.value)}
                  onKeyDown={(event) => {
                    if (event.key === 'd' && event.ctrlKey && line === '') {
                      event.preventDefault();
                      void sendStdin('', true);
                    }
                  }}
                  placeholder="type a line and press Enter (Ctrl+D on an empty line ends the input)"
                  className="min-w-0 flex-1 rounded border border-border bg-surface-alt px-2 py-0.5 font-mono text-fg"
                />
              </label>
              <button type="submit" className="rounded border border-border px-2 py-0.5">
                Send
              </button>
              <button
                type="button"
                onClick={() => void sendStdin(line === '' ? '' : `${line}\n`, true)}
                className="rounded border border-border px-2 py-0.5"
                title="Close the program's input (EOF)"
              >
                Send EOF
              </button>
            </form>
          )}
          {stdinError !== undefined && (
            <p role="alert" className="border-t border-border px-2 py-1 text-warning">
              {stdinError}
            </p>
          )}
          {canRun && !running && (
            <label className="flex items-center gap-2 border-t border-border px-2 py-1 text-muted">
              stdin
              <textarea
                aria-label="Standard input"
                rows={1}
                value={stdin}
                onChange={(event) => setStdin(event.target.value)}
                placeholder="text given to the program at start"
                className="min-w-0 flex-1 resize-y rounded border border-border bg-surface-alt px-2 py-0.5 font-mono text-fg"
              />
              <span
                className="flex items-center gap-1"
                title="Keep stdin open to type while the program runs"
              >
                <input
                  type="checkbox"
                  aria-label="Interactive input"
                  checked={interactive}
                  onChange={(event) => {
                    setInteractive(event.target.checked);
                    try {
                      localStorage.setItem(INTERACTIVE_KEY, String(event.target.checked));
                    } catch {
                      // Not remembered where storage is unavailable.
                    }
                  }}
                />
                interactive
              </span>
            </label>
          )}
          <div className="flex min-h-7 items-center gap-3 border-t border-border px-2 py-1" role="status">
            {status.state === 'starting' && <span className="text-muted">Starting…</span>}
            {status.state === 'running' && <span className="text-accent">Running…</span>}
            {status.state === 'failed' && <span className="text-danger">{status.message}</span>}
            {status.state === 'done' && (
              <>
                <span
                  data-testid="run-verdict"
                  className={`font-semibold ${verdictClass[status.result.verdict]}`}
                >
                  {status.result.verdict}
                </span>
                <span>
                  exit{' '}
                  <span data-testid="run-exit-code">
                    {status.result.exitCode ?? status.result.signal ?? '—'}
                  </span>
                </span>
                <span className="text-muted">wall {status.result.wallMs} ms</span>
                <span className="text-muted">cpu {status.result.cpuMs} ms</span>
                <span className="text-muted">memory {formatBytes(status.result.peakMemoryBytes)}</span>
                {(status.result.stdoutTruncated || status.result.stderrTruncated) && (
                  <span className="text-warning">output truncated</span>
                )}
              </>
            )}
          </div>
        </div>
        <aside
          aria-label="Recent runs"
          className="w-56 shrink-0 overflow-auto border-l border-border text-xs"
        >
          <h3 className="px-2 py-1 font-semibold tracking-wide text-muted uppercase">Recent runs</h3>
          {props.recentRuns.length === 0 ? (
            <p className="px-2 text-muted">No runs yet.</p>
          ) : (
            <ul data-testid="recent-runs">
              {props.recentRuns.map((run) => (
                <li key={run.runId} className="flex gap-2 px-2 py-0.5" title={run.startedAt}>
                  <span className={run.verdict === null ? 'text-accent' : verdictClass[run.verdict]}>
                    {run.verdict ?? 'running'}
                  </span>
                  <span className="min-w-0 flex-1 truncate">{run.entry ?? run.command?.join(' ') ?? ''}</span>
                  <span className="text-muted">{run.wallMs === null ? '' : `${run.wallMs} ms`}</span>
                </li>
              ))}
            </ul>
          )}
        </aside>
      </div>
    </section>
  );
}
