// Against the real Kafka broker from scripts/infra.sh: each test makes its own topic and consumer group.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createUsageAdmin,
  createUsageConsumer,
  createUsageProducer,
  decodeUsageMessage,
  encodeUsageEvent,
  type UsageAdmin,
  type UsageBatch,
  type UsageConsumer,
  type UsageEvent,
} from '../src/index.ts';
import { sharedKafkaBrokers, uniqueName } from '../src/testing.ts';

function event(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    eventId: randomUUID(),
    userId: 1,
    modelId: 1,
    promptTokens: 10,
    completionTokens: 5,
    cost: 15,
    traceId: null,
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('usage event schema', () => {
  it('round-trips a valid event and keys it by user so one user stays on one partition', () => {
    const sent = event({ userId: 42, traceId: 'a'.repeat(32) });
    const encoded = encodeUsageEvent(sent);
    expect(encoded.key).toBe('42');
    expect(decodeUsageMessage(encoded.value)).toEqual({ ok: true, event: sent });
  });

  it('refuses fractional money, negative tokens, a bad uuid and non-JSON without throwing', () => {
    expect(decodeUsageMessage(JSON.stringify({ ...event(), cost: 1.5 })).ok).toBe(false);
    expect(decodeUsageMessage(JSON.stringify({ ...event(), promptTokens: -1 })).ok).toBe(false);
    expect(decodeUsageMessage(JSON.stringify({ ...event(), eventId: 'nope' })).ok).toBe(false);
    expect(decodeUsageMessage('{not json')).toEqual({ ok: false, error: 'value is not JSON' });
    expect(decodeUsageMessage(null).ok).toBe(false);
  });

  it('refuses to encode an invalid event, so a producer bug never reaches the topic', () => {
    expect(() => encodeUsageEvent({ ...event(), cost: -1 })).toThrow();
  });
});

describe('usage producer and consumer on the real broker', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error('usage-events cleanup failed:', error));
    }
    cleanups.length = 0;
  });

  async function setup(partitions: number): Promise<{ admin: UsageAdmin; topic: string; groupId: string }> {
    const admin = createUsageAdmin({ brokers: sharedKafkaBrokers() });
    cleanups.push(() => admin.close());
    const topic = uniqueName('test.llm.usage');
    const groupId = uniqueName('usage-test');
    await admin.ensureTopic({ topic, partitions });
    cleanups.push(() => admin.deleteTopics([topic]));
    cleanups.push(() => admin.deleteGroups([groupId]));
    return { admin, topic, groupId };
  }

  function consumer(options: {
    topic: string;
    groupId: string;
    handleBatch: (batch: UsageBatch) => Promise<void>;
    maxBatchSize?: number;
  }): UsageConsumer {
    const created = createUsageConsumer({
      brokers: sharedKafkaBrokers(),
      sessionTimeoutMs: 6_000,
      ...options,
    });
    cleanups.push(() => created.stop());
    return created;
  }

  it('starts on a fresh installation where the topic does not exist yet, then receives what is produced', async () => {
    const admin = createUsageAdmin({ brokers: sharedKafkaBrokers() });
    cleanups.push(() => admin.close());
    const topic = uniqueName('test.llm.usage.fresh');
    const groupId = uniqueName('usage-test');
    cleanups.push(() => admin.deleteTopics([topic]));
    cleanups.push(() => admin.deleteGroups([groupId]));
    const received: UsageEvent[] = [];
    await consumer({
      topic,
      groupId,
      handleBatch: (batch) => {
        received.push(...batch.events);
        return Promise.resolve();
      },
    }).start();
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = event({ userId: 1, cost: 5 });
    await producer.send([sent]);
    await waitFor(() => received.length >= 1, 30_000, 'the event');
    expect(received.map((e) => e.eventId)).toEqual([sent.eventId]);
  }, 60_000);

  it('delivers every event once in chunks no larger than maxBatchSize, with invalid messages set apart', async () => {
    const { admin, topic, groupId } = await setup(3);
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 250 }, (_, i) => event({ userId: (i % 7) + 1, cost: i }));
    await producer.send(sent);
    await admin.sendRaw(topic, [{ key: '1', value: '{"eventId":"broken"}' }]);

    const received: UsageEvent[] = [];
    const invalid: string[] = [];
    let largest = 0;
    await consumer({
      topic,
      groupId,
      maxBatchSize: 40,
      handleBatch: (batch) => {
        largest = Math.max(largest, batch.events.length + batch.invalid.length);
        received.push(...batch.events);
        invalid.push(...batch.invalid.map((message) => message.value ?? ''));
        return Promise.resolve();
      },
    }).start();

    await waitFor(() => received.length + invalid.length >= 251, 30_000, 'all messages');
    expect(largest).toBeLessThanOrEqual(40);
    expect(new Set(received.map((e) => e.eventId))).toEqual(new Set(sent.map((e) => e.eventId)));
    expect(received).toHaveLength(250);
    expect(invalid).toEqual(['{"eventId":"broken"}']);
  }, 60_000);

  it('commits offsets only after the handler succeeds: a failing handler gets the same batch again', async () => {
    const { admin, topic, groupId } = await setup(1);
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 5 }, () => event());
    await producer.send(sent);

    const attempts: string[][] = [];
    await consumer({
      topic,
      groupId,
      handleBatch: (batch) => {
        attempts.push(batch.events.map((e) => e.eventId));
        // Fail the first attempt, as a database transaction that rolled back would.
        return attempts.length === 1
          ? Promise.reject(new Error('transaction rolled back'))
          : Promise.resolve();
      },
    }).start();

    await waitFor(() => attempts.length >= 2, 30_000, 'the retried batch');
    expect(attempts[1]).toEqual(attempts[0]);
    expect(attempts[0]).toEqual(sent.map((e) => e.eventId));
    let committed = new Map<number, bigint>();
    const deadline = Date.now() + 10_000;
    while (committed.get(0) !== 5n && Date.now() < deadline) {
      committed = await admin.committedOffsets(groupId, topic);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(committed.get(0)).toBe(5n);
  }, 60_000);

  it('leaves the offset uncommitted when stopped while the handler keeps failing, so a successor redelivers', async () => {
    const { admin, topic, groupId } = await setup(1);
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 3 }, () => event());
    await producer.send(sent);

    let failures = 0;
    const failing = createUsageConsumer({
      brokers: sharedKafkaBrokers(),
      topic,
      groupId,
      sessionTimeoutMs: 6_000,
      handleBatch: () => {
        failures++;
        return Promise.reject(new Error('database down'));
      },
    });
    await failing.start();
    await waitFor(() => failures >= 1, 30_000, 'a failed attempt');
    await failing.stop();
    expect((await admin.committedOffsets(groupId, topic)).get(0)).toBe(-1n);

    const redelivered: string[] = [];
    await consumer({
      topic,
      groupId,
      handleBatch: (batch) => {
        redelivered.push(...batch.events.map((e) => e.eventId));
        return Promise.resolve();
      },
    }).start();
    await waitFor(() => redelivered.length >= 3, 30_000, 'redelivery');
    expect(redelivered).toEqual(sent.map((e) => e.eventId));
  }, 60_000);
});
