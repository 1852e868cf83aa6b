// The metering scripts against the real Redis of scripts/infra.sh and the embedded one (@cyber/embedded): the
// same suite, so the standalone studio meters exactly as a deployment with Redis does.
import { randomUUID } from 'node:crypto';
import { redisTargets, type RedisTestServer } from '@cyber/embedded/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeterStore, type HeldReservation } from '../src/index.js';

const limits = { requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 };
const now = Date.UTC(2026, 10, 27, 12, 0, 30);

describe.each(redisTargets())('MeterStore ($name Redis)', (target) => {
  let server: RedisTestServer;
  let redis: Redis;
  let store: MeterStore;
  let prefix: string;

  beforeAll(() => {
    server = target.open();
    redis = server.client();
    prefix = `${server.prefix}meter-test:`;
    store = new MeterStore(redis, prefix);
  });

  afterAll(async () => {
    await store.reset();
    await server.close();
  });

  async function built(userId: number, balance: number): Promise<void> {
    expect(
      await store.rebuild({ userId, epoch: await store.epoch(userId), balance, openReservations: [] }),
    ).toBe(true);
  }

  function hold(userId: number, amount: number, tokens = 10) {
    return store.reserve({ userId, reservationId: randomUUID(), amount, tokens, limits, now });
  }

  it('asks for a rebuild before anything is cached', async () => {
    expect(await hold(1, 5)).toEqual({ kind: 'rebuild' });
  });

  it('never reserves past the balance under 100 concurrent requests', async () => {
    await built(2, 1_000);
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => hold(2, 100)));
    const held = outcomes.filter((o) => o.kind === 'held');
    expect(held).toHaveLength(10);
    expect(outcomes.filter((o) => o.kind === 'budget')).toHaveLength(90);
    expect(await store.snapshot(2)).toMatchObject({ balance: 1_000, reserved: 1_000, reservations: 10 });
    // Settle each for less than the worst case: the difference becomes spendable again.
    for (const outcome of held) {
      if (outcome.kind !== 'held') throw new Error('unreachable');
      expect(await store.settle(outcome.reservation, { cost: 60, tokens: 6 })).toBe(true);
    }
    expect(await store.snapshot(2)).toMatchObject({ balance: 400, reserved: 0, reservations: 0 });
    expect(await hold(2, 401)).toEqual({ kind: 'budget', available: 400 });
  });

  it('rebuilds after an invalidation and refuses a rebuild computed at an old epoch', async () => {
    await built(3, 500);
    const first = await hold(3, 200);
    expect(first.kind).toBe('held');
    const epoch = await store.epoch(3);
    await store.invalidate(3); // a grant landed in PostgreSQL
    expect(await hold(3, 1)).toEqual({ kind: 'rebuild' });
    expect(await store.rebuild({ userId: 3, epoch, balance: 9_999, openReservations: [] })).toBe(false);
    expect(
      await store.rebuild({ userId: 3, epoch: await store.epoch(3), balance: 700, openReservations: [] }),
    ).toBe(true);
    // The reservation made before the grant is still held against the new balance.
    expect(await store.snapshot(3)).toMatchObject({ balance: 700, reserved: 200, reservations: 1 });
    expect(await hold(3, 501)).toMatchObject({ kind: 'budget', available: 500 });
  });

  it('restores the open reservations it is given when Redis lost the hash', async () => {
    await built(4, 1_000);
    const outcome = await hold(4, 300);
    if (outcome.kind !== 'held') throw new Error('expected a reservation');
    await redis.del(store.meterKey(4)); // Redis restarted empty
    expect(await hold(4, 1)).toEqual({ kind: 'rebuild' });
    await store.rebuild({
      userId: 4,
      epoch: await store.epoch(4),
      balance: 1_000,
      openReservations: [{ reservationId: outcome.reservation.reservationId, amount: 300 }],
    });
    expect(await store.snapshot(4)).toMatchObject({ balance: 1_000, reserved: 300, reservations: 1 });
    expect(await store.settle(outcome.reservation, { cost: 100, tokens: 10 })).toBe(true);
    expect(await store.snapshot(4)).toMatchObject({ balance: 900, reserved: 0 });
  });

  it('charges nothing to the cache for a reservation a rebuild already accounted', async () => {
    await built(5, 1_000);
    const ghost: HeldReservation = {
      userId: 5,
      reservationId: randomUUID(),
      amount: 100,
      tokens: 10,
      rateKey: `${prefix}meter:rate:5:0`,
    };
    expect(await store.settle(ghost, { cost: 40, tokens: 4 })).toBe(false);
    expect(await store.snapshot(5)).toMatchObject({ balance: 1_000, reserved: 0 });
  });

  it('limits requests and tokens per minute and gives tokens back on settle', async () => {
    await built(6, 1_000_000);
    const tight = { requestsPerMinute: 3, tokensPerMinute: 100 };
    const reserve = (tokens: number, at = now) =>
      store.reserve({ userId: 6, reservationId: randomUUID(), amount: 1, tokens, limits: tight, now: at });
    const first = await reserve(60);
    expect(first.kind).toBe('held');
    expect(await reserve(50)).toEqual({ kind: 'rate', limit: 'tokens', used: 60, retryAfterMs: 30_000 });
    if (first.kind !== 'held') throw new Error('unreachable');
    await store.settle(first.reservation, { cost: 1, tokens: 20 }); // 40 tokens unused go back
    expect((await reserve(50)).kind).toBe('held');
    expect((await reserve(10)).kind).toBe('held');
    expect(await reserve(1)).toMatchObject({ kind: 'rate', limit: 'requests', used: 3 });
    // The next minute is a new window.
    expect((await reserve(1, now + 30_000)).kind).toBe('held');
  });

  it('reports reservations for billing.balance and resets everything at start', async () => {
    await built(7, 100);
    await hold(7, 30);
    expect(await store.reservedOf(7)).toBe(30);
    expect(await store.reservedOf(999)).toBe(0);
    expect(await store.reset()).toBeGreaterThan(0);
    expect(await store.snapshot(7)).toEqual({
      balance: null,
      reserved: 0,
      reservations: 0,
      epoch: 0,
      built: null,
    });
  });
});
