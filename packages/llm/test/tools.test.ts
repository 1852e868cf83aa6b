// Tool calling, grammar-constrained JSON and their metering, against the generated tiny model (ChatML
// template, so node-llama-cpp's ChatML wrapper and its `||call: name(params)` syntax). The model writes junk
// text and never calls a function by itself, so calls here are forced with toolChoice; its output under a
// grammar is still valid by construction.
import { isRpcError, type RpcError } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LlmEngine,
  type LlmMessage,
  type LlmToolDefinition,
  type PromptOptions,
  type TokenChunk,
} from '../src/index.js';
import { ensureTinyModel } from '../src/testing.js';

const MODEL = 'tiny-tools';
let engine: LlmEngine;

const WEATHER: LlmToolDefinition = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { enum: ['Paris', 'Rome', 'Oslo'] }, rain: { type: 'boolean' } },
    required: ['city', 'rain'],
  },
};
const TIME: LlmToolDefinition = {
  name: 'get_time',
  description: 'Time in a zone',
  parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] },
};
/** A tool whose argument is free text: a call to it runs as long as the model writes the string. */
const NOTE: LlmToolDefinition = {
  name: 'write_note',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};
const MESSAGES: LlmMessage[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

async function rpcRejection(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRpcError(error)) throw new Error(`expected an RpcError, got ${String(error)}`);
  return error;
}

function count(options: Omit<PromptOptions, 'modelId'>): number {
  return engine.countTokens({ modelId: MODEL, ...options } as PromptOptions);
}

beforeAll(async () => {
  engine = await LlmEngine.create({ gpu: 'false' });
  await engine.loadModel({ id: MODEL, path: await ensureTinyModel(), contextSize: 2048, sequences: 1 });
});

afterAll(async () => {
  await engine?.close();
});

describe('tools in the prompt', () => {
  it('counts the tools documentation the wrapper renders, and nothing for toolChoice none', () => {
    const plain = count({ messages: MESSAGES });
    const withTools = count({ messages: MESSAGES, tools: [WEATHER, TIME] });
    expect(withTools).toBeGreaterThan(plain + 100);
    expect(count({ messages: MESSAGES, tools: [WEATHER], toolChoice: 'none' })).toBe(plain);
    // A named tool offers only that one; forcing adds the call prefix the wrapper writes into the turn.
    const named = count({ messages: MESSAGES, tools: [WEATHER, TIME], toolChoice: { name: 'get_weather' } });
    const weatherOnly = count({ messages: MESSAGES, tools: [WEATHER] });
    expect(named).toBeGreaterThan(weatherOnly);
    expect(named - weatherOnly).toBeLessThan(12);
  });

  it('evaluates exactly the counted prompt when tools are offered (auto): completion is only what was sampled', async () => {
    const options = { messages: MESSAGES, tools: [WEATHER, TIME] };
    const chunks: TokenChunk[] = [];
    const result = await engine.generate({
      modelId: MODEL,
      ...options,
      maxTokens: 24,
      onToken: (c) => chunks.push(c),
    });
    expect(result.promptTokens).toBe(count(options));
    // The meter counts everything evaluated beyond the prompt as completion: 24 means the prompt evaluated
    // was exactly the one counted.
    expect(result.completionTokens).toBe(24);
    expect(result.stopReason).toBe('maxTokens');
    expect(result.toolCalls).toEqual([]);
    expect(chunks.reduce((sum, c) => sum + c.tokens, 0)).toBe(24);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
  });
});

describe('forced tool calls', () => {
  it('a named tool choice yields a parsed call with valid arguments, a call_ id and exact usage', async () => {
    const options = { messages: MESSAGES, tools: [WEATHER, TIME], toolChoice: { name: 'get_weather' } };
    const chunks: TokenChunk[] = [];
    const result = await engine.generate({
      modelId: MODEL,
      ...options,
      maxTokens: 100,
      onToken: (c) => chunks.push(c),
    });
    expect(result.stopReason).toBe('toolCalls');
    expect(result.toolCalls).toHaveLength(1);
    const [call] = result.toolCalls;
    expect(call?.name).toBe('get_weather');
    expect(call?.id).toMatch(/^call_[\w-]{8,}$/);
    expect(['Paris', 'Rome', 'Oslo']).toContain(call?.arguments['city']);
    expect(typeof call?.arguments['rain']).toBe('boolean');
    expect(result.promptTokens).toBe(count(options));
    // Every token is reported as it is produced; the last chunk carries the total.
    expect(result.completionTokens).toBeGreaterThan(10);
    console.info();
    expect(chunks.at(-1)?.completionTokens).toBe(result.completionTokens);
    expect(chunks.reduce((sum, c) => sum + c.tokens, 0)).toBe(result.completionTokens);
  });

  it('a forced call evaluates exactly the counted prompt (the call prefix included)', async () => {
    const options = { messages: MESSAGES, tools: [WEATHER], toolChoice: 'required' } as const;
    const result = await engine.generate({ modelId: MODEL, ...options, maxTokens: 1 });
    // One token sampled and nothing else evaluated beyond the count, else the meter would show more.
    expect(result).toMatchObject({ completionTokens: 1, stopReason: 'maxTokens', toolCalls: [] });
    expect(result.promptTokens).toBe(count(options));
  });

  it('toolChoice required calls one of the offered tools; ids are unique', async () => {
    const run = () =>
      engine.generate({
        modelId: MODEL,
        messages: MESSAGES,
        tools: [WEATHER, TIME],
        toolChoice: 'required',
        maxTokens: 100,
        sampling: { temperature: 0.9, seed: 11 },
      });
    const [a, b] = [await run(), await run()];
    for (const result of [a, b]) {
      expect(result.stopReason).toBe('toolCalls');
      expect(['get_weather', 'get_time']).toContain(result.toolCalls[0]?.name);
    }
    expect(a.toolCalls[0]?.id).not.toBe(b.toolCalls[0]?.id);
  });

  it('an abort in the middle of a call bills exactly the tokens reported so far and returns no call', async () => {
    const controller = new AbortController();
    let reported = 0;
    const result = await engine.generate({
      modelId: MODEL,
      messages: MESSAGES,
      tools: [NOTE],
      toolChoice: 'required',
      maxTokens: 400,
      signal: controller.signal,
      onToken: (chunk) => {
        reported = chunk.completionTokens;
        if (reported >= 20) controller.abort();
      },
    });
    expect(result.stopReason).toBe('abort');
    expect(result.toolCalls).toEqual([]);
    expect(result.completionTokens).toBe(reported);
    expect(result.completionTokens).toBeGreaterThanOrEqual(20);
    expect(result.completionTokens).toBeLessThan(60);
  });

  it('an abort in the middle of chat text bills exactly the streamed tokens', async () => {
    const controller = new AbortController();
    let streamed = 0;
    const result = await engine.generate({
      modelId: MODEL,
      messages: MESSAGES,
      maxTokens: 400,
      signal: controller.signal,
      onToken: (chunk) => {
        streamed += chunk.tokens;
        if (streamed >= 7) controller.abort();
      },
    });
    expect(result.stopReason).toBe('abort');
    expect(result.completionTokens).toBe(streamed);
    expect(streamed).toBeLessThan(400);
  });

  it('refuses a tool choice naming no tool, tools on a raw prompt and parameters the grammar cannot enforce', () => {
    const refused = (options: Omit<PromptOptions, 'modelId'>): string | undefined => {
      try {
        count(options);
      } catch (error) {
        return isRpcError(error, 'invalid_params') ? error.message : `other: ${String(error)}`;
      }
      return undefined;
    };
    expect(refused({ messages: MESSAGES, tools: [WEATHER], toolChoice: { name: 'nope' } })).toMatch(/nope/);
    expect(refused({ prompt: 'x', tools: [WEATHER] })).toMatch(/raw prompt/);
    const pattern = {
      ...NOTE,
      parameters: { type: 'object', properties: { text: { type: 'string', pattern: 'a+' } } },
    };
    expect(refused({ messages: MESSAGES, tools: [pattern] })).toMatch(
      /write_note.*\$\.properties\.text\.pattern/,
    );
    expect(refused({ messages: MESSAGES, tools: [{ ...NOTE, parameters: { type: 'string' } }] })).toMatch(
      /object/,
    );
  });
});

describe('tool results in the history', () => {
  const history: LlmMessage[] = [
    ...MESSAGES,
    {
      role: 'assistant',
      content: null,
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris', rain: false } }],
    },
    { role: 'tool', toolCallId: 'call_1', content: '{"celsius": 21}' },
  ];

  it('renders the call and its result into the model turn and continues it, counted exactly', async () => {
    const options = { messages: history, tools: [WEATHER] };
    const withResult = count(options);
    expect(withResult).toBeGreaterThan(count({ messages: MESSAGES, tools: [WEATHER] }));
    const result = await engine.generate({ modelId: MODEL, ...options, maxTokens: 16 });
    expect(result.promptTokens).toBe(withResult);
    expect(result.completionTokens).toBe(16);
    // A different result is a different prompt.
    const other = history.with(-1, {
      role: 'tool',
      toolCallId: 'call_1',
      content: '{"celsius": 21, "wind": "strong"}',
    });
    expect(count({ messages: other, tools: [WEATHER] })).toBeGreaterThan(withResult);
  });

  it('refuses a result for an unknown call and a call left without a result', () => {
    const unknown = history.with(-1, { role: 'tool', toolCallId: 'call_9', content: '1' });
    expect(() => count({ messages: unknown })).toThrow(
      expect.objectContaining({ key: 'invalid_params' }) as Error,
    );
    expect(() => count({ messages: history.slice(0, -1) })).toThrow(
      expect.objectContaining({ key: 'invalid_params' }) as Error,
    );
  });
});

describe('JSON output', () => {
  const SCHEMA = {
    type: 'object',
    properties: {
      ok: { type: 'boolean' },
      color: { enum: ['red', 'green', 'blue'] },
      size: { type: 'integer' },
    },
    required: ['ok', 'color'],
  };

  function expectMatchesSchema(text: string): void {
    const value = JSON.parse(text) as Record<string, unknown>;
    expect(typeof value['ok']).toBe('boolean');
    expect(['red', 'green', 'blue']).toContain(value['color']);
    if ('size' in value) expect(Number.isInteger(value['size'])).toBe(true);
  }

  it('json_schema constrains a chat answer and a raw completion to the schema', async () => {
    const chat = await engine.generate({
      modelId: MODEL,
      messages: MESSAGES,
      responseFormat: { type: 'json_schema', schema: SCHEMA },
      maxTokens: 120,
    });
    expect(chat.stopReason).toBe('eos');
    expectMatchesSchema(chat.text);
    expect(chat.promptTokens).toBe(count({ messages: MESSAGES }));
    const raw = await engine.generate({
      modelId: MODEL,
      prompt: 'answer:',
      responseFormat: { type: 'json_schema', schema: SCHEMA },
      maxTokens: 120,
    });
    expectMatchesSchema(raw.text);
    expect(raw.promptTokens).toBe(count({ prompt: 'answer:' }));
  });

  it('json_object starts a JSON value (the grammar allows nothing else)', async () => {
    const result = await engine.generate({
      modelId: MODEL,
      prompt: 'json:',
      responseFormat: { type: 'json_object' },
      maxTokens: 30,
    });
    expect(result.text.trimStart()).toMatch(/^[{["\-\dtfn]/);
    expect(result.completionTokens).toBeGreaterThan(0);
  });

  it('refuses a schema the grammar cannot enforce, and JSON output together with tools', async () => {
    const bad = await rpcRejection(
      engine.generate({
        modelId: MODEL,
        prompt: 'x',
        responseFormat: {
          type: 'json_schema',
          schema: { type: 'object', properties: { n: { type: 'integer', minimum: 3 } } },
        },
        maxTokens: 5,
      }),
    );
    expect(bad.key).toBe('invalid_params');
    expect(bad.data).toEqual({ reason: '$.properties.n.minimum is not supported' });
    const nonsense = await rpcRejection(
      engine.generate({
        modelId: MODEL,
        prompt: 'x',
        responseFormat: { type: 'json_schema', schema: { type: 'nonsense' } },
        maxTokens: 5,
      }),
    );
    expect(nonsense.message).toMatch(/type must be/);
    const mixed = await rpcRejection(
      engine.generate({
        modelId: MODEL,
        messages: MESSAGES,
        tools: [WEATHER],
        responseFormat: { type: 'json_object' },
        maxTokens: 5,
      }),
    );
    expect(mixed.key).toBe('invalid_params');
    expect(engine.listModels()[0]?.activeSequences).toBe(0);
  });
});
