// /v1 through the official `openai` npm package against the real stack (auth, PostgreSQL, Redis, Kafka, the
// tiny model): what a user pointing an OpenAI client at this server sees, and what it is billed.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startLlmHarness,
  TINY_CONTEXT,
  TINY_COST_PER_TOKEN,
  type LedgerRow,
  type LlmHarness,
  type LlmTestUser,
} from './llm-harness.js';

let h: LlmHarness;
const messages = [{ role: 'user' as const, content: 'Say hello to the world' }];

beforeAll(async () => {
  h = await startLlmHarness();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** An SDK client as `user`, counting the HTTP requests it makes (to see its retries). */
function clientOf(apiKey: string, maxRetries = 0): { client: OpenAI; requests: () => number } {
  let requests = 0;
  const client = new OpenAI({
    baseURL: `${h.url}/v1`,
    apiKey,
    maxRetries,
    fetch: (input, init) => {
      requests += 1;
      return fetch(input, init);
    },
  });
  return { client, requests: () => requests };
}

/** The user's tokens_used rows, once `count` are booked (stream ids cannot name the usage event). */
async function rowsOf(user: LlmTestUser, count: number): Promise<LedgerRow[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const rows = await h.database.db
      .selectFrom('tokens_used')
      .select('event_id')
      .where('user_id', '=', user.id)
      .execute();
    if (rows.length >= count || Date.now() > deadline) return h.ledger(rows.map((row) => row.event_id));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What a rejected SDK call threw. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

describe('chat completions with the official openai package', () => {
  it('streams a chat completion with include_usage and reports the usage the ledger books', async () => {
    const dev = await h.user('developer', 1_000_000);
    const before = await h.balanceOf(dev.id);
    const { client } = clientOf(dev.apiKey);
    const stream = await client.chat.completions.create({
      model: h.model.name,
      messages,
      max_tokens: 24,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    const first = chunks[0];
    expect(first?.choices[0]?.delta.role).toBe('assistant');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    const usage = last?.usage;
    expect(usage?.completion_tokens).toBe(24);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + 24);

    const [row] = await rowsOf(dev, 1);
    expect(row).toMatchObject({
      modelId: h.model.id,
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
      cost: (usage?.total_tokens ?? 0) * TINY_COST_PER_TOKEN,
    });
    await expect.poll(() => h.balanceOf(dev.id), { timeout: 15_000 }).toBe(before - (row?.cost ?? 0));
  });

  it('answers a non-streaming chat completion whose id names the usage event, with a session JWT too', async () => {
    const dev = await h.user('developer', 1_000_000);
    for (const credential of [dev.apiKey, dev.token]) {
      const { client } = clientOf(credential);
      const completion = await client.chat.completions.create({
        model: h.model.name,
        messages,
        max_completion_tokens: 8,
        temperature: 0,
        seed: 7,
      });
      expect(completion.object).toBe('chat.completion');
      expect(completion.model).toBe(h.model.name);
      expect(completion.choices[0]?.message.role).toBe('assistant');
      expect(completion.choices[0]?.finish_reason).toBe('length');
      expect(completion.usage?.completion_tokens).toBe(8);
      const [row] = await h.ledger([completion.id.replace(/^chatcmpl-/, '')]);
      expect(row).toMatchObject({
        userId: dev.id,
        promptTokens: completion.usage?.prompt_tokens,
        completionTokens: 8,
      });
    }
  });

  it('stops generating and bills only what was generated when the client breaks off a stream', async () => {
    const dev = await h.user('developer', 10_000_000);
    const { client } = clientOf(dev.apiKey);
    const stream = await client.chat.completions.create({
      model: h.model.name,
      messages,
      max_tokens: 400,
      stream: true,
    });
    let tokens = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) tokens += 1;
      if (tokens >= 3) break;
    }
    await expect.poll(() => h.engine.listModels()[0]?.activeSequences, { timeout: 5_000 }).toBe(0);
    const [row] = await rowsOf(dev, 1);
    expect(row?.completionTokens).toBeGreaterThanOrEqual(3);
    expect(row?.completionTokens).toBeLessThan(400);
    expect(row?.cost).toBe(((row?.promptTokens ?? 0) + (row?.completionTokens ?? 0)) * TINY_COST_PER_TOKEN);
  });
});

describe('completions, models and embeddings with the official openai package', () => {
  it('completes a prompt, streamed and not', async () => {
    const dev = await h.user('developer', 1_000_000);
    const { client } = clientOf(dev.apiKey);
    const completion = await client.completions.create({
      model: h.model.name,
      prompt: 'Once upon',
      max_tokens: 5,
    });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(5);

    const stream = await client.completions.create({
      model: h.model.name,
      prompt: 'Once upon',
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.Completions.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(5);
    expect(await rowsOf(dev, 2)).toHaveLength(2);
  });

  it('lists the models and retrieves one; an unknown one is 404 model_not_found', async () => {
    const dev = await h.user('developer', 0);
    const { client } = clientOf(dev.apiKey);
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models).toContainEqual(expect.objectContaining({ id: h.model.name, object: 'model' }));
    expect(await client.models.retrieve(h.model.name)).toMatchObject({ id: h.model.name, object: 'model' });
    const missing = await failure(client.models.retrieve('no-such-model'));
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('embeds texts (the SDK asks for base64 and decodes it) and bills the prompt tokens', async () => {
    const dev = await h.user('developer', 1_000_000);
    const { client } = clientOf(dev.apiKey);
    const result = await client.embeddings.create({ model: h.model.name, input: ['hello', 'world'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(result.data[0]?.embedding.every((value) => Number.isFinite(value))).toBe(true);
    const [row] = await rowsOf(dev, 1);
    expect(row).toMatchObject({ promptTokens: result.usage.prompt_tokens, completionTokens: 0 });
  });
});

describe('errors as the official openai package sees them', () => {
  it('refuses a bad key with AuthenticationError 401 invalid_api_key', async () => {
    for (const badKey of ['not-a-real-key-0123456789', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln']) {
      const { client } = clientOf(badKey);
      const error = await failure(
        client.chat.completions.create({ model: h.model.name, messages, stream: true }),
      );
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    }
  });

  it('refuses a context overflow with 400 context_length_exceeded, naming both numbers', async () => {
    const dev = await h.user('developer', 1_000_000);
    const { client } = clientOf(dev.apiKey);
    const error = await failure(
      client.chat.completions.create({
        model: h.model.name,
        messages,
        max_tokens: TINY_CONTEXT,
        stream: true,
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect((error as Error).message).toContain(`maximum context length is ${TINY_CONTEXT} tokens`);
  });

  it('refuses an exhausted budget with 429 insufficient_quota, and the SDK does not retry it', async () => {
    const broke = await h.user('developer', 0);
    const { client, requests } = clientOf(broke.apiKey, 2);
    const error = await failure(
      client.chat.completions.create({ model: h.model.name, messages, max_tokens: 4 }),
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(requests()).toBe(1);
  });

  it('refuses a viewer with 403 and a bad field with 400 naming the param', async () => {
    const viewer = await h.user('viewer', 1_000_000);
    const forbidden = await failure(
      clientOf(viewer.apiKey).client.chat.completions.create({ model: h.model.name, messages }),
    );
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const dev = await h.user('developer', 1_000_000);
    const invalid = await failure(
      clientOf(dev.apiKey).client.chat.completions.create({ model: h.model.name, messages, n: 2 }),
    );
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect(invalid).toMatchObject({ status: 400, param: 'n' });
  });
});

describe('/v1 over plain HTTP', () => {
  it('takes the API key in X-Cyber-Token as well', async () => {
    const dev = await h.user('developer', 0);
    const response = await fetch(`${h.url}/v1/models`, { headers: { 'x-cyber-token': dev.apiKey } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: 'list' });
  });

  it('answers no credentials, unknown URLs and malformed JSON in OpenAI’s error shape', async () => {
    const anonymous = await fetch(`${h.url}/v1/models`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'invalid_api_key', param: null } });
    const dev = await h.user('developer', 0);
    const unknown = await fetch(`${h.url}/v1/assistants`, {
      headers: { authorization: `Bearer ${dev.apiKey}` },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'unknown_url' },
    });
    const malformed = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev.apiKey}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(malformed.status).toBe(400);
    const body = (await malformed.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).not.toMatch(/at |\.ts:/);
  });
});
