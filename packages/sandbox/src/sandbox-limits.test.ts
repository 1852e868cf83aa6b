import { RpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, containerLimitsKey, resolveLimits } from './sandbox-limits.js';

const maxima = { ...DEFAULT_LIMITS, wallMs: 10_000, memoryBytes: 256 * 1024 * 1024 };

describe('resolveLimits', () => {
  it('fills omitted limits from the defaults, lowered to the maxima', () => {
    const limits = resolveLimits({ pids: 10 }, { defaults: DEFAULT_LIMITS, maxima });
    expect(limits).toMatchObject({ pids: 10, wallMs: 10_000, memoryBytes: 256 * 1024 * 1024 });
  });

  it('refuses a request above a maximum with invalid_params naming the limit', () => {
    const attempt = () => resolveLimits({ wallMs: 20_000 }, { defaults: DEFAULT_LIMITS, maxima });
    expect(attempt).toThrow(RpcError);
    expect(attempt).toThrow(/limits\.wallMs 20000 is above the maximum 10000/);
  });

  it('keys warm containers by container-level limits only', () => {
    const a = resolveLimits({ wallMs: 1000, outputBytes: 4096 }, { defaults: DEFAULT_LIMITS, maxima });
    const b = resolveLimits(undefined, { defaults: DEFAULT_LIMITS, maxima });
    const c = resolveLimits({ pids: 3 }, { defaults: DEFAULT_LIMITS, maxima });
    expect(containerLimitsKey(a)).toBe(containerLimitsKey(b));
    expect(containerLimitsKey(c)).not.toBe(containerLimitsKey(b));
  });
});
