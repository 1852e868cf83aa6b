export {
  USAGE_TOPIC,
  UsageEvent,
  decodeUsageMessage,
  encodeUsageEvent,
  type DecodedUsageMessage,
  type EncodedUsageEvent,
} from './usage-event.js';
export type { KafkaConnectionOptions, UsageLogger } from './kafka-client.js';
export { createUsageProducer, type UsageProducer, type UsageProducerOptions } from './usage-producer.js';
export { createUsageConsumer, type UsageConsumerOptions } from './usage-consumer.js';
export type {
  InvalidUsageMessage,
  UsageBatch,
  UsageBatchConsumerOptions,
  UsageConsumer,
} from './usage-batch.js';
export {
  createUsageAdmin,
  type EnsureTopicOptions,
  type RawMessage,
  type UsageAdmin,
} from './usage-admin.js';
export {
  createUsageOutbox,
  RECENT_PUBLISHED_MAX,
  RECENT_PUBLISHED_MS,
  type UsageOutbox,
  type UsageOutboxOptions,
  type UsageOutboxStats,
} from './usage-outbox.js';
export {
  createInProcessUsageBus,
  type InProcessProducerOptions,
  type InProcessUsageBus,
} from './in-process-bus.js';
