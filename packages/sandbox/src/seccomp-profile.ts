// The project's seccomp profile (sandbox-images/seccomp.json), checked once when the service starts. The engine
// only rejects a malformed profile when a container starts (HTTP 500, SANDBOX-FACTS.md), and a profile that
// parses but lost a deny would silently weaken every run, so both are refused up front.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Syscalls the profile must refuse outright. Docker's default profile allows some of these (ptrace on new
 * kernels, io_uring), and the rest are the usual escape and kernel-attack surface.
 */
export const REQUIRED_DENIED_SYSCALLS: readonly string[] = [
  'ptrace',
  'mount',
  'umount2',
  'unshare',
  'setns',
  'keyctl',
  'add_key',
  'request_key',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
];

/** A validated profile, ready to pass to the engine. */
export interface SeccompProfile {
  /** Minified JSON text for `SecurityOpt: ['seccomp=' + text]`. */
  readonly text: string;
  /** Every syscall the profile denies with an explicit SCMP_ACT_ERRNO rule. */
  readonly denied: ReadonlySet<string>;
}

/** Thrown when the profile is unreadable, malformed or weaker than required; the service must not start. */
export class SeccompProfileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`seccomp profile rejected: ${message}`, options);
    this.name = 'SeccompProfileError';
  }
}

interface SyscallRule {
  names?: unknown;
  action?: unknown;
  args?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and checks a profile's JSON text: default action must be an errno (unknown syscalls fail), each rule
 * well-formed, every {@link REQUIRED_DENIED_SYSCALLS} denied unconditionally and allowed nowhere.
 */
export function validateProfile(text: string): SeccompProfile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SeccompProfileError('not valid JSON', { cause: error });
  }
  if (!isRecord(parsed)) throw new SeccompProfileError('top level is not an object');
  if (parsed.defaultAction !== 'SCMP_ACT_ERRNO') {
    throw new SeccompProfileError(
      `defaultAction must be SCMP_ACT_ERRNO (got ${JSON.stringify(parsed.defaultAction)})`,
    );
  }
  if (!Array.isArray(parsed.syscalls) || parsed.syscalls.length === 0) {
    throw new SeccompProfileError('syscalls must be a non-empty array');
  }
  const denied = new Set<string>();
  const allowed = new Set<string>();
  parsed.syscalls.forEach((rule: SyscallRule, index) => {
    if (!isRecord(rule)) throw new SeccompProfileError(`syscalls[${index}] is not an object`);
    const { names, action } = rule;
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
      throw new SeccompProfileError(`syscalls[${index}].names must be a non-empty list of strings`);
    }
    if (typeof action !== 'string' || !action.startsWith('SCMP_ACT_')) {
      throw new SeccompProfileError(`syscalls[${index}].action must be an SCMP_ACT_* value`);
    }
    const conditional = Array.isArray(rule.args) && rule.args.length > 0;
    for (const name of names) {
      if (action === 'SCMP_ACT_ERRNO' && !conditional) denied.add(name);
      else if (action === 'SCMP_ACT_ALLOW') allowed.add(name);
    }
  });
  const missing = REQUIRED_DENIED_SYSCALLS.filter((name) => !denied.has(name));
  if (missing.length > 0) {
    throw new SeccompProfileError(`missing unconditional SCMP_ACT_ERRNO denies for ${missing.join(', ')}`);
  }
  const contradicted = REQUIRED_DENIED_SYSCALLS.filter((name) => allowed.has(name));
  if (contradicted.length > 0) {
    throw new SeccompProfileError(`also allows ${contradicted.join(', ')}`);
  }
  return { text: JSON.stringify(parsed), denied };
}

/** Reads and validates the profile file (by default `sandbox-images/seccomp.json`, see {@link DEFAULT_PROFILE_PATH}). */
export function loadSeccompProfile(path: string): SeccompProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SeccompProfileError(`cannot read ${path}`, { cause: error });
  }
  return validateProfile(text);
}

/** Where the checked-in profile lives, relative to this package. */
// fileURLToPath, not `.pathname`: a checkout path with spaces or non-ASCII characters would stay percent-encoded.
export const DEFAULT_PROFILE_PATH = fileURLToPath(
  new URL('../../../sandbox-images/seccomp.json', import.meta.url),
);
