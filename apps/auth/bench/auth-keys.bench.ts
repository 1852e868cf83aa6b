// API key resolution latency as another service sees it: @cyber/auth-client's verifier against the real auth
// app over HTTP (PostgreSQL, Redis). Warm: answers from the verifier's cache. Cold: every call introspects
// (auth.introspect over HTTP: prefix lookup, sha256, constant-time compare). Prints p50/p99.
//   set -a; . ../../.infra/env; set +a; pnpm bench:keys
import { performance } from 'node:perf_hooks';
import { createVerifier } from '@cyber/auth-client';
import { ADMIN_PASSWORD, TestAuth } from '../test/auth-harness.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function measure(runs: number, fn: () => Promise<unknown>): Promise<string> {
  for (let i = 0; i < Math.min(200, runs); i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return `n=${runs} p50=${percentile(samples, 50).toFixed(3)} ms p99=${percentile(samples, 99).toFixed(3)} ms`;
}

const t = await TestAuth.create();
try {
  await t.start();
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const admin = await t.login('admin', ADMIN_PASSWORD);
  const { secret } = await t.ok<{ secret: string }>(
    'keys.create',
    { label: 'bench' },
    { token: admin.accessToken },
  );
  const headers = { 'x-cyber-token': secret };
  const common = {
    authUrl: url,
    issuer: t.config.jwt.issuer,
    redisUrl: process.env.CYBER_REDIS_URL ?? '',
    redisKeyPrefix: t.config.redis.keyPrefix,
  };

  const warm = createVerifier({ ...common, cacheTtlMs: 30_000 });
  await warm.ready();
  console.log(`key resolution, warm cache: ${await measure(100_000, () => warm.authenticate(headers))}`);
  await warm.close();

  const cold = createVerifier({ ...common, cacheTtlMs: 0 });
  await cold.ready();
  console.log(
    `key resolution, cold (introspection over HTTP): ${await measure(3_000, () => cold.authenticate(headers))}`,
  );
  await cold.close();
} finally {
  await t.close();
}
