// What every usage transport (Kafka, the in-process bus) shares: the batch a handler gets, the consumer's
// interface and transport-independent options, turning a run of log messages into a batch, and the backoff
// between attempts of a failing handler.
import type { UsageLogger } from './kafka-client.js';
import { decodeUsageMessage, type UsageEvent } from './usage-event.js';

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

/**
 * What a usage consumer reads and how it hands events over, whatever carries them: Kafka
 * (`createUsageConsumer`, which adds connection and group settings) or the in-process bus.
 */
export interface UsageBatchConsumerOptions {
  /** Consumer group; every instance of the sink shares one so each event is handled by one of them. */
  groupId: string;
  /** Topic to read; `USAGE_TOPIC` (`llm.usage`) when absent. */
  topic?: string;
  /** Most messages per {@link UsageBatchConsumerOptions.handleBatch} call (one transaction). Default 1000. */
  maxBatchSize?: number;
  /**
   * Writes one chunk in one database transaction and resolves after it committed. A rejection is logged and
   * the same chunk is offered again after a backoff, for as long as this consumer owns the partition: a charge
   * is never skipped.
   */
  handleBatch(batch: UsageBatch): Promise<void>;
  /** Where handler failures are reported. */
  logger?: UsageLogger;
  /**
   * Told the group's lag in messages (see `UsageAdmin.consumerLag`) right after start and then every
   * {@link UsageBatchConsumerOptions.lagIntervalMs} while running (metrics). Not measured when absent. A stopped
   * consumer reports nothing; the admin's `consumerLag` measures a group with no consumer.
   */
  onLag?: (messages: number) => void;
  /** How often the lag is measured for {@link UsageBatchConsumerOptions.onLag}. Default 5 s. */
  lagIntervalMs?: number;
}

/** A running (or stopped) usage consumer. */
export interface UsageConsumer {
  /** Joins the group and starts consuming; resolves once running. */
  start(): Promise<void>;
  /** Finishes the chunk in hand (its transaction and offset commit), leaves the group and disconnects. */
  stop(): Promise<void>;
}

/** One message of a partition's log, as a transport read it. */
export interface LogMessage {
  /** Offset in the partition, as a decimal string (int64). */
  offset: string;
  key: Buffer | string | null;
  value: Buffer | string | null;
}

const MAX_RAW_VALUE_CHARS = 64 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** Splits a run of messages of one partition into valid events and invalid messages, keeping offset order. */
export function toUsageBatch(input: {
  topic: string;
  partition: number;
  messages: readonly LogMessage[];
}): UsageBatch {
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
      key: text(message.key),
      value: text(message.value)?.slice(0, MAX_RAW_VALUE_CHARS) ?? null,
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

/** How long to wait before offering a failed chunk again: 500 ms, doubling, at most 30 s. */
export function retryBackoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempt, 10));
}

function text(value: Buffer | string | null): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}
