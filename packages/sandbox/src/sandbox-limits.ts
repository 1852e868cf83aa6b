// Limits of one run: what the caller asked for, filled from the defaults and checked against the admin maxima.
import { RpcError, type RunLimits } from '@cyber/contract';

/** Every limit of a run, resolved. Field meanings follow the contract's RunLimits. */
export type ResolvedLimits = Required<RunLimits> & {
  /** CPU share in nano-CPUs (1e9 = one core); an admin setting, not a per-run request. */
  nanoCpus: number;
  /** Size of the tmpfs mounted at /tmp, in bytes. */
  tmpBytes: number;
};

const MiB = 1024 * 1024;

/** Defaults used when neither the caller nor the admin says otherwise. */
export const DEFAULT_LIMITS: ResolvedLimits = {
  wallMs: 30_000,
  cpuMs: 30_000,
  memoryBytes: 512 * MiB,
  pids: 128,
  openFiles: 256,
  fileSizeBytes: 64 * MiB,
  outputBytes: 1 * MiB,
  nanoCpus: 1_000_000_000,
  tmpBytes: 64 * MiB,
};

const REQUESTABLE = [
  'wallMs',
  'cpuMs',
  'memoryBytes',
  'pids',
  'openFiles',
  'fileSizeBytes',
  'outputBytes',
] as const satisfies readonly (keyof RunLimits)[];

/**
 * Fills omitted limits from `defaults` and refuses (invalid_params, naming the limit and its maximum) any
 * request above `maxima`. Defaults above a maximum are lowered to it, so a small admin maximum needs no
 * matching default.
 */
export function resolveLimits(
  requested: RunLimits | undefined,
  options: { defaults: ResolvedLimits; maxima: ResolvedLimits },
): ResolvedLimits {
  const { defaults, maxima } = options;
  const resolved: ResolvedLimits = {
    ...defaults,
    nanoCpus: Math.min(defaults.nanoCpus, maxima.nanoCpus),
    tmpBytes: Math.min(defaults.tmpBytes, maxima.tmpBytes),
  };
  for (const key of REQUESTABLE) {
    const asked = requested?.[key];
    if (asked === undefined) {
      resolved[key] = Math.min(defaults[key], maxima[key]);
    } else if (asked > maxima[key]) {
      throw new RpcError('invalid_params', {
        message: `limits.${key} ${asked} is above the maximum ${maxima[key]}`,
        data: { limit: key, requested: asked, maximum: maxima[key] },
      });
    } else {
      resolved[key] = asked;
    }
  }
  return resolved;
}

/** Limits that are baked into a container at creation; two runs can share a warm container only if these match. */
export function containerLimitsKey(limits: ResolvedLimits): string {
  return [
    limits.memoryBytes,
    limits.pids,
    limits.openFiles,
    limits.fileSizeBytes,
    limits.cpuMs,
    limits.nanoCpus,
    limits.tmpBytes,
  ].join('/');
}
