// Login latency (auth.login through the full app: rate-limit check in Redis, user lookup, argon2id verify,
// refresh-token insert, JWT signing) against the real PostgreSQL and Redis, with the default argon2 cost and
// with the cheap test cost. Prints p50/p99 per setting.
//   set -a; . ../../.infra/env; set +a; pnpm bench:login
import { performance } from 'node:perf_hooks';
import { ADMIN_PASSWORD, TestAuth } from '../test/auth-harness.js';

const SETTINGS = [
  {
    name: 'default (19456 KiB, t=2, p=1)',
    env: { CYBER_ARGON2_MEMORY_KIB: '19456', CYBER_ARGON2_TIME_COST: '2' },
    runs: 100,
  },
  {
    name: 'test (4096 KiB, t=1, p=1)',
    env: { CYBER_ARGON2_MEMORY_KIB: '4096', CYBER_ARGON2_TIME_COST: '1' },
    runs: 300,
  },
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

for (const setting of SETTINGS) {
  const t = await TestAuth.create();
  try {
    await t.start({ ...setting.env, CYBER_LOGIN_MAX_FAILURES: '10000' });
    for (let i = 0; i < 5; i += 1) await t.login('admin', ADMIN_PASSWORD); // warm-up: pools, JIT, key import
    const samples: number[] = [];
    for (let i = 0; i < setting.runs; i += 1) {
      const started = performance.now();
      await t.login('admin', ADMIN_PASSWORD);
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    console.log(
      `auth.login ${setting.name}: n=${samples.length} p50=${percentile(samples, 50).toFixed(1)} ms p99=${percentile(samples, 99).toFixed(1)} ms`,
    );
  } finally {
    await t.close();
  }
}
