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
export {
  createUsageConsumer,
  type InvalidUsageMessage,
  type UsageBatch,
  type UsageConsumer,
  type UsageConsumerOptions,
} from './usage-consumer.js';
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
  type InProcessConsumerOptions,
  type InProcessProducerOptions,
  type InProcessUsageBus,
} from './in-process-bus.js';
