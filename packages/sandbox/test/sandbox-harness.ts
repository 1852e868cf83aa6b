// Shared setup of the suites: the real engine from scripts/infra.sh, the checked-in profile, and throwaway
// workspaces that uid 65534 can write.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DEFAULT_LIMITS, DEFAULT_PROFILE_PATH, SandboxRunner, type ResolvedLimits } from '../src/index.ts';

const MiB = 1024 * 1024;

/** The engine socket from .infra/env; the suite fails (never skips) without one. */
export function dockerClient(): Docker {
  const socketPath = process.env.CYBER_DOCKER_SOCKET;
  if (!socketPath) throw new Error('CYBER_DOCKER_SOCKET is not set: run scripts/infra.sh up');
  return new Docker({ socketPath });
}

/** Small limits so hostile runs end fast on a 2-core machine. */
export const TEST_LIMITS: ResolvedLimits = {
  ...DEFAULT_LIMITS,
  wallMs: 10_000,
  cpuMs: 10_000,
  memoryBytes: 128 * MiB,
  pids: 64,
  openFiles: 128,
  fileSizeBytes: 8 * MiB,
  outputBytes: 1 * MiB,
  tmpBytes: 16 * MiB,
};

/** A runner with the checked-in profile. */
export function testRunner(options: { docker: Docker; warmPoolSize?: number }): SandboxRunner {
  return SandboxRunner.start({
    docker: options.docker,
    profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
    defaults: TEST_LIMITS,
    maxima: { ...TEST_LIMITS, wallMs: 60_000, outputBytes: 64 * MiB, memoryBytes: 512 * MiB },
    warmPoolSize: options.warmPoolSize ?? 0,
  });
}

/** A fresh host directory for /workspace; the sandbox user (65534) must be able to write it. */
export function makeWorkspace(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cyber-sandbox-test-'));
  chmodSync(dir, 0o777);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
