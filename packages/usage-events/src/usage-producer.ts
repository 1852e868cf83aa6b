import { Partitioners, type Producer } from 'kafkajs';
import { createKafka, type KafkaConnectionOptions } from './kafka-client.js';
import { encodeUsageEvent, USAGE_TOPIC, type UsageEvent } from './usage-event.js';

/** Options of {@link createUsageProducer}. */
export interface UsageProducerOptions extends KafkaConnectionOptions {
  /** Topic to write to; {@link USAGE_TOPIC} when absent. */
  topic?: string;
}

/** Writes usage events to Kafka. */
export interface UsageProducer {
  /** Connects to the cluster; call once before {@link UsageProducer.send}. */
  connect(): Promise<void>;
  /**
   * Validates every event, then writes them in one request acknowledged by all in-sync replicas. Resolves once
   * the broker has them; rejects (nothing to assume about which were written) when validation or Kafka fails, so
   * the caller keeps them in its durable outbox and sends them again. Resending is harmless: the consumer side is
   * unique on `eventId`.
   */
  send(events: readonly UsageEvent[]): Promise<void>;
  /** Flushes and disconnects. */
  disconnect(): Promise<void>;
}

/**
 * Creates an idempotent producer (acks from all in-sync replicas, one request in flight) so kafkajs' own
 * retries never duplicate or reorder events within a partition.
 */
export function createUsageProducer(options: UsageProducerOptions): UsageProducer {
  const topic = options.topic ?? USAGE_TOPIC;
  const producer: Producer = createKafka(options).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  return {
    connect: () => producer.connect(),
    async send(events) {
      if (events.length === 0) return;
      // Encode all first: an invalid event fails the call before anything is written.
      const messages = events.map((event) => encodeUsageEvent(event));
      await producer.send({ topic, acks: -1, messages });
    },
    disconnect: () => producer.disconnect(),
  };
}
