// Per-request metering cost on the real Redis, PostgreSQL, outbox and Kafka, interleaved call by call in one
// process so load swings hit every variant alike:
//   ping:     a plain Redis PING round trip (the floor of anything that talks to Redis)
//   store:    MeterStore.reserve + MeterStore.settle, the two Lua scripts alone
//   metering: Metering.reserve + Metering.settle, what llmserver runs: the same scripts plus the per-user lock and
//             the durable outbox append (write + fdatasync) before the settle script
// Only the reservation is in a request's path: InferenceService settles after the answer has been sent and the
// reservation keeps the worst case held until the usage event is durable, so the caller never waits for the
// settle (it delays nothing but the release of the held budget).
//
//   set -a; . .infra/env; set +a
//   pnpm --filter @cyber/llmserver bench:metering
//   BENCH_REQUESTS=20000 pnpm --filter @cyber/llmserver bench:metering
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MeterStore, type RateLimits } from '@cyber/metering';
import { Redis } from 'ioredis';
import { Metering } from '../src/metering/metering.js';
import { startLlmHarness } from '../test/llm-harness.js';
import { deleteRedisPrefix } from '../test/redis-keys.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const WARMUP = 200;
const LIMITS: RateLimits = { requestsPerMinute: 100_000_000, tokensPerMinute: 1_000_000_000_000 };
const COST_PER_TOKEN = 3;
const PROMPT_TOKENS = 40;
const MAX_TOKENS = 128;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (p: number): string => percentile(sorted, p).toFixed(3).padStart(7);
  return `${name.padEnd(34)} p50 ${fmt(50)} ms  p90 ${fmt(90)} ms  p99 ${fmt(99)} ms  max ${fmt(100)} ms`;
}

const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

const redisUrl = process.env.CYBER_REDIS_URL;
if (!redisUrl) throw new Error('CYBER_REDIS_URL is not set: run scripts/infra.sh up');

const h = await startLlmHarness();
// The same connection settings as llmserver's metering connection.
const redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
const prefix = `bench:metering:${randomUUID()}:`;
try {
  const user = await h.user('developer', 1_000_000_000_000);
  const quiet = { warn: () => undefined, error: () => undefined };
  // Its own key prefix: the first reserve rebuilds the user's balance from PostgreSQL, like llmserver's does.
  const metering = new Metering({
    store: new MeterStore(redis, `${prefix}app:`),
    db: h.database.db,
    outbox: h.outbox,
    limits: LIMITS,
    logger: quiet,
  });
  const store = new MeterStore(redis, `${prefix}store:`);
  if (!(await store.rebuild({ userId: user.id, epoch: 0, balance: 1e15, openReservations: [] }))) {
    throw new Error('could not seed the MeterStore balance');
  }
  const tokens = PROMPT_TOKENS + MAX_TOKENS;
  const amount = tokens * COST_PER_TOKEN;
  const completionTokens = 100;
  const cost = (PROMPT_TOKENS + completionTokens) * COST_PER_TOKEN;

  const ping: number[] = [];
  const storeReserve: number[] = [];
  const storeSettle: number[] = [];
  const storeBoth: number[] = [];
  const meterReserve: number[] = [];
  const meterSettle: number[] = [];
  const meterBoth: number[] = [];

  const viaStore = async (keep: boolean): Promise<void> => {
    const t0 = performance.now();
    const outcome = await store.reserve({
      userId: user.id,
      reservationId: randomUUID(),
      amount,
      tokens,
      limits: LIMITS,
      now: Date.now(),
    });
    const t1 = performance.now();
    if (outcome.kind !== 'held') throw new Error(`store reserve: ${outcome.kind}`);
    await store.settle(outcome.reservation, { cost, tokens: PROMPT_TOKENS + completionTokens });
    const t2 = performance.now();
    if (keep) {
      storeReserve.push(t1 - t0);
      storeSettle.push(t2 - t1);
      storeBoth.push(t2 - t0);
    }
  };

  const viaMetering = async (keep: boolean): Promise<void> => {
    const eventId = randomUUID();
    const t0 = performance.now();
    const reservation = await metering.reserve({ userId: user.id, reservationId: eventId, amount, tokens });
    const t1 = performance.now();
    await metering.settle(reservation, {
      eventId,
      userId: user.id,
      modelId: h.model.id,
      promptTokens: PROMPT_TOKENS,
      completionTokens,
      cost,
      traceId: null,
      occurredAt: new Date().toISOString(),
    });
    const t2 = performance.now();
    if (keep) {
      meterReserve.push(t1 - t0);
      meterSettle.push(t2 - t1);
      meterBoth.push(t2 - t0);
    }
  };

  const viaPing = async (keep: boolean): Promise<void> => {
    const t0 = performance.now();
    await redis.ping();
    if (keep) ping.push(performance.now() - t0);
  };

  console.log(
    `${availableParallelism()} cores, Node ${process.version}, ${REQUESTS} requests per variant ` +
      `(+${WARMUP} warm-up), load average ${load()}`,
  );
  const variants = [viaPing, viaStore, viaMetering];
  for (let i = -WARMUP; i < REQUESTS; i += 1) {
    // Rotate the order so no variant always runs right after the outbox's fdatasync.
    const rotation = ((i % 3) + 3) % 3;
    for (const run of [...variants.slice(rotation), ...variants.slice(0, rotation)]) await run(i >= 0);
  }

  console.log(summary('Redis PING', ping));
  console.log(summary('MeterStore.reserve', storeReserve));
  console.log(summary('MeterStore.settle', storeSettle));
  console.log(summary('MeterStore reserve + settle', storeBoth));
  console.log(summary('Metering.reserve (request path)', meterReserve));
  console.log(summary('Metering.settle (after the answer)', meterSettle));
  console.log(summary('Metering reserve + settle', meterBoth));
  // Paired with the PING of the same iteration: what the scripts add over a bare round trip.
  const overPing = (samples: number[]): number[] => samples.map((ms, i) => ms - (ping[i] ?? Number.NaN));
  console.log(summary('MeterStore.reserve - PING (paired)', overPing(storeReserve)));
  console.log(summary('Metering.reserve - PING (paired)', overPing(meterReserve)));
  console.log(`load average at the end: ${load()}`);
  // Everything settled must reach the ledger; waiting here also keeps the next run from sharing the sink.
  if (!(await h.outbox.flush(60_000))) console.warn('outbox did not drain to Kafka within 60 s');
} finally {
  await deleteRedisPrefix(redisUrl, prefix);
  redis.disconnect();
  await h.close();
}
