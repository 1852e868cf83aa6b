// What the in-process usage bus does beyond the shared transport contract (test/transport-contract.test.ts):
// groups taking turns and reading independently, the producer's connect/validate rules, and close().
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createInProcessUsageBus,
  type InProcessUsageBus,
  type UsageBatch,
  type UsageEvent,
} from '../src/index.ts';

function events(count: number): UsageEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    eventId: randomUUID(),
    userId: 1,
    modelId: 1,
    promptTokens: 1,
    completionTokens: 1,
    cost: i + 1,
    traceId: null,
    occurredAt: new Date().toISOString(),
  }));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ids = (list: readonly UsageEvent[]): string[] => list.map((e) => e.eventId);

let bus: InProcessUsageBus;
afterEach(async () => {
  await bus.close();
});

function recorder(): { events: UsageEvent[]; handleBatch: (batch: UsageBatch) => Promise<void> } {
  const seen: UsageEvent[] = [];
  return {
    events: seen,
    handleBatch: (batch) => {
      seen.push(...batch.events);
      return Promise.resolve();
    },
  };
}

describe('in-process usage bus', () => {
  it('lets one consumer of a group read at a time; the next takes over after the last commit', async () => {
    bus = createInProcessUsageBus();
    const producer = bus.producer();
    await producer.connect();
    const sent = events(6);
    const first = recorder();
    const second = recorder();
    const a = bus.consumer({ groupId: 'sink', ...first });
    const b = bus.consumer({ groupId: 'sink', ...second });
    await a.start();
    await b.start();
    await producer.send(sent.slice(0, 3));
    await waitFor(() => first.events.length === 3, 'the first consumer');
    await a.stop();
    await producer.send(sent.slice(3));
    await waitFor(() => second.events.length === 3, 'the second consumer');
    expect(ids(first.events)).toEqual(ids(sent.slice(0, 3)));
    expect(ids(second.events)).toEqual(ids(sent.slice(3)));
  });

  it('gives every group every event, from the oldest', async () => {
    bus = createInProcessUsageBus();
    const producer = bus.producer({ topic: 'other' });
    await producer.connect();
    const sent = events(4);
    await producer.send(sent);
    const one = recorder();
    const two = recorder();
    await bus.consumer({ groupId: 'one', topic: 'other', ...one }).start();
    await bus.consumer({ groupId: 'two', topic: 'other', ...two }).start();
    await waitFor(() => one.events.length === 4 && two.events.length === 4, 'both groups');
    expect(ids(one.events)).toEqual(ids(sent));
    expect(ids(two.events)).toEqual(ids(sent));
  });

  it('refuses a send before connect() and writes nothing of a send with one invalid event', async () => {
    bus = createInProcessUsageBus();
    const producer = bus.producer();
    const [valid] = events(1);
    if (!valid) throw new Error('unreachable');
    await expect(producer.send([valid])).rejects.toMatchObject({ key: 'service_unavailable' });
    await producer.connect();
    await expect(producer.send([valid, { ...valid, eventId: randomUUID(), cost: -1 }])).rejects.toThrow();
    expect(await bus.admin().consumerLag('any', 'llm.usage')).toBe(0);
  });

  it('close() stops the consumers, finishing the chunk in hand, and refuses sends afterwards', async () => {
    bus = createInProcessUsageBus();
    const producer = bus.producer();
    await producer.connect();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    let entered = false;
    await bus
      .consumer({
        groupId: 'sink',
        handleBatch: async () => {
          entered = true;
          await gate;
          finished = true;
        },
      })
      .start();
    await producer.send(events(1));
    await waitFor(() => entered, 'the handler');
    const closing = bus.close();
    release();
    await closing;
    expect(finished).toBe(true);
    await expect(producer.send(events(1))).rejects.toMatchObject({ key: 'service_unavailable' });
    expect(() => bus.consumer({ groupId: 'late', ...recorder() })).not.toThrow();
    await expect(bus.consumer({ groupId: 'late', ...recorder() }).start()).rejects.toMatchObject({
      key: 'service_unavailable',
    });
  });
});
