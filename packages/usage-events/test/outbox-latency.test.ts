// Append latency of the usage outbox (write + fdatasync, group commit) while it publishes to the shared broker:
// the settle path of llmserver waits for one append. Prints p50/p99; asserts only a loose ceiling, since the
// figure depends on the disk (the numbers that matter are the printed ones).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import {
  createUsageAdmin,
  createUsageOutbox,
  createUsageProducer,
  type UsageEvent,
  type UsageOutbox,
} from '../src/index.ts';

const APPENDS = 5000;

function event(i: number): UsageEvent {
  return {
    eventId: randomUUID(),
    userId: (i % 50) + 1,
    modelId: 1,
    promptTokens: 100,
    completionTokens: i % 500,
    cost: 100 + (i % 500),
    traceId: 'ab'.repeat(16),
    occurredAt: new Date().toISOString(),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(
  outbox: UsageOutbox,
  concurrency: number,
): Promise<{ p50: number; p99: number; max: number; perSecond: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < APPENDS) {
        const e = event(next++);
        const t = performance.now();
        await outbox.append(e);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? NaN),
    perSecond: Math.round(APPENDS / seconds),
  };
}

it('appends 5,000 events serially and 16 at a time with a fdatasync each group', async () => {
  const brokers = (process.env.CYBER_KAFKA_BROKERS ?? '').split(',');
  expect(brokers[0], 'CYBER_KAFKA_BROKERS (scripts/infra.sh up)').toBeTruthy();
  const topic = `test.llm.usage.latency-${process.pid}-${Date.now()}`;
  const admin = createUsageAdmin({ brokers });
  const producer = createUsageProducer({ brokers, topic });
  const dir = await mkdtemp(join(tmpdir(), 'cyber-outbox-latency-'));
  const outbox = createUsageOutbox({ dir, producer, logger: console });
  try {
    await admin.ensureTopic({ topic, partitions: 3 });
    await producer.connect();
    await outbox.open();
    const serial = await measure(outbox, 1);
    const concurrent = await measure(outbox, 16);
    console.log(`outbox append, ${APPENDS} serial (ms):`, serial);
    console.log(`outbox append, ${APPENDS} by 16 concurrent callers (ms):`, concurrent);
    expect(await outbox.flush(30_000)).toBe(true);
    expect(serial.p99).toBeLessThan(100);
    expect(concurrent.p99).toBeLessThan(200);
  } finally {
    await outbox.close();
    await producer.disconnect();
    await admin.deleteTopics([topic]).finally(() => admin.close());
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
