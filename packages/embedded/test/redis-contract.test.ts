// The Redis contract: what the services use of Redis, run against the real server (CYBER_REDIS_URL) and the
// embedded one alike. MeterStore's scripts run on both in packages/metering/test/meter-store.test.ts, auth's
// login limiter scripts in apps/auth/test/login-limiter-contract.test.ts (auth depends on metering, so this
// package cannot depend on auth without a workspace cycle).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedRedis } from '../src/index.ts';
import { deletePrefix, redisTargets, type RedisTestServer } from '../src/testing.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(redisTargets())('Redis contract ($name)', (target) => {
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

  it('shares data between clients and runs a loaded script by its sha (EVALSHA)', async () => {
    const other = server.client();
    await other.set(`${prefix}shared`, 'v');
    expect(await redis.get(`${prefix}shared`)).toBe('v');
    const script = "return redis.call('INCR', KEYS[1]) + tonumber(ARGV[1])";
    const sha = createHash('sha1').update(script).digest('hex');
    expect(await redis.script('LOAD', script)).toBe(sha);
    expect(await other.evalsha(sha, 1, `${prefix}n`, 10)).toBe(11);
    expect(await redis.eval(script, 1, `${prefix}n`, 10)).toBe(12);
    const unknown = createHash('sha1').update(`${prefix}never loaded`).digest('hex');
    expect(await other.script('EXISTS', sha, unknown)).toEqual([1, 0]);
    await expect(redis.evalsha(unknown, 0)).rejects.toThrow(/NOSCRIPT/);
  });

  it('expires a key after PEXPIRE and reports PTTL -1 without expiry and -2 when missing', async () => {
    await redis.set(`${prefix}short`, '1');
    expect(await redis.pttl(`${prefix}short`)).toBe(-1);
    expect(await redis.pexpire(`${prefix}short`, 80)).toBe(1);
    const ttl = await redis.pttl(`${prefix}short`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(80);
    await sleep(130);
    expect(await redis.exists(`${prefix}short`)).toBe(0);
    expect(await redis.pttl(`${prefix}short`)).toBe(-2);
  });

  it('delivers published messages in order to a subscriber on another client, and none after it left', async () => {
    const channel = `${prefix}revocations`;
    const subscriber = server.client({ lazyConnect: true });
    expect(subscriber.status).toBe('wait');
    const received: string[] = [];
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) received.push(message);
    });
    await subscriber.connect();
    expect(subscriber.status).toBe('ready');
    await subscriber.subscribe(channel);
    for (const message of ['a', 'b', 'c']) expect(await redis.publish(channel, message)).toBe(1);
    const deadline = Date.now() + 2_000;
    while (received.length < 3 && Date.now() < deadline) await sleep(5);
    expect(received).toEqual(['a', 'b', 'c']);
    const closed = once(subscriber, 'close');
    subscriber.disconnect();
    await closed;
    expect(await redis.publish(channel, 'd')).toBe(0);
  });

  it('goes ready, then on quit emits close and end, reports end and refuses commands', async () => {
    const client = server.client();
    await once(client, 'ready');
    expect(client.status).toBe('ready');
    const events: string[] = [];
    client.on('close', () => events.push('close'));
    const ended = once(client, 'end');
    expect(await client.quit()).toBe('OK');
    await ended;
    expect(events).toEqual(['close']);
    expect(client.status).toBe('end');
    await expect(client.get(`${prefix}x`)).rejects.toThrow();
  });

  it('deletes exactly the keys under a prefix with SCAN and DEL', async () => {
    await redis.set(`${prefix}a:1`, '1');
    await redis.hset(`${prefix}a:2`, 'f', '1');
    await redis.set(`${prefix}b:1`, '1');
    expect(await deletePrefix(redis, `${prefix}a:`)).toBe(2);
    expect(await redis.exists(`${prefix}a:1`, `${prefix}a:2`, `${prefix}b:1`)).toBe(1);
  });
});

describe('createEmbeddedRedis', () => {
  it('keeps two servers apart, and close() ends their clients and refuses new ones', async () => {
    const one = createEmbeddedRedis();
    const two = createEmbeddedRedis();
    const a = one.client();
    const b = two.client();
    await a.set('k', 'one');
    expect(await b.get('k')).toBeNull();
    const duplicate = a.duplicate();
    expect(await duplicate.get('k')).toBe('one');
    const ended = once(a, 'end');
    await one.close();
    await ended;
    expect(a.status).toBe('end');
    expect(duplicate.status).toBe('end');
    expect(() => one.client()).toThrow(/closed/);
    await two.close();
  });
});
