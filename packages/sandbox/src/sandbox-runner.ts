// Runs one command in a fresh sandbox container and reports a typed RunResult. Cold runs create, attach,
// start, wait and remove a container; warm runs exec into a pooled container that is removed afterwards.
import { randomUUID } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { RpcError, type RunLanguage, type RunLimits, type RunResult, type RunVerdict } from '@cyber/contract';
import { readCgroupByExec, readHostCgroup, type CgroupUsage } from './cgroup-usage.js';
import { KEEPER_USER, SANDBOX_LABEL, SANDBOX_USER, containerSpec } from './container-spec.js';
import { OutputCapture, type OutputListener } from './output-capture.js';
import { DEFAULT_LIMITS, containerLimitsKey, resolveLimits, type ResolvedLimits } from './sandbox-limits.js';
import { toSandboxError } from './sandbox-errors.js';
import { DEFAULT_SANDBOX_NETWORK, ensureSandboxNetwork } from './sandbox-network.js';
import { validateProfile, type SeccompProfile } from './seccomp-profile.js';
import { WarmPool, type WarmContainer, type WarmKey } from './warm-pool.js';

/** Image tag that sandbox-images/build.sh produces. */
export const DEFAULT_IMAGE_TAG = 'bookworm';

/** The image of each runtime as sandbox-images/build.sh names it. */
export const DEFAULT_IMAGES: Readonly<Record<RunLanguage, string>> = {
  shell: `cyber-sandbox-shell:${DEFAULT_IMAGE_TAG}`,
  python: `cyber-sandbox-python:${DEFAULT_IMAGE_TAG}`,
  node: `cyber-sandbox-node:${DEFAULT_IMAGE_TAG}`,
};

/**
 * Wraps a warm run's argv. A background process the run leaves behind keeps the exec's output open, and the
 * engine then holds the exec for about 2 s; killing every process of the sandbox user when the command ends
 * closes it at once. The keeper runs as another uid (KEEPER_USER), so the container survives until removed.
 */
const EXEC_WRAPPER = ['/bin/sh', '-c', '"$@"; rc=$?; kill -KILL -1 2>/dev/null; exit $rc', 'cyber-run'];

/** Label naming the runner instance that owns a container, so close() can sweep whatever is left. */
const OWNER_LABEL = `${SANDBOX_LABEL}.owner`;

/** Options for {@link SandboxRunner.start}. */
export interface SandboxRunnerOptions {
  /** The one dockerode client of the service. The runner never closes it. */
  docker: Docker;
  /** Text of the seccomp profile (sandbox-images/seccomp.json); validated before anything runs. */
  profileText: string;
  /** Highest limits a run may ask for (the admin's maxima). */
  maxima: ResolvedLimits;
  /** Limits of a run that asks for none; each is lowered to its maximum. Default {@link DEFAULT_LIMITS}. */
  defaults?: ResolvedLimits;
  /** Image per runtime. Default {@link DEFAULT_IMAGES}. */
  images?: Partial<Record<RunLanguage, string>>;
  /** Idle warm containers kept per language; 0 (default) runs everything cold. */
  warmPoolSize?: number;
  /**
   * Gives sandboxes a network. Off by default and in the product unless an admin turns it on. They then join
   * their own bridge network, {@link SandboxRunnerOptions.networkName}, never the default bridge.
   */
  network?: boolean;
  /** The sandboxes' network, created when missing (see sandbox-network.ts). Default `cyber-sandbox`. */
  networkName?: string;
  /** Background failures (pool refills, removals). Default: ignored. */
  onBackgroundError?: (error: unknown) => void;
  /** Told when a container has been created and started, with how long that took (metrics). */
  onContainerStarted?: (info: { language: RunLanguage; role: 'cold' | 'warm'; seconds: number }) => void;
}

/** One run. */
export interface SandboxRunRequest {
  /** Id reported in the result; a fresh UUID when omitted. */
  runId?: string;
  language: RunLanguage;
  /** argv run as-is in the runtime image, e.g. ["python3", "main.py"]. */
  command: string[];
  /**
   * Host directory bind-mounted read-write at /workspace. The sandbox can create symlinks in it: whoever reads
   * it on the host afterwards must not follow them (the api's fs layer refuses links).
   */
  workspaceDir: string;
  /** Written to stdin at start; then stdin is closed unless `stdinStream` is given. Without either, stdin is empty. */
  stdin?: string | Buffer;
  /**
   * Interactive stdin: piped to the process once it runs (after `stdin`), with backpressure; ending it closes the
   * process's stdin (EOF). The runner unpipes and destroys it when the run ends, so writers waiting for 'drain'
   * should also listen for 'close'.
   */
  stdinStream?: Readable;
  /**
   * Whom the run is for (the api passes the user id). A warm container started for another owner is never used;
   * see WarmKey.owner. Default ''.
   */
  owner?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Requested limits; each within the maxima, omitted ones from the defaults. */
  limits?: RunLimits;
  /** Aborting cancels the run (verdict cancelled). */
  signal?: AbortSignal;
  /** Each chunk of output as it arrives, at most limits.outputBytes in all. */
  onOutput?: OutputListener;
  /** `cold` skips the warm pool (benchmarks, tests); `auto` uses it when a matching container is idle. */
  mode?: 'auto' | 'cold';
}

/** A finished run: the contract's RunResult with the captured output and the path it took. */
export type SandboxRunResult = RunResult & { stdout: string; stderr: string; path: 'cold' | 'warm' };

type StopReason = 'timeout' | 'cancelled' | 'output_limit';

/** What a cold or warm execution observed, before it becomes a verdict. */
interface RawOutcome {
  /** Exit status as the engine reports it (128+n for a signal); null when unknown (container killed). */
  status: number | null;
  wallMs: number;
  cpuNs: number;
  peakBytes: number;
  /** The kernel OOM-killed something in the container. */
  oom: boolean;
}

/** Per-run state shared by the cold and warm paths. */
class RunControl {
  stopReason: StopReason | undefined;
  #kill: (() => Promise<unknown>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onAbort = (): void => this.stop('cancelled');

  constructor(
    readonly limits: ResolvedLimits,
    readonly signal: AbortSignal | undefined,
    readonly onBackgroundError: (error: unknown) => void,
  ) {
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** How to stop the process once it runs. */
  setKiller(kill: () => Promise<unknown>): void {
    this.#kill = kill;
  }

  /** The process is running: start the wall clock, honour an abort that came before. */
  arm(): void {
    // Stopped while the container was being created (a cancel right after run.exec): stop() had nothing to
    // kill then, so kill now instead of letting the process run to its wall limit.
    if (this.stopReason !== undefined) {
      this.#kill?.().catch(ignoreGone);
      return;
    }
    this.#timer = setTimeout(() => this.stop('timeout'), this.limits.wallMs);
    if (this.signal?.aborted) this.stop('cancelled');
  }

  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    // Before arm() there is no process yet; arm() or the caller's check sees the reason.
    if (this.#kill) this.#kill().catch(ignoreGone);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.signal?.removeEventListener('abort', this.#onAbort);
  }
}

/** A kill or remove that races with the container's own exit finds it gone: nothing to do. */
function ignoreGone(): void {}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name]),
);

/** Resolves when a stream has ended, closed or failed: the output is complete either way. */
function streamDone(stream: Readable | Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/**
 * Writes the run's stdin to the hijacked stream of a started process: `stdin` at once, then `stdinStream` piped
 * (its end is the process's EOF), or EOF right after `stdin`. Returns what detaches the stream at the run's end.
 */
function feedStdin(stream: Duplex, request: SandboxRunRequest): () => void {
  const source = request.stdinStream;
  if (source === undefined) {
    if (request.stdin !== undefined) stream.end(request.stdin);
    return ignoreGone;
  }
  // The process may exit while stdin is still being written: a write into the closed connection is not an error
  // of the run (its output and exit status say how it ended).
  stream.on('error', ignoreGone);
  if (request.stdin !== undefined) stream.write(request.stdin);
  source.pipe(stream);
  return () => {
    source.unpipe(stream);
    source.destroy();
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface StatsSample {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { max_usage?: number; usage?: number; failcnt?: number; limit?: number };
}

/**
 * Runs untrusted code in Docker sandboxes. Create one per service with {@link SandboxRunner.start}; close it
 * on shutdown.
 */
export class SandboxRunner {
  readonly #docker: Docker;
  readonly #profile: SeccompProfile;
  readonly #maxima: ResolvedLimits;
  readonly #defaults: ResolvedLimits;
  readonly #images: Record<RunLanguage, string>;
  /** The network sandboxes join, or false for none. */
  readonly #network: string | false;
  /** Resolves once the sandboxes' network exists (checked once per runner; retried after a failure). */
  #networkReady: Promise<void> | undefined;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #onContainerStarted: SandboxRunnerOptions['onContainerStarted'];
  readonly #owner = randomUUID();
  readonly #pool: WarmPool;
  readonly #removals = new Set<Promise<void>>();
  readonly #active = new Set<RunControl>();
  #closed = false;

  private constructor(options: SandboxRunnerOptions, profile: SeccompProfile) {
    this.#docker = options.docker;
    this.#profile = profile;
    this.#maxima = options.maxima;
    this.#defaults = options.defaults ?? DEFAULT_LIMITS;
    this.#images = { ...DEFAULT_IMAGES, ...options.images };
    this.#network = options.network === true ? (options.networkName ?? DEFAULT_SANDBOX_NETWORK) : false;
    this.#onBackgroundError = options.onBackgroundError ?? ignoreGone;
    this.#onContainerStarted = options.onContainerStarted;
    this.#pool = new WarmPool({
      size: options.warmPoolSize ?? 0,
      create: (key) => this.#createWarm(key),
      remove: (container) => this.#remove(container),
      onError: this.#onBackgroundError,
    });
  }

  /**
   * Validates the seccomp profile and returns a runner. Throws SeccompProfileError when the profile is
   * malformed or lacks a required deny: the service must not start with a weak profile. The engine is not
   * contacted here (see {@link SandboxRunner.check}), so the service can start while Docker is down and
   * report sandbox_unavailable per run.
   */
  static start(options: SandboxRunnerOptions): SandboxRunner {
    return new SandboxRunner(options, validateProfile(options.profileText));
  }

  /** Socket path for messages. */
  get #socket(): string {
    const modem = this.#docker.modem as { socketPath?: unknown };
    return typeof modem.socketPath === 'string' ? modem.socketPath : 'the configured Docker host';
  }

  /** Idle warm containers (all languages). */
  get warmIdle(): number {
    return this.#pool.idleCount;
  }

  /**
   * Readiness: the engine answers and every image exists. Throws RpcError('sandbox_unavailable') naming the
   * unreachable socket or the missing image and the script that builds it.
   */
  async check(): Promise<void> {
    try {
      await this.#docker.ping();
    } catch (error) {
      throw toSandboxError(error, { socket: this.#socket });
    }
    for (const image of Object.values(this.#images)) {
      try {
        await this.#docker.getImage(image).inspect();
      } catch (error) {
        throw toSandboxError(error, { image, socket: this.#socket });
      }
    }
  }

  /**
   * Makes sure a warm container exists for runs of `language` in `workspaceDir` by `owner` with default limits
   * (e.g. when a project is opened). Bounded by the pool size: at capacity the language's least recently used
   * container is evicted. Resolves when it is ready; failures go to onBackgroundError. A no-op with pool size 0.
   */
  prewarm(options: { language: RunLanguage; workspaceDir: string; owner?: string }): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#pool.fill({
      language: options.language,
      workspaceDir: options.workspaceDir,
      owner: options.owner ?? '',
      limitsKey: this.#defaultLimitsKey,
    });
  }

  /** Limits key of the containers the pool makes (default limits within the maxima). */
  get #defaultLimitsKey(): string {
    return containerLimitsKey(resolveLimits(undefined, { defaults: this.#defaults, maxima: this.#maxima }));
  }

  /**
   * Resolves once no warm container is being created and no container is being removed: benchmarks and tests
   * wait for this so background engine work does not overlap what they measure.
   */
  async settled(): Promise<void> {
    await this.#pool.settled();
    while (this.#removals.size > 0) await Promise.all([...this.#removals]);
  }

  /**
   * Runs `command` and resolves with its result; the verdict says how it ended (a failing program is a result,
   * not an exception). Rejects with RpcError: invalid_params for limits above the maxima, sandbox_unavailable
   * when the engine is unreachable or the image is missing.
   */
  async run(request: SandboxRunRequest): Promise<SandboxRunResult> {
    if (this.#closed) throw new RpcError('sandbox_unavailable', { message: 'sandbox runner is closed' });
    const limits = resolveLimits(request.limits, { defaults: this.#defaults, maxima: this.#maxima });
    const control = new RunControl(limits, request.signal, this.#onBackgroundError);
    const capture = new OutputCapture({
      limitBytes: limits.outputBytes,
      ...(request.onOutput ? { onOutput: request.onOutput } : {}),
      onLimit: () => control.stop('output_limit'),
    });
    const key: WarmKey = {
      language: request.language,
      workspaceDir: request.workspaceDir,
      limitsKey: containerLimitsKey(limits),
      owner: request.owner ?? '',
    };
    const startedAt = new Date();
    this.#active.add(control);
    try {
      const warm = request.mode === 'cold' ? undefined : this.#pool.take(key);
      let outcome: RawOutcome | undefined;
      let path: 'cold' | 'warm' = 'cold';
      if (warm) {
        outcome = await this.#runWarm(warm, { request, control, capture });
        path = 'warm';
      }
      outcome ??= await this.#runCold({ request, control, capture });
      // The next run of this owner in this workspace is likely: replace the container it used (warm) or would have
      // used (cold). Only default limits are pooled; a run with its own limits leaves nothing to refill.
      if (request.mode !== 'cold' && key.limitsKey === this.#defaultLimitsKey) void this.#pool.fill(key);
      return this.#result({ request, control, capture, outcome, startedAt, path });
    } finally {
      control.dispose();
      this.#active.delete(control);
    }
  }

  #result(args: {
    request: SandboxRunRequest;
    control: RunControl;
    capture: OutputCapture;
    outcome: RawOutcome;
    startedAt: Date;
    path: 'cold' | 'warm';
  }): SandboxRunResult {
    const { control, capture, outcome } = args;
    const { status } = outcome;
    const signalNumber = status !== null && status > 128 ? status - 128 : undefined;
    const signal =
      status === null
        ? 'SIGKILL'
        : signalNumber === undefined
          ? null
          : (SIGNAL_NAMES.get(signalNumber) ?? null);
    const exitCode = status === null || signal !== null ? null : status;
    const cpuMs = Math.round(outcome.cpuNs / 1e6);
    let verdict: RunVerdict;
    if (control.stopReason !== undefined) verdict = control.stopReason;
    else if (outcome.oom) verdict = 'memory';
    else if (signal === 'SIGXCPU' || (signal === 'SIGKILL' && cpuMs >= control.limits.cpuMs))
      verdict = 'timeout';
    else verdict = status === 0 ? 'ok' : 'error';
    const stdout = capture.totals('stdout');
    const stderr = capture.totals('stderr');
    return {
      runId: args.request.runId ?? randomUUID(),
      verdict,
      exitCode,
      signal,
      wallMs: Math.round(outcome.wallMs),
      cpuMs,
      peakMemoryBytes: outcome.peakBytes,
      stdoutBytes: stdout.bytes,
      stderrBytes: stderr.bytes,
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      stdout: stdout.text,
      stderr: stderr.text,
      startedAt: args.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      path: args.path,
    };
  }

  #spec(options: {
    key: WarmKey;
    cmd: string[];
    role: 'cold' | 'warm';
    openStdin: boolean;
    limits: ResolvedLimits;
  }): Docker.ContainerCreateOptions {
    const spec = containerSpec({
      user: options.role === 'warm' ? KEEPER_USER : SANDBOX_USER,
      image: this.#images[options.key.language],
      cmd: options.cmd,
      workspaceDir: options.key.workspaceDir,
      limits: options.limits,
      seccompText: this.#profile.text,
      openStdin: options.openStdin,
      network: this.#network,
      role: options.role,
    });
    spec.Labels = { ...spec.Labels, [OWNER_LABEL]: this.#owner };
    return spec;
  }

  async #create(spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    if (this.#network !== false) {
      this.#networkReady ??= ensureSandboxNetwork(this.#docker, this.#network, this.#socket).catch(
        (error: unknown) => {
          this.#networkReady = undefined;
          throw error;
        },
      );
      await this.#networkReady;
    }
    try {
      return await this.#docker.createContainer(spec);
    } catch (error) {
      throw toSandboxError(error, { image: spec.Image ?? '', socket: this.#socket });
    }
  }

  async #runCold(args: {
    request: SandboxRunRequest;
    control: RunControl;
    capture: OutputCapture;
  }): Promise<RawOutcome> {
    const { request, control, capture } = args;
    const hasStdin = request.stdin !== undefined || request.stdinStream !== undefined;
    const spec = this.#spec({
      key: { language: request.language, workspaceDir: request.workspaceDir, limitsKey: '', owner: '' },
      cmd: request.command,
      role: 'cold',
      openStdin: hasStdin,
      limits: control.limits,
    });
    spec.Env = Object.entries(request.env ?? {}).map(([name, value]) => `${name}=${value}`);
    const createdAt = performance.now();
    const container = await this.#create(spec);
    let detachStdin = ignoreGone;
    try {
      const stream = (await container.attach({
        stream: true,
        stdin: hasStdin,
        stdout: true,
        stderr: true,
        hijack: hasStdin,
      })) as Duplex;
      const done = streamDone(stream);
      stream.on('data', (data: Buffer) => capture.push(data));
      control.setKiller(async () => {
        stream.destroy();
        await container.kill();
      });
      const t0 = performance.now();
      try {
        await container.start();
      } catch (error) {
        throw toSandboxError(error, { socket: this.#socket });
      }
      this.#onContainerStarted?.({
        language: request.language,
        role: 'cold',
        seconds: (performance.now() - createdAt) / 1000,
      });
      control.arm();
      detachStdin = feedStdin(stream, request);
      const sampler = this.#sampleStats(container);
      const exit = (await container.wait()) as { StatusCode: number };
      const wallMs = performance.now() - t0;
      // The exit can overtake the last frames; the stream ends right after the container does.
      await Promise.race([done, delay(2000)]);
      const usage = sampler.stop();
      let oom = false;
      if (exit.StatusCode !== 0 && control.stopReason === undefined) {
        const info = await container.inspect();
        oom = info.State.OOMKilled;
      }
      return { status: exit.StatusCode, wallMs, ...usage, oom };
    } finally {
      detachStdin();
      this.#removeLater(container);
    }
  }

  /**
   * Follows the engine's stats stream while a cold container runs. cgroup v1 has no per-container counters
   * after exit, and the engine samples about once a second: peak memory and CPU are those of the last sample
   * (0 for runs shorter than the first sample).
   */
  #sampleStats(container: Docker.Container): { stop: () => { cpuNs: number; peakBytes: number } } {
    let cpuNs = 0;
    let peakBytes = 0;
    let stream: Readable | undefined;
    let stopped = false;
    container
      .stats({ stream: true })
      .then((s) => {
        stream = s as unknown as Readable;
        if (stopped) stream.destroy();
        let buffered = '';
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let newline = buffered.indexOf('\n');
          while (newline >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            newline = buffered.indexOf('\n');
            try {
              const sample = JSON.parse(line) as StatsSample;
              cpuNs = Math.max(cpuNs, sample.cpu_stats?.cpu_usage?.total_usage ?? 0);
              peakBytes = Math.max(peakBytes, sample.memory_stats?.max_usage ?? 0);
            } catch {
              // A sample cut by the container's exit: the earlier ones stand.
            }
          }
        });
        stream.on('error', ignoreGone);
      })
      .catch(ignoreGone);
    return {
      stop: () => {
        stopped = true;
        stream?.destroy();
        return { cpuNs, peakBytes };
      },
    };
  }

  async #runWarm(
    warm: WarmContainer,
    args: { request: SandboxRunRequest; control: RunControl; capture: OutputCapture },
  ): Promise<RawOutcome | undefined> {
    const { request, control, capture } = args;
    const { container } = warm;
    const hasStdin = request.stdin !== undefined || request.stdinStream !== undefined;
    let exec: Docker.Exec;
    let stream: Duplex;
    try {
      exec = await container.exec({
        Cmd: [...EXEC_WRAPPER, ...request.command],
        User: SANDBOX_USER,
        AttachStdin: hasStdin,
        AttachStdout: true,
        AttachStderr: true,
        WorkingDir: '/workspace',
        Env: Object.entries(request.env ?? {}).map(([name, value]) => `${name}=${value}`),
      });
      stream = await exec.start({ hijack: true, stdin: hasStdin });
    } catch (error) {
      // A pooled container that died (engine restart, eviction race) is not the run's fault: go cold.
      this.#onBackgroundError(error);
      this.#removeLater(container);
      return undefined;
    }
    let detachStdin = ignoreGone;
    try {
      const done = streamDone(stream);
      stream.on('data', (data: Buffer) => capture.push(data));
      // There is no API to kill an exec; the container is single-use, so removing it kills everything in it.
      control.setKiller(async () => {
        stream.destroy();
        await container.remove({ force: true });
      });
      const t0 = performance.now();
      control.arm();
      detachStdin = feedStdin(stream, request);
      await done;
      const wallMs = performance.now() - t0;
      if (control.stopReason !== undefined)
        return { status: null, wallMs, cpuNs: 0, peakBytes: 0, oom: false };
      const [status, usage] = await Promise.all([this.#execExit(exec), this.#usage(container)]);
      return {
        status,
        wallMs,
        cpuNs: usage?.cpuNs ?? 0,
        peakBytes: usage?.peakBytes ?? 0,
        // An OOM kill inside an exec leaves the container running with OOMKilled=false (SANDBOX-FACTS.md);
        // the cgroup's oom_kill counter is exact (nothing else ran in this container).
        oom: (usage?.oomKills ?? 0) > 0,
      };
    } finally {
      detachStdin();
      this.#removeLater(container);
    }
  }

  /** The exec's exit code; the stream can end a moment before the engine records it. */
  async #execExit(exec: Docker.Exec): Promise<number | null> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode;
      await delay(10);
    }
    return null;
  }

  /** Counters of a warm container after its exec; see cgroup-usage.ts. Undefined when unreadable. */
  async #usage(container: Docker.Container): Promise<CgroupUsage | undefined> {
    try {
      return (await readHostCgroup(container.id)) ?? (await readCgroupByExec(container));
    } catch {
      return undefined;
    }
  }

  async #createWarm(key: WarmKey): Promise<Docker.Container> {
    const limits = resolveLimits(undefined, { defaults: this.#defaults, maxima: this.#maxima });
    if (containerLimitsKey(limits) !== key.limitsKey) {
      throw new Error('warm containers are made with the default limits only');
    }
    const spec = this.#spec({ key, cmd: ['sleep', 'infinity'], role: 'warm', openStdin: false, limits });
    const createdAt = performance.now();
    const container = await this.#create(spec);
    try {
      await container.start();
      this.#onContainerStarted?.({
        language: key.language,
        role: 'warm',
        seconds: (performance.now() - createdAt) / 1000,
      });
    } catch (error) {
      this.#removeLater(container);
      throw toSandboxError(error, { socket: this.#socket });
    }
    return container;
  }

  async #remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      // 404: already gone; 409: removal already in progress (a kill raced with it).
      if (status !== 404 && status !== 409) throw error;
    }
  }

  /** Removes in the background so the result does not wait for it; close() waits for every removal. */
  #removeLater(container: Docker.Container): void {
    const job = this.#remove(container)
      .catch(this.#onBackgroundError)
      .finally(() => this.#removals.delete(job));
    this.#removals.add(job);
  }

  /**
   * Cancels runs in flight, drains the warm pool, waits for every removal, then sweeps any container this
   * runner created that is still there.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const control of this.#active) control.stop('cancelled');
    await this.#pool.drain();
    while (this.#active.size > 0 || this.#removals.size > 0) {
      await Promise.all([...this.#removals]);
      if (this.#active.size > 0) await delay(20);
    }
    try {
      const left = await this.#docker.listContainers({
        all: true,
        filters: { label: [`${OWNER_LABEL}=${this.#owner}`] },
      });
      await Promise.all(left.map((info) => this.#remove(this.#docker.getContainer(info.Id))));
    } catch (error) {
      this.#onBackgroundError(error);
    }
  }
}
