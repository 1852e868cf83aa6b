// The one place this package builds a kafkajs client, so every producer, consumer and admin shares the same
// settings and routes kafkajs' own log lines to the service's logger instead of stdout.
import { Kafka, logLevel, type LogEntry } from 'kafkajs';

/** The slice of a pino/Fastify logger this package writes to. */
export interface UsageLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Connection settings shared by producers, consumers and the admin client. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers as `host:port`. */
  brokers: string[];
  /** Client id the broker logs and quotas see. */
  clientId?: string;
  /** Where kafkajs' warnings and errors go; silent when absent. */
  logger?: UsageLogger;
}

/** Builds a kafkajs client. Nothing connects until a producer, consumer or admin does. */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId ?? 'cyber-usage',
    brokers: options.brokers,
    connectionTimeout: 5_000,
    // kafkajs retries broker requests itself; a broker restart takes a few seconds, so allow ~30 s in total.
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = entry.log;
      const fields = { kafka: entry.namespace, ...extra };
      if (entry.level === logLevel.ERROR) logger.error(fields, `kafka: ${message}`);
      else if (entry.level === logLevel.WARN) logger.warn(fields, `kafka: ${message}`);
      else logger.info(fields, `kafka: ${message}`);
    },
  });
}
