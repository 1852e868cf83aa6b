// The one place that turns resolved limits into a container definition. Every setting here is one that held
// against the hostile suite (SANDBOX-FACTS.md, "HostConfig that contained every hostile test").
import type Docker from 'dockerode';
import type { ResolvedLimits } from './sandbox-limits.js';

/** Non-root identity inside every sandbox (nobody:nogroup in Debian). */
export const SANDBOX_USER = '65534:65534';

/**
 * Owner of the idle process of a warm container. Not the sandbox user, so that the exec wrapper's
 * `kill -KILL -1` (run as 65534) ends what the run left behind without touching the container's keeper.
 */
export const KEEPER_USER = '65533:65534';

/** Label on every container this package creates, so strays can be found and removed. */
export const SANDBOX_LABEL = 'dev.cyberdevstudio.sandbox';

/** Options for {@link containerSpec}. */
export interface ContainerSpecOptions {
  image: string;
  cmd: string[];
  /** Host directory bind-mounted read-write at /workspace. */
  workspaceDir: string;
  limits: ResolvedLimits;
  seccompText: string;
  env?: Record<string, string>;
  /** Keep stdin open so the host can write to it (cold runs with stdin). */
  openStdin: boolean;
  /**
   * The Docker network the sandbox joins (see sandbox-network.ts), or false for none at all: off unless the
   * admin turned it on.
   */
  network: string | false;
  /** User of the container's main process. Default {@link SANDBOX_USER}. */
  user?: string;
  /** Value of the {@link SANDBOX_LABEL} label: `cold` or `warm`. */
  role: 'cold' | 'warm';
}

/** Builds the create options of a sandbox container. */
export function containerSpec(options: ContainerSpecOptions): Docker.ContainerCreateOptions {
  const { limits } = options;
  const cpuSeconds = Math.max(1, Math.ceil(limits.cpuMs / 1000));
  return {
    Image: options.image,
    Cmd: options.cmd,
    User: options.user ?? SANDBOX_USER,
    WorkingDir: '/workspace',
    Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Hostname: 'sandbox',
    Labels: { [SANDBOX_LABEL]: options.role },
    AttachStdin: options.openStdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: options.openStdin,
    StdinOnce: options.openStdin,
    Tty: false,
    NetworkDisabled: options.network === false,
    HostConfig: {
      NetworkMode: options.network === false ? 'none' : options.network,
      Binds: [`${options.workspaceDir}:/workspace:rw`],
      Memory: limits.memoryBytes,
      // Equal to Memory: no swap, so the memory limit is a hard one and the OOM killer ends a memory bomb.
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      PidsLimit: limits.pids,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${limits.tmpBytes}` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges', `seccomp=${options.seccompText}`],
      // No nproc ulimit: RLIMIT_NPROC counts every process of the uid on the whole host, and all sandboxes share
      // uid 65534, so one run's fork bomb would make fork fail in every concurrent run. PidsLimit is per container.
      Ulimits: [
        { Name: 'nofile', Soft: limits.openFiles, Hard: limits.openFiles },
        { Name: 'fsize', Soft: limits.fileSizeBytes, Hard: limits.fileSizeBytes },
        // SIGXCPU at the soft limit, SIGKILL a second later: a per-process CPU cap under the wall timer.
        { Name: 'cpu', Soft: cpuSeconds, Hard: cpuSeconds + 1 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      // Output is captured through attach; the json-file driver would write it to the host's disk.
      LogConfig: { Type: 'none', Config: {} },
      Init: true,
      IpcMode: 'private',
      AutoRemove: false,
    },
  };
}
