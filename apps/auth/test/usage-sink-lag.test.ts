// The usage sink's lag in messages against real PostgreSQL and Kafka: while booking is blocked (another
// transaction holds tokens_used locked) usage_consumer_lag_messages shows every waiting event; once the lock is
// gone the sink books them and the gauge returns to 0. The age gauge could not show this: it only moves on a booking.
import { randomUUID } from 'node:crypto';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import { createMetricsRegistry, createUsageSinkMetrics, type UsageSinkMetrics } from '@cyber/telemetry';
import { createUsageAdmin, createUsageProducer, type UsageEvent } from '@cyber/usage-events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageSink } from '../src/billing/index.ts';
import { sharedKafkaBrokers, uniqueName } from '@cyber/usage-events/testing';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined };

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
});
afterAll(async () => {
  await database?.close();
});

async function gauge(metrics: UsageSinkMetrics): Promise<number | undefined> {
  return (await metrics.lagMessages.get()).values[0]?.value;
}

async function until(
  read: () => Promise<number | undefined>,
  wanted: number,
  ms: number,
): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value === wanted || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('usage sink lag', () => {
  it('reports the events waiting while booking is blocked, then 0 once they are booked', async () => {
    const admin = createUsageAdmin({ brokers: sharedKafkaBrokers() });
    const topic = uniqueName('test.llm.usage.lag');
    const groupId = uniqueName('sink-lag');
    await admin.ensureTopic({ topic, partitions: 2 });
    const registry = createMetricsRegistry();
    const metrics = createUsageSinkMetrics(registry);
    const sink = createUsageSink({
      db: database.db,
      brokers: sharedKafkaBrokers(),
      topic,
      groupId,
      maxBatchSize: 100,
      sessionTimeoutMs: 6_000,
      logger: quiet,
      metrics,
    });
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    try {
      const user = await new UsersRepository(database.db).create({
        username: uniqueName('u'),
        password_hash: 'x',
      });
      const model = await database.db
        .insertInto('models')
        .values({ name: uniqueName('m'), context_size: 4096, cost_per_token: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      const events: UsageEvent[] = Array.from({ length: 30 }, () => ({
        eventId: randomUUID(),
        userId: user.id,
        modelId: model.id,
        promptTokens: 3,
        completionTokens: 2,
        cost: 0,
        traceId: null,
        occurredAt: new Date().toISOString(),
      }));
      await producer.connect();
      await producer.send(events);

      let held: number | undefined;
      await database.db.transaction().execute(async (trx) => {
        await sql`lock table tokens_used in exclusive mode`.execute(trx);
        await sink.start();
        // The first measurement comes right after start, then one every 5 s.
        held = await until(() => gauge(metrics), 30, 15_000);
      });
      expect(held).toBe(30);

      expect(await until(() => gauge(metrics), 0, 20_000)).toBe(0);
      const booked = await database.db
        .selectFrom('tokens_used')
        .select(sql<string>`count(*)`.as('rows'))
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(Number(booked.rows)).toBe(30);
      expect(await registry.metrics()).toContain('usage_consumer_lag_messages 0');
    } finally {
      await sink.stop();
      await producer.disconnect().catch(() => undefined);
      await admin.deleteTopics([topic]).catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.close();
    }
  }, 60_000);
});
