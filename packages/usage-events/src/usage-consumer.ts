// A batch consumer with at-least-once delivery that the database turns into exactly-once: the handler writes a
// whole chunk in one transaction (unique on the event id), and only after it returns, i.e. after the
// transaction committed, does the consumer commit the Kafka offset. A crash between the two redelivers the
// chunk, and the unique event id makes the second write a no-op.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { createKafka, type KafkaConnectionOptions, type UsageLogger } from './kafka-client.js';
import { createUsageAdmin, type UsageAdmin } from './usage-admin.js';
import {
  retryBackoffMs,
  toUsageBatch,
  type UsageBatch,
  type UsageBatchConsumerOptions,
  type UsageConsumer,
} from './usage-batch.js';
import { USAGE_TOPIC } from './usage-event.js';

/**
 * Options of {@link createUsageConsumer}: the transport-independent part ({@link UsageBatchConsumerOptions}, which
 * the in-process bus takes too) and Kafka's connection and group settings.
 */
export interface UsageConsumerOptions extends KafkaConnectionOptions, UsageBatchConsumerOptions {
  /** Broker session timeout; a consumer that died is replaced after this long. Default 30 s, broker minimum 6 s. */
  sessionTimeoutMs?: number;
  /** Partitions handled at once (each in its own transactions). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Where handler failures are reported (and kafkajs' own warnings). */
  logger?: UsageLogger;
}

const DEFAULT_LAG_INTERVAL_MS = 5_000;

/** Creates a usage consumer. Offsets are committed by hand, only after the handler's transaction committed. */
export function createUsageConsumer(options: UsageConsumerOptions): UsageConsumer {
  const topic = options.topic ?? USAGE_TOPIC;
  const maxBatchSize = options.maxBatchSize ?? 1000;
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const consumer: Consumer = createKafka(options).consumer({
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
    allowAutoTopicCreation: false,
  });
  // Replaced on every start, so a consumer stopped and started again can back off again.
  let stopping = new AbortController();

  /** Runs the handler until it succeeds or this consumer no longer owns the partition. */
  async function handleChunk(payload: EachBatchPayload, batch: UsageBatch): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (!payload.isRunning() || payload.isStale()) return false;
      try {
        await options.handleBatch(batch);
        return true;
      } catch (error) {
        options.logger?.error(
          {
            err: error,
            topic: batch.topic,
            partition: batch.partition,
            lastOffset: batch.lastOffset,
            attempt,
          },
          'usage consumer: batch failed; retrying the same batch',
        );
        await sleep(retryBackoffMs(attempt), undefined, { signal: stopping.signal }).catch(() => undefined);
        await payload.heartbeat().catch(() => undefined);
      }
    }
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    for (let start = 0; start < batch.messages.length; start += maxBatchSize) {
      const messages = batch.messages.slice(start, start + maxBatchSize);
      const last = messages.at(-1);
      if (last === undefined) break;
      const chunk = toUsageBatch({ topic: batch.topic, partition: batch.partition, messages });
      if (!(await handleChunk(payload, chunk))) return;
      // The transaction has committed: now, and only now, move the group's position past the chunk.
      // Through the batch payload: `consumer.commitOffsets` silently does nothing once stop() has begun (kafkajs
      // 2.2.4 Runner.commitOffsets returns when not running), which left the chunk stop() waited for uncommitted.
      payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary({
        topics: [
          {
            topic: batch.topic,
            partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
          },
        ],
      });
      await payload.heartbeat();
    }
  }

  // Lag: its own admin client (opened on first measurement, closed on stop) and an unref'd timer, so a
  // process is never kept alive by metrics. One measurement at a time; a tick during one is skipped.
  let lagAdmin: UsageAdmin | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  let measuring: Promise<unknown> | undefined;
  let lagFailing = false;

  function lagTick(): void {
    if (measuring !== undefined) return;
    lagAdmin ??= createUsageAdmin(options);
    measuring = lagAdmin
      .consumerLag(options.groupId, topic)
      .then((lag) => {
        lagFailing = false;
        options.onLag?.(lag);
      })
      .catch((error: unknown) => {
        // Once per outage: kafkajs reports the broker trouble itself, every 5 s would only repeat it.
        if (!lagFailing)
          options.logger?.warn({ err: error, topic }, 'usage consumer: lag measurement failed');
        lagFailing = true;
      })
      .finally(() => {
        measuring = undefined;
      });
  }

  async function stopLag(): Promise<void> {
    clearInterval(lagTimer);
    lagTimer = undefined;
    await measuring;
    const admin = lagAdmin;
    lagAdmin = undefined;
    await admin?.close();
  }

  let running = false;
  return {
    async start() {
      if (running) return;
      stopping = new AbortController();
      // A fresh installation has no topic yet, and subscribing to a missing topic fails: create it first.
      const admin = createUsageAdmin(options);
      try {
        await admin.ensureTopic({ topic });
      } finally {
        await admin.close();
      }
      await consumer.connect();
      // A new group starts at the oldest retained event: starting at the newest would skip charges.
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch,
      });
      running = true;
      if (options.onLag !== undefined) {
        lagTick();
        lagTimer = setInterval(lagTick, options.lagIntervalMs ?? DEFAULT_LAG_INTERVAL_MS);
        lagTimer.unref();
      }
    },
    async stop() {
      stopping.abort();
      running = false;
      await stopLag();
      await consumer.disconnect();
    },
  };
}
