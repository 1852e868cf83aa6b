// Test support (entry `@cyber/embedded/testing`): the two Redis servers every Redis contract test runs against,
// behind one factory, so a suite written once (`describe.each(redisTargets())`) proves the embedded server
// behaves as the real one for what the services use.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { createEmbeddedRedis, type EmbeddedRedisClientOptions } from './embedded-redis.js';

/** A server opened for one test file (or one test): clients of it share data and pub/sub. */
export interface RedisTestServer {
  /** A new client; closed by {@link RedisTestServer.close} unless the test closes it first. */
  client(options?: EmbeddedRedisClientOptions): Redis;
  /** A key prefix no other test uses; everything a test writes goes under it. */
  prefix: string;
  /** Deletes the keys under the prefix, then disconnects every client it made. */
  close(): Promise<void>;
}

/** One implementation of the Redis role. */
export interface RedisTarget {
  /** `real` (the server of scripts/infra.sh, at CYBER_REDIS_URL) or `embedded` (createEmbeddedRedis). */
  name: 'real' | 'embedded';
  /** Opens a server for a test; the real one needs CYBER_REDIS_URL. */
  open(): RedisTestServer;
}

/** The real Redis and the embedded one, for `describe.each(redisTargets())('… ($name)', …)`. */
export function redisTargets(): RedisTarget[] {
  return [
    { name: 'real', open: openReal },
    { name: 'embedded', open: openEmbedded },
  ];
}

function openReal(): RedisTestServer {
  const url = process.env.CYBER_REDIS_URL;
  if (!url) throw new Error('CYBER_REDIS_URL is not set: run `scripts/infra.sh up` (writes .infra/env).');
  const prefix = `test:${randomUUID()}:`;
  const clients = new Set<Redis>();
  return {
    prefix,
    client(options: RedisOptions = {}) {
      const client = new Redis(url, options);
      clients.add(client);
      return client;
    },
    async close() {
      const janitor = new Redis(url);
      try {
        await deletePrefix(janitor, prefix);
      } finally {
        janitor.disconnect();
      }
      for (const client of clients) client.disconnect();
    },
  };
}

function openEmbedded(): RedisTestServer {
  const server = createEmbeddedRedis();
  return {
    prefix: `test:${randomUUID()}:`,
    client: (options) => server.client(options),
    close: () => server.close(),
  };
}

/** Deletes every key under `prefix` with SCAN and DEL; returns how many were deleted. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) removed += await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return removed;
}
