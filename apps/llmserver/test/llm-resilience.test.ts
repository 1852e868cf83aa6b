// Losing Redis (data or connection), fairness between users, the event loop under load, and graceful shutdown,
// against the real stack. The model has ONE sequence here, so requests queue.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MeterStore } from '@cyber/metering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmHarness, TINY_COST_PER_TOKEN, type LlmHarness } from './llm-harness.js';

interface Chat {
  id: string;
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number; cost: number };
}

let h: LlmHarness;
const messages = [{ role: 'user' as const, content: 'Tell me a story' }];

beforeAll(async () => {
  h = await startLlmHarness({ sequences: 1, shutdownGraceMs: 20 });
}, 120_000);

afterAll(async () => {
  await h?.close();
});

function meter(): MeterStore {
  return new MeterStore(h.redis, h.redisPrefix);
}

describe('metering when Redis is lost', () => {
  it('rebuilds a lost balance from PostgreSQL minus unbooked charges and restores in-flight reservations', async () => {
    const dev = await h.user('developer', 1_000_000);
    const long = h.rpc<Chat>('llm.chat', { model: h.model.name, messages, maxTokens: 300 }, dev);
    await expect.poll(async () => (await meter().snapshot(dev.id)).reservations, { timeout: 5_000 }).toBe(1);
    const held = (await meter().snapshot(dev.id)).reserved;
    // Redis restarts empty: the user's hash is gone while a generation runs.
    await h.redis.del(meter().meterKey(dev.id));
    const short = await h.rpc<Chat>('llm.chat', { model: h.model.name, messages, maxTokens: 4 }, dev);
    expect(short.error).toBeUndefined();
    const first = (await long).result;
    const second = short.result;
    if (!first || !second) throw new Error('missing results');
    expect(held).toBe((first.usage.promptTokens + 300) * TINY_COST_PER_TOKEN);
    const rows = await h.ledger([first.id, second.id]);
    const billed = rows.reduce((sum, row) => sum + row.cost, 0);
    expect(billed).toBe(first.usage.cost + second.usage.cost);
    expect(await h.balanceOf(dev.id)).toBe(1_000_000 - billed);
    // The cache agrees with PostgreSQL once both are settled: nothing billed twice, nothing lost.
    await expect
      .poll(async () => (await meter().snapshot(dev.id)).balance, { timeout: 5_000 })
      .toBe(1_000_000 - billed);
    expect((await meter().snapshot(dev.id)).reserved).toBe(0);
  }, 60_000);

  it('fails closed with service_unavailable while Redis cannot be reached, and recovers', async () => {
    const dev = await h.user('developer', 1_000_000);
    h.redis.disconnect();
    const refused = await h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: 4 }, dev);
    expect(refused.error).toMatchObject({ code: -32011, data: { service: 'redis' } });
    await h.redis.connect();
    const served = await h.rpc<Chat>('llm.chat', { model: h.model.name, messages, maxTokens: 4 }, dev);
    expect(served.error).toBeUndefined();
    expect(await h.balanceOf(dev.id)).toBe(1_000_000);
    await h.ledger([served.result?.id ?? '']);
    expect(await h.balanceOf(dev.id)).toBe(1_000_000 - (served.result?.usage.cost ?? 0));
  });
});

describe('fair queue', () => {
  it("serves a user with one request before most of another user's backlog, reporting its position", async () => {
    const greedy = await h.user('developer', 10_000_000);
    const modest = await h.user('developer', 10_000_000);
    const finished: string[] = [];
    const backlog = Array.from({ length: 5 }, (_, i) =>
      h
        .rpc<Chat>('llm.chat', { model: h.model.name, messages, maxTokens: 60 }, greedy)
        .then(() => finished.push(`greedy-${i}`)),
    );
    await expect.poll(() => h.engine.listModels()[0]?.activeSequences, { timeout: 5_000 }).toBe(1);
    const client = h.ws(modest);
    const positions: number[] = [];
    try {
      await client.call(
        'llm.chat',
        { model: h.model.name, messages, maxTokens: 60 },
        {
          onNotification: (event) => {
            if (event.kind === 'queued') positions.push(event.position);
          },
        },
      );
      finished.push('modest');
    } finally {
      client.close();
    }
    await Promise.all(backlog);
    // At most the running request and one more of the backlog go first.
    expect(finished.indexOf('modest')).toBeLessThanOrEqual(2);
    expect(positions[0]).toBe(1);
  }, 60_000);
});

describe('process control', () => {
  it('keeps the event loop and other routes responsive while generating', async () => {
    const dev = await h.user('developer', 10_000_000);
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const generation = h.rpc<Chat>('llm.chat', { model: h.model.name, messages, maxTokens: 400 }, dev);
    const latencies: number[] = [];
    while (latencies.length < 20) {
      const started = performance.now();
      const response = await fetch(`${h.url}/healthz`);
      expect(response.status).toBe(200);
      latencies.push(performance.now() - started);
    }
    expect((await generation).result?.usage.completionTokens).toBeGreaterThan(0);
    histogram.disable();
    // Generous bounds for a shared 2-core machine; a blocking generation would hold the loop for seconds.
    expect(Math.max(...latencies)).toBeLessThan(500);
    expect(histogram.max / 1e6).toBeLessThan(500);
  });

  it('on shutdown cancels a running generation after the grace period and bills what it generated', async () => {
    const dev = await h.user('developer', 10_000_000);
    const client = h.ws(dev);
    let closing: Promise<void> | undefined;
    const result = await client.call(
      'llm.chat',
      { model: h.model.name, messages, maxTokens: 450 },
      {
        onNotification: (event) => {
          if (event.kind === 'token') closing ??= h.app.close();
        },
      },
    );
    await closing;
    client.close();
    expect(result.finishReason).toBe('cancelled');
    expect(result.usage.completionTokens).toBeLessThan(450);
    const [row] = await h.ledger([result.id]);
    expect(row?.completionTokens).toBe(result.usage.completionTokens);
    expect(row?.cost).toBe(result.usage.cost);
  }, 60_000);
});
