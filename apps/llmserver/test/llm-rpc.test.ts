// llm.* over JSON-RPC against the real stack (PostgreSQL, Redis, Kafka, auth, the tiny model): metering end to
// end, streaming, typed errors, the budget race and disconnects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAL_MODEL_ENV, REAL_MODEL_SKIP_MESSAGE } from '@cyber/llm/testing';
import { startLlmHarness, TINY_CONTEXT, TINY_COST_PER_TOKEN, type LlmHarness } from './llm-harness.js';

interface ChatResult {
  id: string;
  finishReason: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; cost: number };
  message: { content: string | null };
}

let h: LlmHarness;
const messages = [{ role: 'user' as const, content: 'Say hello to the world' }];

beforeAll(async () => {
  h = await startLlmHarness();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('llm.chat over HTTP', () => {
  it('generates, bills exactly the tokens used, and the ledger row equals the change in balance', async () => {
    const dev = await h.user('developer', 1_000_000);
    const before = await h.balanceOf(dev.id);
    const response = await h.rpc<ChatResult>(
      'llm.chat',
      { model: h.model.name, messages, maxTokens: 24 },
      dev,
    );
    expect(response.error).toBeUndefined();
    const result = response.result;
    if (!result) throw new Error('no result');
    expect(result.finishReason).toBe('length');
    expect(result.usage.completionTokens).toBe(24);
    expect(result.usage.cost).toBe(result.usage.totalTokens * TINY_COST_PER_TOKEN);
    const [row] = await h.ledger([result.id]);
    expect(row).toMatchObject({
      userId: dev.id,
      modelId: h.model.id,
      promptTokens: result.usage.promptTokens,
      completionTokens: 24,
      cost: result.usage.cost,
    });
    expect(before - (await h.balanceOf(dev.id))).toBe(result.usage.cost);
  });

  it('counts the prompt exactly as llm.countTokens does', async () => {
    const dev = await h.user('developer', 1_000_000);
    const count = await h.rpc<{ count: number; contextSize: number }>(
      'llm.countTokens',
      { model: h.model.name, messages },
      dev,
    );
    const chat = await h.rpc<ChatResult>('llm.chat', { model: h.model.name, messages, maxTokens: 2 }, dev);
    expect(count.result).toEqual({ count: chat.result?.usage.promptTokens, contextSize: TINY_CONTEXT });
    const tokenized = await h.rpc<{ count: number }>(
      'llm.tokenize',
      { model: h.model.name, text: 'hello' },
      dev,
    );
    expect(tokenized.result?.count).toBeGreaterThan(0);
  });

  it('answers every refusal with its typed error and charges nothing', async () => {
    const dev = await h.user('developer', 1_000_000);
    const viewer = await h.user('viewer', 1_000_000);
    const broke = await h.user('developer', 0);
    const tooLong = await h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: TINY_CONTEXT }, dev);
    expect(tooLong.error).toMatchObject({
      code: -32006,
      data: { maxTokens: TINY_CONTEXT, contextSize: TINY_CONTEXT, key: 'context_too_long' },
    });
    expect(tooLong.error?.data?.promptTokens).toBeGreaterThan(0);
    const unknown = await h.rpc('llm.chat', { model: 'no-such-model', messages }, dev);
    expect(unknown.error).toMatchObject({ code: -32003, data: { model: 'no-such-model' } });
    await h.rpc(
      'models.register',
      { name: 'not-loaded', sourceUrl: 'http://127.0.0.1:9/x.gguf', contextSize: 128, costPerToken: 1 },
      h.admin,
    );
    const notLoaded = await h.rpc('llm.chat', { model: 'not-loaded', messages }, dev);
    expect(notLoaded.error).toMatchObject({ code: -32010, data: { model: 'not-loaded' } });
    const forbidden = await h.rpc('llm.chat', { model: h.model.name, messages }, viewer);
    expect(forbidden.error?.code).toBe(-32002);
    const anonymous = await h.rpc('llm.chat', { model: h.model.name, messages });
    expect(anonymous.error?.code).toBe(-32001);
    const poor = await h.rpc('llm.chat', { model: h.model.name, messages, maxTokens: 8 }, broke);
    expect(poor.error).toMatchObject({ code: -32005, data: { available: 0 } });
    expect(poor.error?.data?.required).toBeGreaterThan(0);
    expect(await h.balanceOf(dev.id)).toBe(1_000_000);
  });

  it('refuses a disabled user at once, by session and by API key', async () => {
    const dev = await h.user('developer', 1_000_000);
    const ok = await h.rpc('llm.countTokens', { model: h.model.name, text: 'x' }, dev, 'api_key');
    expect(ok.error).toBeUndefined();
    await h.auth('users.update', { userId: dev.id, disabled: true }, h.admin);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const bySession = await h.rpc('llm.chat', { model: h.model.name, messages }, dev);
    const byKey = await h.rpc('llm.chat', { model: h.model.name, messages }, dev, 'api_key');
    expect(bySession.error?.code).toBe(-32001);
    expect(byKey.error?.code).toBe(-32001);
  });

  it('never spends past the balance when 100 requests race for a budget of 10', async () => {
    const dev = await h.user('developer', 0);
    const maxTokens = 16;
    const prompt = (
      await h.rpc<{ count: number }>('llm.countTokens', { model: h.model.name, messages }, h.admin)
    ).result?.count;
    if (prompt === undefined) throw new Error('no count');
    const worstCase = (prompt + maxTokens) * TINY_COST_PER_TOKEN;
    const budget = 10 * worstCase;
    await h.auth(
      'billing.grant',
      { userId: dev.id, kind: 'credit', amount: budget, reason: 'race' },
      h.admin,
    );
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        h.rpc<ChatResult>('llm.chat', { model: h.model.name, messages, maxTokens }, dev),
      ),
    );
    const served = responses.flatMap((r) => (r.result ? [r.result] : []));
    const refused = responses.filter((r) => r.error !== undefined);
    expect(refused.every((r) => r.error?.code === -32005)).toBe(true);
    expect(served.length).toBeGreaterThanOrEqual(10);
    const rows = await h.ledger(served.map((r) => r.id));
    expect(rows).toHaveLength(served.length);
    const billed = rows.reduce((sum, row) => sum + row.cost, 0);
    expect(billed).toBe(served.reduce((sum, r) => sum + r.usage.cost, 0));
    expect(billed).toBeLessThanOrEqual(budget);
    const after = await h.balanceOf(dev.id);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(budget - after).toBe(billed);
  }, 120_000);
});

describe('tools and constrained output', () => {
  it('constrains output to a JSON schema and refuses a schema it cannot enforce', async () => {
    const dev = await h.user('developer', 1_000_000);
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' }, confidence: { type: 'number' } },
      required: ['answer', 'confidence'],
    };
    const response = await h.rpc<ChatResult>(
      'llm.chat',
      { model: h.model.name, messages, maxTokens: 120, responseFormat: { type: 'json_schema', schema } },
      dev,
    );
    const content = response.result?.message.content ?? '';
    if (response.result?.finishReason === 'stop') {
      const parsed = JSON.parse(content) as Record<string, unknown>;
      expect(typeof parsed.answer).toBe('string');
      expect(typeof parsed.confidence).toBe('number');
    } else {
      // Cut at maxTokens: still a prefix of schema-shaped JSON.
      expect(content.startsWith('{')).toBe(true);
    }
    const bad = await h.rpc(
      'llm.chat',
      {
        model: h.model.name,
        messages,
        responseFormat: { type: 'json_schema', schema: { type: 'string', pattern: '^a+$' } },
      },
      dev,
    );
    expect(bad.error?.code).toBe(-32602);
    await h.ledger([response.result?.id ?? '']);
    expect(await h.balanceOf(dev.id)).toBe(1_000_000 - (response.result?.usage.cost ?? 0));
  });
});

// Tool calls need a model that writes a call's arguments to the end: the real Gemma 3 270M.
const realModel = process.env[REAL_MODEL_ENV];
if (!realModel) console.warn(`[llmserver] real-model tool test skipped: ${REAL_MODEL_SKIP_MESSAGE}`);
let gemmaLoaded: Promise<number> | undefined;

describe.skipIf(!realModel)('tool calls with the real model', () => {
  const weather = {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 40 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  };
  beforeAll(() => {
    gemmaLoaded = h.addModel({ name: 'gemma', path: realModel ?? '', contextSize: 2048, costPerToken: 3 });
  });

  it('returns a forced tool call with parsed arguments, streams it, and bills its tokens', async () => {
    const dev = await h.user('developer', 1_000_000);
    await gemmaLoaded;
    const client = h.ws(dev);
    try {
      const calls: unknown[] = [];
      const result = await client.call(
        'llm.chat',
        {
          model: 'gemma',
          messages: [{ role: 'user', content: 'What is the weather in Paris right now?' }],
          tools: [weather],
          toolChoice: { name: 'get_weather' },
          maxTokens: 60,
        },
        { onNotification: (event) => event.kind === 'toolCall' && calls.push(event.toolCall) },
      );
      expect(result.finishReason).toBe('tool_calls');
      expect(result.message.toolCalls).toHaveLength(1);
      expect(result.message.toolCalls[0]).toMatchObject({ name: 'get_weather' });
      expect(typeof result.message.toolCalls[0]?.arguments.city).toBe('string');
      expect(calls).toEqual(result.message.toolCalls);
      const [row] = await h.ledger([result.id]);
      expect(row).toMatchObject({
        promptTokens: result.usage.promptTokens,
        completionTokens: result.usage.completionTokens,
      });
    } finally {
      client.close();
    }
  }, 180_000);
});

describe('llm.chat over a WebSocket', () => {
  it('streams started, token events in order, and the result', async () => {
    const dev = await h.user('developer', 1_000_000);
    const client = h.ws(dev);
    try {
      const events: { kind: string; text?: string; completionTokens?: number }[] = [];
      const result = await client.call(
        'llm.chat',
        { model: h.model.name, messages, maxTokens: 20 },
        { onNotification: (event) => events.push(event) },
      );
      expect(events[0]).toMatchObject({ kind: 'started', promptTokens: result.usage.promptTokens });
      const tokens = events.filter((e) => e.kind === 'token');
      expect(tokens.at(-1)?.completionTokens).toBe(20);
      expect(tokens.map((e) => e.text).join('')).toBe(result.message.content);
    } finally {
      client.close();
    }
  });

  it('bills a client that disconnects after N tokens for what was generated, and stops generating', async () => {
    const dev = await h.user('developer', 10_000_000);
    const client = h.ws(dev);
    let received = 0;
    const call = client
      .call(
        'llm.chat',
        { model: h.model.name, messages, maxTokens: 400 },
        {
          onNotification: (event) => {
            if (event.kind !== 'token') return;
            received = event.completionTokens;
            if (received >= 5) client.close();
          },
        },
      )
      .catch((error: unknown) => error);
    await call;
    // The model stops: no sequence stays busy.
    await expect.poll(() => h.engine.listModels()[0]?.activeSequences, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => h.outbox.unbookedFor(dev.id).length, { timeout: 5_000 }).toBeGreaterThan(0);
    const [event] = h.outbox.unbookedFor(dev.id);
    if (!event) throw new Error('no usage event');
    const [row] = await h.ledger([event.eventId]);
    expect(row?.completionTokens).toBeGreaterThanOrEqual(received);
    expect(row?.completionTokens).toBeLessThan(400);
    expect(row?.cost).toBe(((row?.promptTokens ?? 0) + (row?.completionTokens ?? 0)) * TINY_COST_PER_TOKEN);
  });
});
