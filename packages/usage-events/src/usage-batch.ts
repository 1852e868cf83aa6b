// What every usage transport (Kafka, the in-process bus) shares once messages are read: turning a run of log
// messages into a UsageBatch, and the backoff between attempts of a failing handler.
import type { InvalidUsageMessage, UsageBatch } from './usage-consumer.js';
import { decodeUsageMessage, type UsageEvent } from './usage-event.js';

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
