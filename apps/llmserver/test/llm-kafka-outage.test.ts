// Kafka really stopped during 1,000 metered requests and started again: every usage event reaches tokens_used
// exactly once and the balance moves by exactly the ledger's sum. Runs on a private broker (the shared one
// serves other test files).
import { startKafkaBroker, type KafkaBroker } from '@cyber/usage-events/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLlmHarness, TINY_COST_PER_TOKEN, type LlmHarness } from './llm-harness.js';

let broker: KafkaBroker;
let h: LlmHarness;

beforeAll(async () => {
  broker = await startKafkaBroker();
  h = await startLlmHarness({ kafkaBrokers: broker.brokers });
}, 180_000);

afterAll(async () => {
  await h?.close();
  await broker?.close();
}, 60_000);

interface Chat {
  id: string;
  usage: { cost: number; promptTokens: number; completionTokens: number };
}

it('books every usage event exactly once after Kafka was stopped during 1,000 requests', async () => {
  const dev = await h.user('developer', 100_000_000);
  const before = await h.balanceOf(dev.id);
  const ids: string[] = [];
  let billed = 0;
  const send = async (count: number): Promise<void> => {
    for (let sent = 0; sent < count; sent += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, count - sent) }, (_, i) =>
          h.rpc<Chat>(
            'llm.complete',
            { model: h.model.name, prompt: `request ${sent + i}`, maxTokens: 1 },
            dev,
            'api_key',
          ),
        ),
      );
      for (const response of batch) {
        if (!response.result) throw new Error(`request failed: ${JSON.stringify(response.error)}`);
        ids.push(response.result.id);
        billed += response.result.usage.cost;
      }
    }
  };

  await send(300);
  await broker.stop();
  await send(700); // Kafka is down: requests are still served and their events wait in the outbox.
  expect(h.outbox.stats().pending).toBeGreaterThan(0);
  await broker.start();

  const rows = await h.ledger(ids, 120_000);
  expect(rows).toHaveLength(1000);
  const counts = await sql<{ rows: number; events: number }>`
    SELECT count(*) AS rows, count(DISTINCT event_id) AS events FROM tokens_used WHERE user_id = ${dev.id}
  `.execute(h.database.db);
  expect(counts.rows[0]).toEqual({ rows: 1000, events: 1000 });
  expect(
    rows.every((row) => row.cost === (row.promptTokens + row.completionTokens) * TINY_COST_PER_TOKEN),
  ).toBe(true);
  expect(before - (await h.balanceOf(dev.id))).toBe(billed);
}, 300_000);
