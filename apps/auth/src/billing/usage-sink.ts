// The usage sink: consumes `llm.usage` and books each chunk in ONE transaction (tokens_used rows unique on the
// event id, the users' debits, shortfalls, dead letters). The consumer commits the Kafka offset only after that
// transaction committed, so a crash at any point redelivers the chunk and the unique event id makes the
// second booking a no-op: nothing lost, nothing charged twice.
import type { DB } from '@cyber/db';
import { inTraces, type UsageSinkMetrics } from '@cyber/telemetry';
import {
  createUsageConsumer,
  type UsageBatch,
  type UsageConsumer,
  type UsageConsumerOptions,
  type UsageLogger,
} from '@cyber/usage-events';
import type { Kysely } from 'kysely';
import { UsageLedgerRepository, type BookingResult } from './usage-ledger.repository.js';

/**
 * Creates the consumer the sink reads from: `createUsageConsumer` (Kafka) by default; standalone mode passes the
 * in-process bus's `consumer`, which ignores the connection settings.
 */
export type UsageConsumerFactory = (options: UsageConsumerOptions) => UsageConsumer;

/** Options of {@link createUsageSink}. */
export interface UsageSinkOptions {
  db: Kysely<DB>;
  brokers: string[];
  topic: string;
  groupId: string;
  /** Most events per transaction. */
  maxBatchSize: number;
  logger: UsageLogger;
  /** Broker session timeout (tests shorten it so a killed sink's partitions move on quickly). */
  sessionTimeoutMs?: number;
  /** Partitions booked in parallel (separate transactions). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Called after each committed booking (metrics, tests). */
  onBooked?: (result: BookingResult) => void;
  /** Consumed events by outcome and the consumer lag (age and events behind); none recorded when absent. */
  metrics?: UsageSinkMetrics;
  /** Where the events come from; Kafka (`createUsageConsumer`) when absent. */
  createConsumer?: UsageConsumerFactory;
}

/** A sink that tests and the app start and stop. */
export interface UsageSink {
  start(): Promise<void>;
  /** Finishes the chunk in hand and leaves the group. */
  stop(): Promise<void>;
}

/** Books one consumed chunk in one transaction (exported for the sink's own tests and benchmarks). */
export async function bookUsageBatch(db: Kysely<DB>, batch: UsageBatch): Promise<BookingResult> {
  return db.transaction().execute((trx) =>
    new UsageLedgerRepository(trx).book({
      topic: batch.topic,
      partition: batch.partition,
      events: batch.events,
      eventOffsets: batch.eventOffsets,
      deadLetters: batch.invalid.map((message) => ({
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        error: message.error,
      })),
    }),
  );
}

/** Creates the usage sink; nothing connects before `start()`. */
export function createUsageSink(options: UsageSinkOptions): UsageSink {
  const { logger, metrics } = options;
  const createConsumer = options.createConsumer ?? createUsageConsumer;
  let consumer: UsageConsumer | undefined;
  return {
    async start() {
      if (consumer) return;
      consumer = createConsumer({
        brokers: options.brokers,
        clientId: 'cyber-auth-usage-sink',
        topic: options.topic,
        groupId: options.groupId,
        maxBatchSize: options.maxBatchSize,
        logger,
        ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
        ...(options.partitionsConsumedConcurrently !== undefined
          ? { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently }
          : {}),
        // Offset lag grows while the sink books nothing; the age gauge only moves when it books.
        ...(metrics === undefined ? {} : { onLag: (messages: number) => metrics.lagMessages.set(messages) }),
        handleBatch: async (batch) => {
          // The booking joins the trace of every request whose usage it books (trace ids ride in the events).
          const result = await inTraces(
            'usage.book',
            batch.events.map((event) => event.traceId),
            {
              'messaging.destination.name': batch.topic,
              'messaging.batch.message_count': batch.events.length,
            },
            () => bookUsageBatch(options.db, batch),
          );
          recordBooking(options.metrics, batch, result);
          if (result.parked > 0) {
            logger.warn(
              { topic: batch.topic, partition: batch.partition, parked: result.parked },
              'usage sink: parked dead letters',
            );
          }
          if (result.shortfall > 0) {
            logger.warn(
              { shortfall: result.shortfall },
              'usage sink: usage exceeded balance; shortfall recorded',
            );
          }
          options.onBooked?.(result);
        },
      });
      try {
        await consumer.start();
      } catch (error) {
        const failed = consumer;
        consumer = undefined;
        await failed.stop().catch(() => undefined);
        throw error;
      }
    },
    async stop() {
      const running = consumer;
      consumer = undefined;
      await running?.stop();
    },
  };
}

function recordBooking(
  metrics: UsageSinkMetrics | undefined,
  batch: UsageBatch,
  result: BookingResult,
): void {
  if (metrics === undefined) return;
  metrics.consumed.inc({ outcome: 'booked' }, result.inserted);
  metrics.consumed.inc({ outcome: 'duplicate' }, result.duplicates);
  metrics.consumed.inc({ outcome: 'dead_letter' }, result.parked);
  const newest = Math.max(
    ...batch.events.map((event) => Date.parse(event.occurredAt)).filter(Number.isFinite),
  );
  if (Number.isFinite(newest)) metrics.lag.set(Math.max(0, (Date.now() - newest) / 1000));
}
