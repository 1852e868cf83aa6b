// @cyber/sandbox: untrusted code in Docker containers (DESIGN.md, "Sandboxes"). The only package that imports
// dockerode for runs.
export {
  DEFAULT_IMAGES,
  DEFAULT_IMAGE_TAG,
  SandboxRunner,
  type SandboxRunRequest,
  type SandboxRunResult,
  type SandboxRunnerOptions,
} from './sandbox-runner.js';
export {
  DEFAULT_PROFILE_PATH,
  REQUIRED_DENIED_SYSCALLS,
  SeccompProfileError,
  loadSeccompProfile,
  validateProfile,
  type SeccompProfile,
} from './seccomp-profile.js';
export { DEFAULT_LIMITS, resolveLimits, type ResolvedLimits } from './sandbox-limits.js';
export {
  KEEPER_USER,
  SANDBOX_LABEL,
  SANDBOX_USER,
  containerSpec,
  type ContainerSpecOptions,
} from './container-spec.js';
export { BUILD_SCRIPT } from './sandbox-errors.js';
export { DEFAULT_SANDBOX_NETWORK, ensureSandboxNetwork } from './sandbox-network.js';
export { createDockerClient } from './docker-client.js';
export type { OutputListener, OutputStream, StreamTotals } from './output-capture.js';
