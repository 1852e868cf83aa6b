// Consumer lag in messages against the real Kafka broker from scripts/infra.sh: events produced while no consumer
// of the group runs are counted (high watermark minus committed offset, over every partition), the running
// consumer reports the lag on its timer until it is back to 0, and stop() ends the timer.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createUsageAdmin,
  createUsageConsumer,
  createUsageProducer,
  type UsageConsumer,
  type UsageEvent,
} from '../src/index.ts';
import { sharedKafkaBrokers, uniqueName } from '../src/testing.ts';

function events(count: number): UsageEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    // Several users, so the events spread over the partitions.
    userId: (i % 5) + 1,
    modelId: 1,
    promptTokens: 10,
    completionTokens: 5,
    cost: 15,
    traceId: null,
    occurredAt: new Date().toISOString(),
  }));
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('usage consumer lag in messages', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error('consumer-lag cleanup failed:', error));
    }
    cleanups.length = 0;
  });

  it('counts what was produced while the group was stopped, and reports 0 once the consumer caught up', async () => {
    const admin = createUsageAdmin({ brokers: sharedKafkaBrokers() });
    cleanups.push(() => admin.close());
    const topic = uniqueName('test.llm.usage.lag');
    const groupId = uniqueName('usage-lag-test');
    await admin.ensureTopic({ topic, partitions: 3 });
    cleanups.push(() => admin.deleteTopics([topic]));
    cleanups.push(() => admin.deleteGroups([groupId]));
    const producer = createUsageProducer({ brokers: sharedKafkaBrokers(), topic });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const booked = new Set<string>();
    const reported: number[] = [];
    // The handler waits at this gate, so the running consumer holds events it has not committed yet.
    let openGate: () => void = () => undefined;
    let gate = Promise.resolve();
    const closeGate = (): void => {
      gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
    };
    const newConsumer = (): UsageConsumer => {
      const created = createUsageConsumer({
        brokers: sharedKafkaBrokers(),
        topic,
        groupId,
        sessionTimeoutMs: 6_000,
        lagIntervalMs: 200,
        onLag: (messages) => reported.push(messages),
        handleBatch: async (batch) => {
          await gate;
          for (const event of batch.events) booked.add(event.eventId);
        },
      });
      cleanups.push(() => created.stop());
      cleanups.push(() => Promise.resolve(openGate()));
      return created;
    };

    // A group that never committed starts at the oldest event: all of them are lag.
    await producer.send(events(12));
    expect(await admin.consumerLag(groupId, topic)).toBe(12);

    closeGate();
    const first = newConsumer();
    await first.start();
    await waitFor(() => reported.includes(12), 15_000, 'the timer to report the 12 held events');
    openGate();
    await waitFor(() => booked.size === 12, 30_000, 'the first 12 events');
    await waitFor(() => reported.at(-1) === 0, 15_000, 'the timer to report lag 0');

    // Stopped: events keep arriving and the committed offsets stay where they were.
    await first.stop();
    const afterStop = reported.length;
    await producer.send(events(25));
    expect(await admin.consumerLag(groupId, topic)).toBe(25);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(reported.length, 'no lag reports from a stopped consumer').toBe(afterStop);

    // A successor in the same group reports the backlog, then works it off back to 0.
    closeGate();
    const second = newConsumer();
    await second.start();
    await waitFor(() => reported.includes(25), 15_000, 'the timer to report the 25-event backlog');
    openGate();
    await waitFor(() => booked.size === 37, 30_000, 'the 25 events produced while stopped');
    await waitFor(() => reported.at(-1) === 0, 15_000, 'the timer to report lag 0 again');
    expect(await admin.consumerLag(groupId, topic)).toBe(0);
  }, 90_000);
});
