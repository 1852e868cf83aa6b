// MeterStore latency on the real Redis and on the embedded one (@cyber/embedded, Lua on fengari): one reserve
// and its settle per request, sequential and 50 at a time. Prints p50/p99 per operation pair and the throughput.
//   set -a; . ../../.infra/env; set +a; pnpm bench
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { redisTargets } from '@cyber/embedded/testing';
import { MeterStore } from '../src/index.js';

const limits = { requestsPerMinute: 1_000_000_000, tokensPerMinute: 1_000_000_000_000 };
const SEQUENTIAL = 500;
const CONCURRENT = 50;
const ROUNDS = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function request(store: MeterStore, userId: number): Promise<number> {
  const started = performance.now();
  const outcome = await store.reserve({
    userId,
    reservationId: randomUUID(),
    amount: 10,
    tokens: 100,
    limits,
    now: Date.now(),
  });
  if (outcome.kind !== 'held') throw new Error(`expected a reservation, got ${outcome.kind}`);
  await store.settle(outcome.reservation, { cost: 5, tokens: 50 });
  return performance.now() - started;
}

for (const target of redisTargets()) {
  const server = target.open();
  try {
    const store = new MeterStore(server.client(), server.prefix);
    for (let user = 1; user <= CONCURRENT; user++)
      await store.rebuild({ userId: user, epoch: 0, balance: 1_000_000_000, openReservations: [] });
    for (let i = 0; i < 50; i++) await request(store, 1); // warm-up: JIT, connection
    const samples: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) samples.push(await request(store, 1));
    samples.sort((a, b) => a - b);
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++)
      await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => request(store, i + 1)));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${target.name}: reserve+settle sequential n=${SEQUENTIAL} p50=${percentile(samples, 50).toFixed(2)} ms ` +
        `p99=${percentile(samples, 99).toFixed(2)} ms; ${CONCURRENT} concurrent: ` +
        `${Math.round((ROUNDS * CONCURRENT) / seconds)} requests/s`,
    );
    await store.reset();
  } finally {
    await server.close();
  }
}
