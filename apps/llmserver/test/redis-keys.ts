// Cleanup of the Redis keys a test harness wrote under its own key prefix. Here, beside llm-harness.ts, because
// the gateway's tests already import this folder (agent-stack.ts); the natural owner, @cyber/auth-client, whose
// verifier writes under the prefix, has no `testing` entry yet.
import { Redis } from 'ioredis';

/** Deletes every key that starts with `prefix` (SCAN, then DEL per batch) over its own short connection. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
