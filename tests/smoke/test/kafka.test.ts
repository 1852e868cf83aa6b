import {
  type Admin,
  type Consumer,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
  type KafkaMessage,
} from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { requireInfra, uniqueName, within } from './infra-env.ts';

describe('Kafka from scripts/infra.sh', () => {
  const cleanups: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    // Reverse order: consumer and producer go before the topic and group they use.
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error('kafka smoke cleanup failed:', error));
    }
    cleanups.length = 0;
  });

  it('delivers a message from an idempotent producer to a new consumer group on a fresh topic', async () => {
    const brokers = requireInfra('CYBER_KAFKA_BROKERS').split(',');
    const topic = uniqueName('smoke.kafka');
    const groupId = uniqueName('smoke-group');
    const kafka = new Kafka({
      clientId: 'cyber-smoke',
      brokers,
      logLevel: logLevel.ERROR,
      connectionTimeout: 5_000,
      retry: { retries: 5 },
    });

    const admin: Admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    cleanups.push(() => admin.deleteTopics({ topics: [topic], timeout: 10_000 }));

    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const key = uniqueName('key');
    const value = JSON.stringify({ smoke: true, topic, key });
    const [sent] = await producer.send({ topic, acks: -1, messages: [{ key, value }] });
    expect(sent?.errorCode).toBe(0);

    const consumer: Consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    cleanups.push(() => admin.deleteGroups([groupId]));
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<KafkaMessage>((resolve) => {
      void consumer.run({
        eachMessage: ({ message }) => {
          resolve(message);
          return Promise.resolve();
        },
      });
    });
    const message = await within(received, 30_000, `no message arrived on ${topic}`);

    expect(message.key?.toString()).toBe(key);
    expect(message.value?.toString()).toBe(value);
    expect(message.offset).toBe('0');
  }, 60_000);
});
