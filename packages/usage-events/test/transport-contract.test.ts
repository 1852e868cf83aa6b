// The usage transport contract: one suite run against the real Kafka broker of scripts/infra.sh (each test on its
// own one-partition topic and group, so there is one order to compare) and the in-process bus of the standalone
// studio. What auth's usage sink and llmserver's outbox rely on: order, commit only after the handler, a failed
// chunk offered again with nothing skipped, a restarted group resuming after its last commit, invalid messages
// reported once, stop() finishing and committing the chunk in hand, and the group's lag told to onLag.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInProcessUsageBus,
  createUsageAdmin,
  createUsageConsumer,
  createUsageProducer,
  type UsageAdmin,
  type UsageBatchConsumerOptions,
  type UsageConsumer,
  type UsageEvent,
  type UsageProducer,
} from '../src/index.ts';
import { sharedKafkaBrokers, uniqueName } from '../src/testing.ts';

/** One transport opened for one test. */
interface Opened {
  topic: string;
  groupId: string;
  admin: UsageAdmin;
  producer(): Promise<UsageProducer>;
  consumer(options: Omit<UsageBatchConsumerOptions, 'topic' | 'groupId'>): UsageConsumer;
  close(): Promise<void>;
}

interface Transport {
  name: 'kafka' | 'in-process';
  open(): Promise<Opened>;
}

/** Stops consumers, then disconnects producers, then the rest, in reverse order of creation. */
function closer(): { push(close: () => Promise<unknown>): void; run(): Promise<void> } {
  const steps: (() => Promise<unknown>)[] = [];
  return {
    push: (close) => void steps.push(close),
    async run() {
      for (const step of steps.reverse()) {
        await step().catch((error: unknown) => console.error('transport contract cleanup failed:', error));
      }
    },
  };
}

const kafka: Transport = {
  name: 'kafka',
  async open() {
    const brokers = sharedKafkaBrokers();
    const topic = uniqueName('test.llm.usage.contract');
    const groupId = uniqueName('usage-contract');
    const cleanup = closer();
    const admin = createUsageAdmin({ brokers });
    cleanup.push(() => admin.close());
    await admin.ensureTopic({ topic, partitions: 1 });
    cleanup.push(() => admin.deleteTopics([topic]));
    cleanup.push(() => admin.deleteGroups([groupId]));
    return {
      topic,
      groupId,
      admin,
      async producer() {
        const producer = createUsageProducer({ brokers, topic });
        await producer.connect();
        cleanup.push(() => producer.disconnect());
        return producer;
      },
      consumer(options) {
        const consumer = createUsageConsumer({
          brokers,
          sessionTimeoutMs: 6_000,
          topic,
          groupId,
          ...options,
        });
        cleanup.push(() => consumer.stop());
        return consumer;
      },
      close: () => cleanup.run(),
    };
  },
};

const inProcess: Transport = {
  name: 'in-process',
  open() {
    const bus = createInProcessUsageBus();
    const topic = uniqueName('test.llm.usage.contract');
    const groupId = uniqueName('usage-contract');
    const cleanup = closer();
    cleanup.push(() => bus.close());
    return Promise.resolve({
      topic,
      groupId,
      admin: bus.admin(),
      async producer() {
        const producer = bus.producer({ topic });
        await producer.connect();
        cleanup.push(() => producer.disconnect());
        return producer;
      },
      consumer(options) {
        const consumer = bus.consumer({ topic, groupId, ...options });
        cleanup.push(() => consumer.stop());
        return consumer;
      },
      close: () => cleanup.run(),
    });
  },
};

function events(count: number): UsageEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    userId: (i % 5) + 1,
    modelId: 1,
    promptTokens: 10,
    completionTokens: 5,
    cost: i + 1,
    traceId: null,
    occurredAt: new Date().toISOString(),
  }));
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ids = (list: readonly UsageEvent[]): string[] => list.map((e) => e.eventId);

describe.each([kafka, inProcess])('usage transport contract ($name)', (transport) => {
  let t: Opened;
  afterEach(async () => {
    await t.close();
  });

  async function committed(): Promise<bigint | undefined> {
    return (await t.admin.committedOffsets(t.groupId, t.topic)).get(0);
  }

  it('delivers events sent before and after start once each, in order, in chunks of at most maxBatchSize', async () => {
    t = await transport.open();
    const producer = await t.producer();
    const sent = events(30);
    await producer.send(sent.slice(0, 12));
    const received: UsageEvent[] = [];
    let largest = 0;
    await t
      .consumer({
        maxBatchSize: 7,
        handleBatch: (batch) => {
          largest = Math.max(largest, batch.events.length);
          received.push(...batch.events);
          return Promise.resolve();
        },
      })
      .start();
    await producer.send(sent.slice(12, 20));
    await producer.send(sent.slice(20));
    await waitFor(() => received.length >= 30, 30_000, 'every event');
    expect(ids(received)).toEqual(ids(sent));
    expect(largest).toBeLessThanOrEqual(7);
    await waitFor(async () => (await committed()) === 30n, 10_000, 'the commit of offset 30');
    expect(await t.admin.consumerLag(t.groupId, t.topic)).toBe(0);
  }, 60_000);

  it('offers a failed chunk again until it succeeds, commits only then, and skips nothing', async () => {
    t = await transport.open();
    const producer = await t.producer();
    const sent = events(6);
    await producer.send(sent);
    const attempts: string[][] = [];
    const booked: UsageEvent[] = [];
    await t
      .consumer({
        maxBatchSize: 4,
        handleBatch: async (batch) => {
          attempts.push(ids(batch.events));
          // The first attempt fails as a transaction that rolled back would; nothing may be committed yet.
          if (attempts.length === 1) {
            expect(await committed()).toBe(-1n);
            throw new Error('transaction rolled back');
          }
          booked.push(...batch.events);
        },
      })
      .start();
    await waitFor(() => booked.length >= 6, 30_000, 'every event booked');
    expect(attempts[0]).toEqual(ids(sent.slice(0, 4)));
    expect(attempts[1]).toEqual(attempts[0]);
    expect(ids(booked)).toEqual(ids(sent));
    await waitFor(async () => (await committed()) === 6n, 10_000, 'the commit of offset 6');
  }, 60_000);

  it('resumes a restarted group after its last commit, and redelivers what a stopped failing consumer held', async () => {
    t = await transport.open();
    const producer = await t.producer();
    const sent = events(6);
    await producer.send(sent.slice(0, 3));
    const first: UsageEvent[] = [];
    const firstConsumer = t.consumer({
      handleBatch: (batch) => {
        first.push(...batch.events);
        return Promise.resolve();
      },
    });
    await firstConsumer.start();
    await waitFor(() => first.length >= 3, 30_000, 'the first three');
    await waitFor(async () => (await committed()) === 3n, 10_000, 'the commit of offset 3');
    await firstConsumer.stop();

    await producer.send(sent.slice(3));
    let failures = 0;
    const failing = t.consumer({
      handleBatch: () => {
        failures++;
        return Promise.reject(new Error('database down'));
      },
    });
    await failing.start();
    await waitFor(() => failures >= 1, 30_000, 'a failed attempt');
    await failing.stop();
    expect(await committed()).toBe(3n);
    expect(await t.admin.consumerLag(t.groupId, t.topic)).toBe(3);

    const second: UsageEvent[] = [];
    await t
      .consumer({
        handleBatch: (batch) => {
          second.push(...batch.events);
          return Promise.resolve();
        },
      })
      .start();
    await waitFor(() => second.length >= 3, 30_000, 'the last three');
    expect(ids(first)).toEqual(ids(sent.slice(0, 3)));
    expect(ids(second)).toEqual(ids(sent.slice(3)));
  }, 90_000);

  it('reports an invalid message in its batch once and moves past it', async () => {
    t = await transport.open();
    const producer = await t.producer();
    const [before, after] = events(2);
    if (!before || !after) throw new Error('unreachable');
    await producer.send([before]);
    await t.admin.sendRaw(t.topic, [{ key: '1', value: '{"eventId":"broken"}' }]);
    await producer.send([after]);
    const received: UsageEvent[] = [];
    const invalid: { offset: string; value: string | null }[] = [];
    await t
      .consumer({
        handleBatch: (batch) => {
          received.push(...batch.events);
          invalid.push(...batch.invalid.map(({ offset, value }) => ({ offset, value })));
          return Promise.resolve();
        },
      })
      .start();
    await waitFor(async () => (await committed()) === 3n, 30_000, 'the commit of offset 3');
    expect(ids(received)).toEqual(ids([before, after]));
    expect(invalid).toEqual([{ offset: '1', value: '{"eventId":"broken"}' }]);
  }, 60_000);

  it('finishes the chunk in hand on stop() and commits it', async () => {
    t = await transport.open();
    const producer = await t.producer();
    await producer.send(events(2));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    let finished = false;
    const consumer = t.consumer({
      handleBatch: async () => {
        entered = true;
        await gate;
        finished = true;
      },
    });
    await consumer.start();
    await waitFor(() => entered, 30_000, 'the handler');
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    expect(await committed()).toBe(2n);
  }, 60_000);

  it('tells onLag the messages not yet committed, and 0 once the handler caught up', async () => {
    t = await transport.open();
    const producer = await t.producer();
    await producer.send(events(5));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reported: number[] = [];
    await t
      .consumer({
        lagIntervalMs: 100,
        onLag: (messages) => reported.push(messages),
        handleBatch: () => gate,
      })
      .start();
    await waitFor(() => reported.includes(5), 30_000, 'a lag of 5 while the handler holds the chunk');
    release();
    await waitFor(() => reported.at(-1) === 0, 30_000, 'a lag of 0');
  }, 60_000);
});
