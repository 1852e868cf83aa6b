import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { requireInfra, uniqueName } from './infra-env.ts';

describe('Redis from scripts/infra.sh', () => {
  let client: Redis | undefined;

  afterEach(async () => {
    await client?.quit();
    client = undefined;
  });

  it('stores, reads back and deletes a key', async () => {
    const url = requireInfra('CYBER_REDIS_URL');
    client = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 1 });
    await client.connect();

    const key = uniqueName('smoke:redis');
    const value = `value-${key}`;
    try {
      // The expiry is a safety net: the key disappears even if the test dies before DEL.
      expect(await client.set(key, value, 'PX', 60_000)).toBe('OK');
      expect(await client.get(key)).toBe(value);
      expect(await client.del(key)).toBe(1);
      expect(await client.get(key)).toBeNull();
    } finally {
      await client.del(key);
    }
  });
});
