// Balances, grants and usage summaries through the real auth app, plus a role matrix of the keys, billing
// and usage methods with the audit rows admin actions leave.
import { randomUUID } from 'node:crypto';
import { MeterStore } from '@cyber/metering';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookUsageBatch } from '../src/billing/index.ts';
import { ADMIN_PASSWORD, TestAuth, type Session } from './auth-harness.ts';

let auth: TestAuth;
let admin: Session;
let developer: Session;
let viewer: Session;

beforeAll(async () => {
  auth = await TestAuth.create();
  await auth.start();
  admin = await auth.login('admin', ADMIN_PASSWORD);
  developer = await auth.userWithRole('developer', admin.accessToken);
  viewer = await auth.userWithRole('viewer', admin.accessToken);
});

afterAll(async () => {
  await auth?.close();
});

const grant = (params: Record<string, unknown>) =>
  auth.call('billing.grant', params, { token: admin.accessToken });
const balanceOf = async (userId: number) =>
  (await auth.ok<{ balance: number }>('billing.balance', { userId }, { token: admin.accessToken })).balance;

describe('billing', () => {
  it('credits, then refuses a debit below zero with a typed error and leaves the balance unchanged', async () => {
    const userId = developer.user.id;
    const credit = await grant({ userId, kind: 'credit', amount: 5_000, reason: 'welcome' });
    expect(credit.result).toMatchObject({ userId, kind: 'credit', amount: 5_000, balance: 5_000 });
    const refused = await grant({ userId, kind: 'debit', amount: 5_001, reason: 'too much' });
    expect(refused.error?.code).toBe(-32013);
    expect(refused.error?.data).toMatchObject({ balance: 5_000, amount: 5_001, key: 'precondition_failed' });
    expect(await balanceOf(userId)).toBe(5_000);
    const debit = await grant({ userId, kind: 'debit', amount: 2_000, reason: 'correction' });
    expect(debit.result).toMatchObject({ kind: 'debit', amount: 2_000, balance: 3_000 });
  });

  it("invalidates llmserver's cached balance on every grant and reports its open reservations", async () => {
    const userId = developer.user.id;
    const redis = new Redis(process.env.CYBER_REDIS_URL ?? '');
    try {
      const meter = new MeterStore(redis, auth.redisPrefix);
      const epoch = await meter.epoch(userId);
      await meter.rebuild({ userId, epoch, balance: await balanceOf(userId), openReservations: [] });
      const held = await meter.reserve({
        userId,
        reservationId: randomUUID(),
        amount: 250,
        tokens: 5,
        limits: { requestsPerMinute: 10, tokensPerMinute: 100 },
        now: Date.now(),
      });
      expect(held.kind).toBe('held');
      const balance = await auth.ok<{ reserved: number; available: number; balance: number }>(
        'billing.balance',
        { userId },
        { token: admin.accessToken },
      );
      expect(balance).toMatchObject({ reserved: 250, available: balance.balance - 250 });
      await grant({ userId, kind: 'debit', amount: 1, reason: 'cache test' });
      expect(await meter.epoch(userId)).toBe(epoch + 1);
      // llmserver must rebuild from PostgreSQL before it may reserve again.
      const next = await meter.reserve({
        userId,
        reservationId: randomUUID(),
        amount: 1,
        tokens: 1,
        limits: { requestsPerMinute: 10, tokensPerMinute: 100 },
        now: Date.now(),
      });
      expect(next).toEqual({ kind: 'rebuild' });
    } finally {
      redis.disconnect();
    }
  });

  it('applies a grant retried with the same idempotency key once and returns the first result', async () => {
    const userId = viewer.user.id;
    const params = { userId, kind: 'credit', amount: 700, reason: 'retry me', idempotencyKey: randomUUID() };
    const answers = await Promise.all([grant(params), grant(params), grant(params)]);
    const ids = new Set(answers.map((a) => (a.result as { grantId: string }).grantId));
    expect(ids.size).toBe(1);
    expect(await balanceOf(userId)).toBe(700);
    const misuse = await grant({ ...params, amount: 800 });
    expect(misuse.error?.code).toBe(-32004);
    const rows = await auth.database.db
      .selectFrom('balance_grants')
      .select('id')
      .where('idempotency_key', '=', params.idempotencyKey)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('sums usage exactly by user, model and day, and shows non-admins only their own', async () => {
    const models = await auth.database.db
      .insertInto('models')
      .values([
        { name: `m-a-${randomUUID().slice(0, 6)}`, context_size: 2048 },
        { name: `m-b-${randomUUID().slice(0, 6)}`, context_size: 2048 },
      ])
      .returning(['id', 'name'])
      .execute();
    const [a, b] = models;
    if (!a || !b) throw new Error('models missing');
    const event = (userId: number, modelId: number, day: string, cost: number) => ({
      eventId: randomUUID(),
      userId,
      modelId,
      promptTokens: 3,
      completionTokens: 4,
      cost,
      traceId: null,
      occurredAt: `${day}T12:00:00.000Z`,
    });
    const events = [
      event(developer.user.id, a.id, '2030-01-01', 10),
      event(developer.user.id, a.id, '2030-01-01', 20),
      event(developer.user.id, b.id, '2030-01-02', 30),
      event(viewer.user.id, a.id, '2030-01-02', 40),
    ];
    await bookUsageBatch(auth.database.db, {
      topic: 't',
      partition: 0,
      events,
      eventOffsets: events.map((_, i) => String(i)),
      invalid: [],
      lastOffset: '3',
    });
    const range = { from: '2030-01-01', to: '2030-01-02' };
    const all = await auth.ok<{ rows: unknown[]; totals: unknown }>(
      'usage.summary',
      { ...range, groupBy: ['user', 'model', 'day'] },
      { token: admin.accessToken },
    );
    expect(all.rows).toEqual([
      {
        userId: developer.user.id,
        model: a.name,
        day: '2030-01-01',
        requests: 2,
        promptTokens: 6,
        completionTokens: 8,
        totalTokens: 14,
        cost: 30,
      },
      {
        userId: developer.user.id,
        model: b.name,
        day: '2030-01-02',
        requests: 1,
        promptTokens: 3,
        completionTokens: 4,
        totalTokens: 7,
        cost: 30,
      },
      {
        userId: viewer.user.id,
        model: a.name,
        day: '2030-01-02',
        requests: 1,
        promptTokens: 3,
        completionTokens: 4,
        totalTokens: 7,
        cost: 40,
      },
    ]);
    expect(all.totals).toEqual({
      requests: 4,
      promptTokens: 12,
      completionTokens: 16,
      totalTokens: 28,
      cost: 100,
    });
    const own = await auth.ok<{ totals: { cost: number } }>(
      'usage.summary',
      { ...range, groupBy: ['day'] },
      { token: viewer.accessToken },
    );
    expect(own.totals.cost).toBe(40);
    const peek = await auth.call(
      'usage.summary',
      { ...range, userId: developer.user.id },
      { token: viewer.accessToken },
    );
    expect(peek.error?.code).toBe(-32002);
  });
});

describe('role matrix: keys, billing, usage', () => {
  type Caller = 'anonymous' | 'viewer' | 'developer' | 'admin';
  const callers: Caller[] = ['anonymous', 'viewer', 'developer', 'admin'];
  const tokenOf = (caller: Caller) =>
    caller === 'anonymous' ? undefined : { viewer, developer, admin }[caller].accessToken;
  // Each row: method, params for a call on another user's data, and which callers succeed.
  const rows: { method: string; params: () => Record<string, unknown>; allowed: Caller[] }[] = [
    { method: 'keys.create', params: () => ({ label: 'matrix' }), allowed: ['viewer', 'developer', 'admin'] },
    { method: 'keys.list', params: () => ({}), allowed: ['viewer', 'developer', 'admin'] },
    { method: 'keys.list', params: () => ({ userId: developer.user.id }), allowed: ['developer', 'admin'] },
    { method: 'billing.balance', params: () => ({}), allowed: ['viewer', 'developer', 'admin'] },
    { method: 'billing.balance', params: () => ({ userId: viewer.user.id }), allowed: ['viewer', 'admin'] },
    {
      method: 'billing.grant',
      params: () => ({ userId: viewer.user.id, kind: 'credit', amount: 1, reason: 'matrix' }),
      allowed: ['admin'],
    },
    { method: 'usage.summary', params: () => ({}), allowed: ['viewer', 'developer', 'admin'] },
    {
      method: 'usage.summary',
      params: () => ({ userId: developer.user.id }),
      allowed: ['developer', 'admin'],
    },
    {
      method: 'auth.introspect',
      params: () => ({ token: `cds_000000000000_${'A'.repeat(43)}` }),
      allowed: callers,
    },
  ];

  for (const row of rows) {
    for (const caller of callers) {
      const allowed = row.allowed.includes(caller);
      it(`${row.method} (${row.params.toString().includes('userId') ? 'naming a user' : 'own'}) as ${caller}: ${allowed ? 'allowed' : 'refused'}`, async () => {
        const answer = await auth.call(row.method, row.params(), { token: tokenOf(caller) });
        if (allowed) expect(answer.error).toBeUndefined();
        else expect(answer.error?.code).toBe(caller === 'anonymous' ? -32001 : -32002);
      });
    }
  }

  it('keys.revoke: owner and admin may revoke, another user gets not_found, anonymous unauthenticated', async () => {
    const make = async () =>
      (
        await auth.ok<{ key: { id: string } }>(
          'keys.create',
          { label: 'r' },
          { token: developer.accessToken },
        )
      ).key.id;
    expect((await auth.call('keys.revoke', { keyId: await make() })).error?.code).toBe(-32001);
    expect(
      (await auth.call('keys.revoke', { keyId: await make() }, { token: viewer.accessToken })).error?.code,
    ).toBe(-32003);
    expect(
      (await auth.call('keys.revoke', { keyId: await make() }, { token: developer.accessToken })).error,
    ).toBeUndefined();
    expect(
      (await auth.call('keys.revoke', { keyId: await make() }, { token: admin.accessToken })).error,
    ).toBeUndefined();
  });

  it('leaves an audit row for every admin grant and admin key revoke', async () => {
    const audit = async (action: string) =>
      (
        await auth.ok<{ items: { actorId: number }[] }>(
          'audit.list',
          { action, limit: 100 },
          { token: admin.accessToken },
        )
      ).items;
    const grants = await auth.database.db.selectFrom('balance_grants').select('id').execute();
    expect((await audit('billing.grant')).length).toBe(grants.length);
    expect((await audit('key.revoke')).every((row) => row.actorId === admin.user.id)).toBe(true);
    expect((await audit('key.revoke')).length).toBeGreaterThanOrEqual(1);
  });
});
