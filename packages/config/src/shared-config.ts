// Sections of configuration that more than one service shares. Each is a zod schema that reads the flat
// environment and yields one nested, typed object; the service loaders compose them.
import { z } from 'zod';
import { boolean, hostPortList, integer, oneOf, port, text, url } from './env-values.js';

/** Default host ports from the design; every one is overridable. */
export const DEFAULT_PORTS = {
  api: 7401,
  auth: 7402,
  llmserver: 7403,
  studioUiDev: 7420,
  postgres: 7432,
  redis: 7379,
  kafka: 7092,
  prometheus: 7490,
  otelHttp: 7418,
} as const;

/** Where a service listens. */
export interface HttpConfig {
  /** Interface to bind; loopback by default so nothing is exposed until the operator chooses to. */
  host: string;
  /** TCP port to listen on. */
  port: number;
}

/** Builds the listen section for one service from `CYBER_<PREFIX>_HOST` and `CYBER_<PREFIX>_PORT`. */
export function httpSchema(prefix: string, defaultPort: number) {
  return z
    .object({
      [`CYBER_${prefix}_HOST`]: text('127.0.0.1'),
      [`CYBER_${prefix}_PORT`]: port(defaultPort),
    })
    .transform((env): HttpConfig => ({
      host: env[`CYBER_${prefix}_HOST`] as string,
      port: env[`CYBER_${prefix}_PORT`] as number,
    }));
}

/** PostgreSQL over the network (node-postgres). */
export interface PgDatabaseConfig {
  /** Selects the PostgreSQL server driver. */
  driver: 'pg';
  /** Connection URL, `postgres://user:password@host:port/database`. Holds a secret: never log it. */
  url: string;
  /** Most connections the service's pool opens. */
  poolSize: number;
}

/** Embedded PostgreSQL (PGlite), used by standalone mode. */
export interface PgliteDatabaseConfig {
  /** Selects the embedded PGlite driver. */
  driver: 'pglite';
  /** Directory holding the PGlite data files; created on first start. */
  dataDir: string;
}

/** The database a service uses; the shape matches `createDatabase()` of `@cyber/db`. */
export type DatabaseConfig = PgDatabaseConfig | PgliteDatabaseConfig;

/** `CYBER_DATABASE_DRIVER`, `CYBER_DATABASE_URL`, `CYBER_DATABASE_POOL_SIZE`, `CYBER_PGLITE_DIR`. */
export const databaseSchema = z
  .object({
    CYBER_DATABASE_DRIVER: oneOf(['pg', 'pglite'], 'pg'),
    CYBER_DATABASE_URL: url({
      protocols: ['postgres', 'postgresql'],
      default: `postgres://cyber:cyber@127.0.0.1:${DEFAULT_PORTS.postgres}/cyber`,
    }),
    CYBER_DATABASE_POOL_SIZE: integer({ default: 10, min: 1, max: 1000 }),
    CYBER_DATA_DIR: text('./.studio'),
    CYBER_PGLITE_DIR: text(''),
  })
  .transform((env): DatabaseConfig => {
    if (env.CYBER_DATABASE_DRIVER === 'pglite') {
      return { driver: 'pglite', dataDir: env.CYBER_PGLITE_DIR || `${env.CYBER_DATA_DIR}/pglite` };
    }
    return { driver: 'pg', url: env.CYBER_DATABASE_URL as string, poolSize: env.CYBER_DATABASE_POOL_SIZE };
  });

/** Redis: balance cache, reservations, rate limits, key revocation broadcasts. */
export interface RedisConfig {
  /** Connection URL, `redis://[:password@]host:port[/db]`. May hold a secret: never log it. */
  url: string;
  /** Prefix for every key this installation writes, so several installations can share one Redis. */
  keyPrefix: string;
}

/** `CYBER_REDIS_URL`, `CYBER_REDIS_KEY_PREFIX`. */
export const redisSchema = z
  .object({
    CYBER_REDIS_URL: url({
      protocols: ['redis', 'rediss'],
      default: `redis://127.0.0.1:${DEFAULT_PORTS.redis}`,
    }),
    CYBER_REDIS_KEY_PREFIX: text('cyber:'),
  })
  .transform((env): RedisConfig => ({
    url: env.CYBER_REDIS_URL as string,
    keyPrefix: env.CYBER_REDIS_KEY_PREFIX,
  }));

/** Kafka: the `llm.usage` event stream between llmserver and auth's usage sink. */
export interface KafkaConfig {
  /** Bootstrap brokers as `host:port`. */
  brokers: string[];
  /** Topic carrying usage events. */
  usageTopic: string;
}

/** `CYBER_KAFKA_BROKERS` (comma list), `CYBER_KAFKA_USAGE_TOPIC`. */
export const kafkaSchema = z
  .object({
    CYBER_KAFKA_BROKERS: hostPortList(`127.0.0.1:${DEFAULT_PORTS.kafka}`),
    CYBER_KAFKA_USAGE_TOPIC: text('llm.usage'),
  })
  .transform((env): KafkaConfig => ({
    brokers: env.CYBER_KAFKA_BROKERS,
    usageTopic: env.CYBER_KAFKA_USAGE_TOPIC,
  }));

/** Log levels in pino's vocabulary, which Fastify uses. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Logging and OpenTelemetry export. */
export interface TelemetryConfig {
  /** Lowest level written to the log. */
  logLevel: LogLevel;
  /** Whether traces and metrics are exported over OTLP; off by default because standalone mode has no collector. */
  otelEnabled: boolean;
  /** OTLP/HTTP endpoint of the OpenTelemetry collector. */
  otelEndpoint: string;
}

/** `CYBER_LOG_LEVEL`, `CYBER_OTEL_ENABLED`, `CYBER_OTEL_ENDPOINT`. */
export const telemetrySchema = z
  .object({
    CYBER_LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
    CYBER_OTEL_ENABLED: boolean(false),
    CYBER_OTEL_ENDPOINT: url({
      protocols: ['http', 'https'],
      default: `http://127.0.0.1:${DEFAULT_PORTS.otelHttp}`,
    }),
  })
  .transform((env): TelemetryConfig => ({
    logLevel: env.CYBER_LOG_LEVEL,
    otelEnabled: env.CYBER_OTEL_ENABLED,
    otelEndpoint: env.CYBER_OTEL_ENDPOINT as string,
  }));

/** `CYBER_DATA_DIR`: the root for everything a service stores on disk (`./.studio` by default). */
export const dataDirSchema = z
  .object({ CYBER_DATA_DIR: text('./.studio') })
  .transform((env): string => env.CYBER_DATA_DIR);

/** Base URL of another service, from `CYBER_<NAME>_URL`. */
export function serviceUrlSchema(variable: string, defaultPort: number) {
  return z
    .object({ [variable]: url({ protocols: ['http', 'https'], default: `http://127.0.0.1:${defaultPort}` }) })
    .transform((env): string => env[variable] as string);
}
