// The sandbox runner as the gateway's settings describe it: the admin maxima, the project's seccomp profile,
// the sandbox network and the warm pool. The gateway's main.ts and the standalone studio open it alike.
import { readFileSync } from 'node:fs';
import type { ApiConfig } from '@cyber/config';
import {
  DEFAULT_LIMITS,
  DEFAULT_PROFILE_PATH,
  SandboxRunner,
  createDockerClient,
  type ResolvedLimits,
  type SandboxRunnerOptions,
} from '@cyber/sandbox';

const MiB = 1024 * 1024;

/** The admin maxima from the settings: what a run may ask for at most. */
function sandboxMaxima(config: ApiConfig['sandbox']): ResolvedLimits {
  return {
    ...DEFAULT_LIMITS,
    wallMs: config.wallTimeMs,
    cpuMs: config.wallTimeMs,
    memoryBytes: config.memoryMb * MiB,
    pids: config.pidsLimit,
    outputBytes: config.outputLimitBytes,
    nanoCpus: config.cpuMillis * 1_000_000,
  };
}

/**
 * Starts the runner with the maxima it enforces. Refuses to start with a malformed or weak seccomp profile; the
 * engine itself is checked per run (or up front with `runner.check()`).
 */
export function startSandboxRunner(
  config: ApiConfig['sandbox'],
  options: Pick<SandboxRunnerOptions, 'onContainerStarted'> = {},
): { runner: SandboxRunner; maxima: ResolvedLimits } {
  const maxima = sandboxMaxima(config);
  const runner = SandboxRunner.start({
    docker: createDockerClient(config.dockerSocket),
    profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
    maxima,
    network: config.network,
    networkName: config.networkName,
    warmPoolSize: config.warmPoolSize,
    ...options,
  });
  return { runner, maxima };
}
