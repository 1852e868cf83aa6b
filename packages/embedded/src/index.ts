// @cyber/embedded: in-process stand-ins for infrastructure roles, for the standalone studio (`pnpm studio`).
// PostgreSQL's stand-in is PGlite (`createDatabase({ driver: 'pglite' })` in @cyber/db) and Kafka's is the
// in-process usage bus of @cyber/usage-events; this package holds the Redis one.
export {
  createEmbeddedRedis,
  type EmbeddedRedis,
  type EmbeddedRedisClientOptions,
} from './embedded-redis.js';
