// auth's login limiter scripts on the real Redis and on the standalone studio's embedded one: the same
// contract (packages/embedded/test/redis-contract.test.ts covers the rest of what the services use).
import { isRpcError } from '@cyber/contract';
import { redisTargets, type RedisTestServer } from '@cyber/embedded/testing';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureLimiter } from '../src/identity/login-limiter.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(redisTargets())('login limiter on Redis ($name)', (target) => {
  let server: RedisTestServer;
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    server = target.open();
    prefix = server.prefix;
    redis = server.client();
    await redis.ping();
  });

  afterEach(async () => {
    await server.close();
  });

  describe('scripts', () => {
    const subject = (id: string, max = 3) => ({ kind: 'account', id, max });

    it('refuses a subject at its maximum with rate_limited and retryAfter from PTTL, others pass', async () => {
      const limiter = new FailureLimiter({ redis, keyPrefix: prefix, scope: 'login', windowSeconds: 60 });
      for (let i = 0; i < 3; i++) {
        await limiter.assertAllowed([subject('alice'), subject('bob')]);
        await limiter.recordFailure([subject('alice')]);
      }
      const refused = await limiter.assertAllowed([subject('bob'), subject('alice')]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isRpcError(refused) && refused.key).toBe('rate_limited');
      expect(isRpcError(refused) && refused.data).toEqual({ retryAfter: 60 });
      await limiter.assertAllowed([subject('bob')]);
      // The window started with the first failure and is not extended by later ones.
      const ttl = await redis.pttl(`${prefix}limit:login:account:alice`);
      expect(ttl).toBeGreaterThan(58_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await limiter.reset([subject('alice')]);
      await limiter.assertAllowed([subject('alice')]);
    });

    it('forgets the failures once the window ends', async () => {
      const limiter = new FailureLimiter({ redis, keyPrefix: prefix, scope: 'short', windowSeconds: 1 });
      await limiter.recordFailure([subject('carol', 1)]);
      await expect(limiter.assertAllowed([subject('carol', 1)])).rejects.toMatchObject({
        key: 'rate_limited',
        data: { retryAfter: 1 },
      });
      await sleep(1_050);
      await limiter.assertAllowed([subject('carol', 1)]);
    });
  });
});
