// Usage-sink throughput into PostgreSQL: N events already on a fresh topic, then the sink started and timed
// until every event is a tokens_used row and every offset committed. Also the booking alone (no Kafka), which
// is the database's share. Prints events/s.
//   set -a; . ../../.infra/env; set +a; pnpm bench:sink
import { randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { UsersRepository } from '@cyber/db';
import { createTestDatabase } from '@cyber/db/testing';
import { createUsageAdmin, createUsageProducer, type UsageEvent } from '@cyber/usage-events';
import { sql } from 'kysely';
import { bookUsageBatch, createUsageSink } from '../src/billing/index.js';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const PARTITIONS = 3;
const brokers = (process.env.CYBER_KAFKA_BROKERS ?? '').split(',');
const quiet = { error: console.error, warn: () => undefined, info: () => undefined };

const database = await createTestDatabase({ driver: 'pg', adminUrl: process.env.CYBER_DATABASE_URL });
const admin = createUsageAdmin({ brokers });
const topic = `bench.llm.usage-${randomUUID().slice(0, 8)}`;
const groupId = `bench-sink-${randomUUID().slice(0, 8)}`;
try {
  const users: number[] = [];
  for (let i = 0; i < 50; i++) {
    const user = await new UsersRepository(database.db).create({
      username: `bench-${i}`,
      password_hash: 'x',
    });
    await new UsersRepository(database.db).adjustBalance({ userId: user.id, delta: 1_000_000_000_000 });
    users.push(user.id);
  }
  const model = await database.db
    .insertInto('models')
    .values({ name: 'bench-model', context_size: 4096, cost_per_token: 2 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const make = (): UsageEvent => ({
    eventId: randomUUID(),
    userId: users[randomInt(users.length)] ?? 0,
    modelId: model.id,
    promptTokens: randomInt(1, 2000),
    completionTokens: randomInt(1, 2000),
    cost: randomInt(1, 8000),
    traceId: null,
    occurredAt: new Date().toISOString(),
  });

  // Booking alone: the database's share.
  const direct = Array.from({ length: 20_000 }, make);
  let started = performance.now();
  for (let i = 0; i < direct.length; i += BATCH) {
    const events = direct.slice(i, i + BATCH);
    await bookUsageBatch(database.db, {
      topic: 'direct',
      partition: 0,
      events,
      eventOffsets: events.map((_, j) => String(i + j)),
      invalid: [],
      lastOffset: '0',
    });
  }
  let seconds = (performance.now() - started) / 1000;
  console.log(
    `booking only (PostgreSQL, ${BATCH}/tx): ${direct.length} events in ${seconds.toFixed(2)} s = ${Math.round(direct.length / seconds)} events/s`,
  );

  await admin.ensureTopic({ topic, partitions: PARTITIONS });
  const producer = createUsageProducer({ brokers, topic });
  await producer.connect();
  for (let i = 0; i < N; i += 5_000)
    await producer.send(Array.from({ length: Math.min(5_000, N - i) }, make));
  await producer.disconnect();

  const before = Number(
    (await sql<{ n: number }>`select count(*)::bigint as n from tokens_used`.execute(database.db)).rows[0]?.n,
  );
  const sink = createUsageSink({
    db: database.db,
    brokers,
    topic,
    groupId,
    maxBatchSize: BATCH,
    logger: quiet,
    partitionsConsumedConcurrently: PARTITIONS,
  });
  started = performance.now();
  await sink.start();
  for (;;) {
    const committed = [...(await admin.committedOffsets(groupId, topic)).values()].reduce(
      (a, b) => a + b,
      0n,
    );
    if (committed >= BigInt(N)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  seconds = (performance.now() - started) / 1000;
  await sink.stop();
  const after = Number(
    (await sql<{ n: number }>`select count(*)::bigint as n from tokens_used`.execute(database.db)).rows[0]?.n,
  );
  console.log(
    `usage sink (Kafka -> PostgreSQL, ${PARTITIONS} partitions, ${BATCH}/tx): ${after - before} events in ${seconds.toFixed(2)} s = ${Math.round((after - before) / seconds)} events/s (includes group join)`,
  );
} finally {
  await admin.deleteTopics([topic]).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.close();
  await database.close();
}
