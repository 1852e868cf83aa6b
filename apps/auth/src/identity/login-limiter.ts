// Brute-force protection in Redis: fixed windows of failed attempts per subject (an account, a client address,
// an API-key prefix). A window opens with the first failure and lasts `windowSeconds`; once a subject reaches
// its maximum, attempts are refused with `rate_limited` and `data.retryAfter` until the window ends. Counting
// only failures means a legitimate user is never slowed by their own successful logins.
import { RpcError } from '@cyber/contract';
import type { Redis } from 'ioredis';

/** One thing attempts are counted against. */
export interface LimitSubject {
  /** What it is, e.g. `account`, `address`, `key`. */
  kind: string;
  /** Which one, e.g. a user id, an IP address, a key prefix. */
  id: string;
  /** Failures allowed within the window. */
  max: number;
}

/** Options of {@link FailureLimiter}. */
export interface FailureLimiterOptions {
  redis: Redis;
  /** The installation's Redis key prefix (`config.redis.keyPrefix`). */
  keyPrefix: string;
  /** What is being protected, e.g. `login` or `apikey`; part of every key. */
  scope: string;
  /** Window length in seconds. */
  windowSeconds: number;
}

// Returns the longest remaining window (ms) among subjects at or over their limit, 0 when all may proceed.
const CHECK_SCRIPT = `
local worst = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 1000 end
    if ttl > worst then worst = ttl end
  end
end
return worst`;

// Counts one failure per subject; the first failure of a window starts its expiry.
const FAIL_SCRIPT = `
for _, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 1`;

/** Counts failures in Redis and refuses attempts over the limit. Exported for the keys module too. */
export class FailureLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #windowMs: number;

  constructor(options: FailureLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.keyPrefix}limit:${options.scope}:`;
    this.#windowMs = options.windowSeconds * 1000;
  }

  /** Throws `rate_limited` with `data.retryAfter` (whole seconds) when any subject is over its limit. */
  async assertAllowed(subjects: readonly LimitSubject[]): Promise<void> {
    if (subjects.length === 0) return;
    const waitMs = Number(
      await this.#redis.eval(
        CHECK_SCRIPT,
        subjects.length,
        ...subjects.map((subject) => this.#key(subject)),
        ...subjects.map((subject) => String(subject.max)),
      ),
    );
    if (waitMs > 0) {
      throw new RpcError('rate_limited', {
        message: 'Too many failed attempts; try again later',
        data: { retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) },
      });
    }
  }

  /** Counts one failure against every subject. */
  async recordFailure(subjects: readonly LimitSubject[]): Promise<void> {
    if (subjects.length === 0) return;
    await this.#redis.eval(
      FAIL_SCRIPT,
      subjects.length,
      ...subjects.map((subject) => this.#key(subject)),
      String(this.#windowMs),
    );
  }

  /** Forgets the failures of these subjects (after a success). */
  async reset(subjects: readonly LimitSubject[]): Promise<void> {
    if (subjects.length === 0) return;
    await this.#redis.del(...subjects.map((subject) => this.#key(subject)));
  }

  #key(subject: LimitSubject): string {
    return `${this.#prefix}${subject.kind}:${subject.id}`;
  }
}
