// A batch consumer with at-least-once delivery that the database turns into exactly-once: the handler writes a
// whole chunk in one transaction (unique on the event id), and only after it returns, i.e. after the
// transaction committed, does the consumer commit the Kafka offset. A crash between the two redelivers the
// chunk, and the unique event id makes the second write a no-op.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { createKafka, type KafkaConnectionOptions, type UsageLogger } from './kafka-client.js';
import { createUsageAdmin, type UsageAdmin } from './usage-admin.js';
import { decodeUsageMessage, USAGE_TOPIC, type UsageEvent } from './usage-event.js';

/** A message that failed the usage event schema; the handler parks it (dead letter), it is never retried. */
export interface InvalidUsageMessage {
  topic: string;
  partition: number;
  /** Kafka offset, as a decimal string (int64). */
  offset: string;
  key: string | null;
  /** The raw value as UTF-8 (at most 64 KiB of it), for an operator to inspect. */
  value: string | null;
  /** Why it was refused. */
  error: string;
}

/** One chunk of one partition, in offset order. */
export interface UsageBatch {
  topic: string;
  partition: number;
  /** Valid events, in offset order. */
  events: UsageEvent[];
  /** Kafka offset of each event (same index as `events`), for parking one by its position. */
  eventOffsets: string[];
  /** Messages that failed the schema. */
  invalid: InvalidUsageMessage[];
  /** Offset of the last message in this chunk; committed (+1) once the handler returns. */
  lastOffset: string;
}

/** Options of {@link createUsageConsumer}. */
export interface UsageConsumerOptions extends KafkaConnectionOptions {
  /** Consumer group; every instance of the sink shares one so each event is handled by one of them. */
  groupId: string;
  /** Topic to read; {@link USAGE_TOPIC} when absent. */
  topic?: string;
  /** Most messages per {@link UsageConsumerOptions.handleBatch} call (one transaction). Default 1000. */
  maxBatchSize?: number;
  /**
   * Writes one chunk in one database transaction and resolves after it committed. A rejection is logged and
   * the same chunk is offered again after a backoff, for as long as this consumer owns the partition: a charge
   * is never skipped.
   */
  handleBatch(batch: UsageBatch): Promise<void>;
  /** Broker session timeout; a consumer that died is replaced after this long. Default 30 s, broker minimum 6 s. */
  sessionTimeoutMs?: number;
  /** Partitions handled at once (each in its own transactions). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Where handler failures are reported (and kafkajs' own warnings). */
  logger?: UsageLogger;
  /**
   * Told the group's lag in messages (see {@link UsageAdmin.consumerLag}) right after start and then every
   * {@link UsageConsumerOptions.lagIntervalMs} while running (metrics). Not measured when absent. A stopped
   * consumer reports nothing; `createUsageAdmin().consumerLag` measures a group with no consumer.
   */
  onLag?: (messages: number) => void;
  /** How often the lag is measured for {@link UsageConsumerOptions.onLag}. Default 5 s. */
  lagIntervalMs?: number;
}

/** A running (or stopped) usage consumer. */
export interface UsageConsumer {
  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /** Finishes the chunk in hand (its transaction and offset commit), leaves the group and disconnects. */
  stop(): Promise<void>;
}

const MAX_RAW_VALUE_CHARS = 64 * 1024;
const MAX_BACKOFF_MS = 30_000;
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
        const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 10));
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
        await sleep(backoff, undefined, { signal: stopping.signal }).catch(() => undefined);
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
      const chunk = toBatch({ topic: batch.topic, partition: batch.partition, messages });
      if (!(await handleChunk(payload, chunk))) return;
      // The transaction has committed: now, and only now, move the group's position past the chunk.
      payload.resolveOffset(last.offset);
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
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

function toBatch(input: { topic: string; partition: number; messages: KafkaMessage[] }): UsageBatch {
  const events: UsageEvent[] = [];
  const eventOffsets: string[] = [];
  const invalid: InvalidUsageMessage[] = [];
  for (const message of input.messages) {
    const decoded = decodeUsageMessage(message.value);
    if (decoded.ok) {
      events.push(decoded.event);
      eventOffsets.push(message.offset);
      continue;
    }
    invalid.push({
      topic: input.topic,
      partition: input.partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      value: message.value?.toString('utf8').slice(0, MAX_RAW_VALUE_CHARS) ?? null,
      error: decoded.error,
    });
  }
  return {
    topic: input.topic,
    partition: input.partition,
    events,
    eventOffsets,
    invalid,
    lastOffset: input.messages.at(-1)?.offset ?? '-1',
  };
}
