// The billing module: balances, admin grants, usage summaries, and the usage sink that books `llm.usage`.
import type { AuthHandlers } from '../auth-types.js';
import type { AuthModule, AuthServices } from '../services.js';
import { MeterStore } from '@cyber/metering';
import type { UsageSinkMetrics } from '@cyber/telemetry';
import { billingHandlersWith } from './billing.handlers.js';
import { createUsageSink, type UsageConsumerFactory, type UsageSink } from './usage-sink.js';

/** Options of {@link billingModule}. */
export interface BillingModuleOptions {
  /**
   * Run the usage sink: true reads Kafka (main.ts), `{ createConsumer }` reads whatever that consumer reads
   * (standalone mode: the in-process bus). Default false, so tests without Kafka need none.
   */
  usageSink?: boolean | { createConsumer: UsageConsumerFactory };
  /** Metrics of the usage sink (consumed, lag). */
  usageSinkMetrics?: UsageSinkMetrics;
}

/** The handlers of `billing.*` and `usage.summary`. */
export function billingHandlers(services: AuthServices): AuthHandlers {
  return billingHandlersWith({ services });
}

/** The billing module as buildApp composes it: handlers, and the usage sink started and stopped with the app. */
export function billingModule(services: AuthServices, options: BillingModuleOptions = {}): AuthModule {
  const sink: UsageSink | undefined = options.usageSink
    ? createUsageSink({
        ...(typeof options.usageSink === 'object'
          ? { createConsumer: options.usageSink.createConsumer }
          : {}),
        db: services.db,
        brokers: services.config.kafka.brokers,
        topic: services.config.kafka.usageTopic,
        groupId: services.config.usageSink.consumerGroup,
        maxBatchSize: services.config.usageSink.maxBatchSize,
        logger: services.logger,
        ...(options.usageSinkMetrics ? { metrics: options.usageSinkMetrics } : {}),
      })
    : undefined;
  return {
    handlers: billingHandlersWith({
      services,
      balanceCache: new MeterStore(services.redis, services.config.redis.keyPrefix),
    }),
    ...(sink ? { start: () => sink.start(), close: () => sink.stop() } : {}),
  };
}

export {
  billingHandlersWith,
  type BalanceCache,
  type BillingHandlersOptions,
  type ReservedOf,
} from './billing.handlers.js';
export { grantBalance, type GrantOptions } from './billing.service.js';
export {
  bookUsageBatch,
  createUsageSink,
  type UsageConsumerFactory,
  type UsageSink,
  type UsageSinkOptions,
} from './usage-sink.js';
export { type BookingResult } from './usage-ledger.repository.js';
