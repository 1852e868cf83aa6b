// The usage ledger against real PostgreSQL and Kafka: exactly-once booking from at-least-once delivery, a
// sink killed mid-stream, usage beyond the balance, and messages that must be parked.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase, type TestDatabase } from '@cyber/db/testing';
import {
  createInProcessUsageBus,
  createUsageAdmin,
  createUsageProducer,
  type UsageAdmin,
  type UsageEvent,
} from '@cyber/usage-events';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../src/audit/index.ts';
import { bookUsageBatch, createUsageSink, grantBalance } from '../src/billing/index.ts';
import { sharedKafkaBrokers, uniqueName } from '@cyber/usage-events/testing';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined };

let database: TestDatabase;
let admin: UsageAdmin;
let modelId: number;

async function newUser(balance: number): Promise<number> {
  const user = await new UsersRepository(database.db).create({
    username: uniqueName('u'),
    password_hash: 'x',
  });
  if (balance > 0) {
    await grantBalance(database.db, {
      userId: user.id,
      kind: 'credit',
      amount: balance,
      reason: 'test budget',
      idempotencyKey: undefined,
      actor: SYSTEM_ACTOR,
    });
  }
  return user.id;
}

function usage(userId: number, cost: number): UsageEvent {
  return {
    eventId: randomUUID(),
    userId,
    modelId,
    promptTokens: randomInt(0, 500),
    completionTokens: randomInt(0, 500),
    cost,
    traceId: null,
    occurredAt: new Date().toISOString(),
  };
}

async function ledgerOf(userIds: number[]) {
  const rows = await database.db
    .selectFrom('tokens_used')
    .select([
      sql<number>`count(*)::bigint`.as('rows'),
      sql<number>`coalesce(sum(cost), 0)::bigint`.as('cost'),
    ])
    .where('user_id', 'in', userIds)
    .executeTakeFirstOrThrow();
  const balances = await database.db
    .selectFrom('users')
    .select(['id', 'balance'])
    .where('id', 'in', userIds)
    .execute();
  return { ...rows, balance: balances.reduce((sum, b) => sum + b.balance, 0) };
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
  admin = createUsageAdmin({ brokers: sharedKafkaBrokers() });
  const model = await database.db
    .insertInto('models')
    .values({ name: uniqueName('m'), context_size: 4096, cost_per_token: 1 })
    .returning('id')
    .executeTakeFirstOrThrow();
  modelId = model.id;
});

afterAll(async () => {
  await admin?.close();
  await database?.close();
});

describe('usage sink', () => {
  it('books 10,000 events published twice in shuffled order exactly once, across a SIGKILLed sink and its restart', async () => {
    const topic = uniqueName('test.llm.usage');
    const groupId = uniqueName('sink');
    await admin.ensureTopic({ topic, partitions: 3 });
    const users = await Promise.all(Array.from({ length: 8 }, () => newUser(50_000_000)));
    const events = Array.from({ length: 10_000 }, (_, i) =>
      usage(users[i % users.length] ?? 0, randomInt(1, 1000)),
    );
    const doubled = [...events, ...events];
    for (let i = doubled.length - 1; i > 0; i--) {
      const j = randomInt(0, i + 1);
      [doubled[i], doubled[j]] = [doubled[j] as UsageEvent, doubled[i] as UsageEvent];
    }
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    for (let i = 0; i < doubled.length; i += 2_000) await producer.send(doubled.slice(i, i + 2_000));
    await producer.disconnect();

    // First sink in a child process: killed without warning once it has booked a few batches.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@cyber/source',
        fileURLToPath(new URL('fixtures/usage-sink-child.ts', import.meta.url)),
      ],
      {
        env: {
          ...process.env,
          SINK_DATABASE_URL: database.url,
          SINK_TOPIC: topic,
          SINK_GROUP: groupId,
          SINK_BATCH: '200',
        },
        // `--import tsx` resolves from the working directory: this package has tsx, the root does not.
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let batches = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        batches += (chunk.toString().match(/booked/g) ?? []).length;
        if (batches >= 5) resolve();
      });
      child.on('exit', (code) => reject(new Error(`sink child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const afterKill = await ledgerOf(users);
    expect(afterKill.rows).toBeGreaterThan(0);
    expect(afterKill.rows).toBeLessThan(10_000);

    // The restarted sink (same group) picks up from the last committed offsets and re-reads the rest.
    const sink = createUsageSink({
      db: database.db,
      brokers: sharedKafkaBrokers(),
      topic,
      groupId,
      maxBatchSize: 500,
      sessionTimeoutMs: 6_000,
      logger: quiet,
    });
    await sink.start();
    try {
      await waitFor(
        async () => [...(await admin.committedOffsets(groupId, topic)).values()].reduce((a, b) => a + b, 0n),
        (committed) => committed === 20_000n,
        45_000,
      );
    } finally {
      await sink.stop();
    }

    const ledger = await ledgerOf(users);
    const totalCost = events.reduce((sum, e) => sum + e.cost, 0);
    expect(ledger.rows).toBe(10_000);
    expect(ledger.cost).toBe(totalCost);
    expect(ledger.balance).toBe(users.length * 50_000_000 - totalCost);
    await admin.deleteTopics([topic]);
    await admin.deleteGroups([groupId]);
  }, 90_000);

  it('reads from the consumer a createConsumer factory makes (the in-process bus of the standalone studio), booking each event once', async () => {
    const bus = createInProcessUsageBus();
    const userId = await newUser(1_000);
    const events = [usage(userId, 10), usage(userId, 20), usage(userId, 30)];
    const sink = createUsageSink({
      db: database.db,
      brokers: ['unused.invalid:9092'],
      topic: 'llm.usage',
      groupId: uniqueName('sink'),
      maxBatchSize: 100,
      logger: quiet,
      createConsumer: (options) => bus.consumer(options),
    });
    try {
      await sink.start();
      const producer = bus.producer({ topic: 'llm.usage' });
      await producer.connect();
      await producer.send(events);
      // A resend (the outbox after a crash) is booked once.
      await producer.send(events);
      const ledger = await waitFor(
        () => ledgerOf([userId]),
        (value) => value.rows === 3,
        10_000,
      );
      expect(ledger).toEqual({ rows: 3, cost: 60, balance: 940 });
    } finally {
      await sink.stop();
      await bus.close();
    }
  });

  it('takes a balance to 0, never below, when usage exceeds it, and records the uncovered rest as a shortfall', async () => {
    const userId = await newUser(100);
    const a = usage(userId, 60);
    const b = usage(userId, 90);
    const batch = {
      topic: 't',
      partition: 0,
      events: [a, b],
      eventOffsets: ['1', '2'],
      invalid: [],
      lastOffset: '2',
    };
    const result = await bookUsageBatch(database.db, batch);
    expect(result).toMatchObject({ inserted: 2, debited: 100, shortfall: 50 });
    const ledger = await ledgerOf([userId]);
    expect(ledger).toEqual({ rows: 2, cost: 150, balance: 0 });
    const shortfalls = await sql<{ charged: number; shortfall: number; event_ids: string[] }>`
      select charged, shortfall, event_ids from usage_shortfalls where user_id = ${userId}`.execute(
      database.db,
    );
    expect(shortfalls.rows).toEqual([{ charged: 150, shortfall: 50, event_ids: [a.eventId, b.eventId] }]);

    // Redelivery of the same events books nothing more and records no further shortfall.
    const again = await bookUsageBatch(database.db, batch);
    expect(again).toMatchObject({ inserted: 0, duplicates: 2, debited: 0, shortfall: 0 });
  });

  it('parks schema failures and events of unknown users or models once, and books the valid rest', async () => {
    const userId = await newUser(1_000);
    const good = usage(userId, 10);
    const ghost = { ...usage(userId, 10), userId: 987_654_321 };
    const batch = {
      topic: uniqueName('dlq'),
      partition: 1,
      events: [good, ghost],
      eventOffsets: ['7', '8'],
      invalid: [
        { topic: 'x', partition: 1, offset: '9', key: '1', value: '{"cost":-1}', error: 'cost: too small' },
      ],
      lastOffset: '9',
    };
    batch.invalid[0] = { ...batch.invalid[0], topic: batch.topic } as (typeof batch.invalid)[number];
    expect(await bookUsageBatch(database.db, batch)).toMatchObject({ inserted: 1, parked: 2 });
    expect(await bookUsageBatch(database.db, batch)).toMatchObject({ inserted: 0, parked: 0 });
    const parked = await sql<{ kafka_offset: number; error: string }>`
      select kafka_offset, error from usage_dead_letters where topic = ${batch.topic} order by kafka_offset`.execute(
      database.db,
    );
    expect(parked.rows).toEqual([
      { kafka_offset: 8, error: 'unknown user 987654321' },
      { kafka_offset: 9, error: 'cost: too small' },
    ]);
    expect((await ledgerOf([userId])).balance).toBe(990);
  });
});
