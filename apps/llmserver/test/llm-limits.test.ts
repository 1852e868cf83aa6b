// Per-user limits through the real stack: requests and tokens per minute (rate_limited with retryAfterMs),
// and the per-user concurrency cap (a second generation of the same user waits in the queue).
import { MeterStore } from '@cyber/metering';
import { createLlmMetrics, createMetricsRegistry } from '@cyber/telemetry';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLlmHarness, type LlmHarness } from './llm-harness.js';

let h: LlmHarness;
const registry = createMetricsRegistry();
const metrics = createLlmMetrics(registry);
const messages = [{ role: 'user' as const, content: 'Hi' }];

beforeAll(async () => {
  h = await startLlmHarness({
    limits: { requestsPerMinute: 3, tokensPerMinute: 300, maxConcurrentPerUser: 1 },
    metrics: { registry, llm: metrics },
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

it('limits requests per minute per user, with the time to wait', async () => {
  const dev = await h.user('developer', 1_000_000);
  const other = await h.user('developer', 1_000_000);
  const call = (user = dev) => h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: 2 }, user);
  for (let i = 0; i < 3; i += 1) expect((await call()).error).toBeUndefined();
  const limited = await call();
  expect(limited.error).toMatchObject({
    code: -32007,
    data: { limit: 'requests_per_minute', max: 3, key: 'rate_limited' },
  });
  expect(limited.error?.data?.retryAfterMs).toBeGreaterThan(0);
  expect(limited.error?.data?.retryAfterMs).toBeLessThanOrEqual(60_000);
  // Another user is not affected.
  expect((await call(other)).error).toBeUndefined();
});

it('limits tokens per minute, counting the worst case and giving unused tokens back', async () => {
  const dev = await h.user('developer', 1_000_000);
  const tooBig = await h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: 400 }, dev);
  expect(tooBig.error).toMatchObject({ code: -32007, data: { limit: 'tokens_per_minute', max: 300 } });
  // 150 reserved, but it stops early at a stop sequence or end of text: what is not used goes back.
  const first = await h.rpc<{ usage: { totalTokens: number } }>(
    'llm.chat',
    { model: h.model.name, messages, maxTokens: 150 },
    dev,
  );
  expect(first.error).toBeUndefined();
  const used = first.result?.usage.totalTokens ?? 0;
  // Settling (and the refund of unused tokens) completes just after the answer.
  const meter = new MeterStore(h.redis, h.redisPrefix);
  await expect.poll(async () => (await meter.snapshot(dev.id)).reservations, { timeout: 15_000 }).toBe(0);
  const secondAsk = 300 - used - 20;
  const second = await h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: secondAsk }, dev);
  expect(second.error).toBeUndefined();
});

it('runs one generation per user at a time when the cap is 1; the second waits at position 1', async () => {
  const dev = await h.user('developer', 1_000_000);
  const client = h.ws(dev);
  const waiting = async () => (await metrics.queueWaiting.get()).values[0]?.value;
  try {
    const positions: number[] = [];
    /** llm_queue_waiting_requests while the second request is queued (read when it hears its position). */
    let waitingWhileQueued: Promise<number | undefined> = Promise.resolve(undefined);
    const [a, b] = await Promise.all([
      client.call('llm.chat', { model: h.model.name, messages, maxTokens: 40 }),
      client.call(
        'llm.chat',
        { model: h.model.name, messages, maxTokens: 40 },
        {
          onNotification: (event) => {
            if (event.kind === 'queued') {
              positions.push(event.position);
              waitingWhileQueued = waiting();
            }
          },
        },
      ),
    ]);
    expect(positions).toEqual([1]);
    expect(await waitingWhileQueued).toBe(1);
    expect(await waiting()).toBe(0);
    expect(b.queuedMs).toBeGreaterThan(0);
    expect(a.usage.completionTokens + b.usage.completionTokens).toBeGreaterThan(0);
  } finally {
    client.close();
  }
});
