// Key resolution behind failure limits, shared by `auth.introspect` (other services asking) and the auth
// service's own X-Cyber-Token check, so guessing keys costs the same wherever it is tried.
import type { FailureLimiter, LimitSubject } from '../identity/login-limiter.js';
import { parseApiKey } from './api-key-format.js';
import type { ApiKeyService, ResolvedApiKey } from './api-key.service.js';

/** Options of {@link resolveWithLimits}. */
export interface LimitedResolveOptions {
  keys: ApiKeyService;
  limiter: FailureLimiter;
  /** Failures allowed per key (its prefix) in the limiter's window. */
  maxFailuresPerKey: number;
  /** Failures allowed per client address in the limiter's window. */
  maxFailuresPerAddress: number;
  token: string;
  /** The end client's address. */
  address: string;
}

/**
 * Resolves a key, or undefined for every kind of refusal alike. Failures count per client address and, when
 * the token has the key format, per key prefix (the account side); past either limit the answer is
 * `rate_limited` with `retryAfter`, before any lookup.
 */
export async function resolveWithLimits(options: LimitedResolveOptions): Promise<ResolvedApiKey | undefined> {
  const subjects: LimitSubject[] = [
    { kind: 'address', id: options.address, max: options.maxFailuresPerAddress },
  ];
  const prefix = parseApiKey(options.token)?.prefix;
  if (prefix !== undefined) subjects.push({ kind: 'key', id: prefix, max: options.maxFailuresPerKey });
  await options.limiter.assertAllowed(subjects);
  const resolved = await options.keys.resolve(options.token);
  if (resolved === undefined) await options.limiter.recordFailure(subjects);
  return resolved;
}
