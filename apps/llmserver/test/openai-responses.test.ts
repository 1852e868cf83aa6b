import { describe, expect, it } from 'vitest';
import type { ChatResult, CompleteResult } from '../src/inference/inference-types.js';
import {
  ChatChunker,
  CompletionChunker,
  MODEL_OWNER,
  chatCompletionBody,
  completionBody,
  embeddingsBody,
  modelListBody,
} from '../src/openai/openai-responses.js';

const usage = { promptTokens: 12, completionTokens: 3, totalTokens: 15, cost: 150 };
const id = '0b7c6f5e-3c1a-4a55-9d55-1f4b2f3b9a10';

function chatResult(overrides: Partial<ChatResult> = {}): ChatResult {
  return {
    id,
    model: 'tiny',
    finishReason: 'stop',
    usage,
    queuedMs: 0,
    durationMs: 5,
    message: { role: 'assistant', content: 'Hello', toolCalls: [] },
    ...overrides,
  };
}

const completeResult: CompleteResult = {
  id,
  model: 'tiny',
  finishReason: 'length',
  usage,
  queuedMs: 0,
  durationMs: 5,
  text: ' upon a time',
};

describe('chat.completion body', () => {
  it('names the usage event in its id and carries OpenAI usage', () => {
    expect(chatCompletionBody(chatResult(), 1_700_000_000)).toEqual({
      id: `chatcmpl-${id}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'tiny',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    });
  });

  it('returns tool calls with arguments as a JSON string and finish_reason tool_calls', () => {
    const body = chatCompletionBody(
      chatResult({
        finishReason: 'tool_calls',
        message: {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }],
        },
      }),
      0,
    );
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
    });
  });

  it('never shows cancelled to a client', () => {
    expect(chatCompletionBody(chatResult({ finishReason: 'cancelled' }), 0).choices[0]?.finish_reason).toBe(
      'stop',
    );
  });
});

describe('text_completion body', () => {
  it('has the text, finish reason and usage', () => {
    expect(completionBody(completeResult, 5)).toEqual({
      id: `cmpl-${id}`,
      object: 'text_completion',
      created: 5,
      model: 'tiny',
      choices: [{ index: 0, text: ' upon a time', logprobs: null, finish_reason: 'length' }],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
    });
  });
});

describe('chat.completion.chunk stream', () => {
  const stream = { id: 'chatcmpl-x', created: 9, model: 'tiny' };

  it('starts with the role, sends one chunk per token event, then the finish reason and the usage chunk', () => {
    const chunker = new ChatChunker({ ...stream, includeUsage: true });
    const items = [
      ...chunker.first(),
      ...chunker.event({ kind: 'queued', position: 2 }),
      ...chunker.event({ kind: 'started', promptTokens: 12 }),
      ...chunker.event({ kind: 'token', text: 'Hel', completionTokens: 1 }),
      ...chunker.event({ kind: 'token', text: 'lo', completionTokens: 2 }),
      ...chunker.event({ kind: 'token', text: '', completionTokens: 3 }),
      ...chunker.finish(chatResult()),
    ];
    const base = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 9, model: 'tiny' };
    const choice = (delta: object, finish: string | null) => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage: null,
    });
    expect(items).toEqual([
      { data: choice({ role: 'assistant', content: '' }, null) },
      { comment: 'queued 2' },
      { data: choice({ content: 'Hel' }, null) },
      { data: choice({ content: 'lo' }, null) },
      { data: choice({}, 'stop') },
      {
        data: { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } },
      },
    ]);
  });

  it('numbers streamed tool calls and leaves out usage unless asked', () => {
    const chunker = new ChatChunker({ ...stream, includeUsage: false });
    const calls = [
      ...chunker.event({ kind: 'toolCall', toolCall: { id: 'a', name: 'f', arguments: {} } }),
      ...chunker.event({ kind: 'toolCall', toolCall: { id: 'b', name: 'g', arguments: { x: 1 } } }),
    ];
    expect(calls.map((item) => ('data' in item ? item.data : item))).toEqual([
      expect.objectContaining({
        choices: [
          expect.objectContaining({
            delta: {
              tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
          }),
        ],
      }),
      expect.objectContaining({
        choices: [
          expect.objectContaining({
            delta: {
              tool_calls: [
                { index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '{"x":1}' } },
              ],
            },
          }),
        ],
      }),
    ]);
    const end = chunker.finish(chatResult({ finishReason: 'tool_calls' }));
    expect(end).toHaveLength(1);
    expect(Object.keys((end[0] as { data: object }).data)).not.toContain('usage');
    expect(JSON.stringify(end[0])).toContain('"finish_reason":"tool_calls"');
  });
});

describe('streamed text_completion', () => {
  it('sends text chunks, the finish reason and the usage chunk', () => {
    const chunker = new CompletionChunker({ id: 'cmpl-x', created: 1, model: 'tiny', includeUsage: true });
    const items = [
      ...chunker.first(),
      ...chunker.event({ kind: 'started', promptTokens: 12 }),
      ...chunker.event({ kind: 'token', text: ' upon', completionTokens: 1 }),
      ...chunker.finish(completeResult),
    ];
    const base = { id: 'cmpl-x', object: 'text_completion', created: 1, model: 'tiny' };
    expect(items).toEqual([
      {
        data: {
          ...base,
          choices: [{ index: 0, text: ' upon', logprobs: null, finish_reason: null }],
          usage: null,
        },
      },
      {
        data: {
          ...base,
          choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'length' }],
          usage: null,
        },
      },
      {
        data: { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } },
      },
    ]);
  });
});

describe('embeddings and models', () => {
  const result = {
    id,
    model: 'tiny',
    embeddings: [
      [0.5, -1.25],
      [3, 0],
    ],
    promptTokens: 4,
  };

  it('lists float vectors with prompt-only usage', () => {
    expect(embeddingsBody(result, false)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1.25] },
        { object: 'embedding', index: 1, embedding: [3, 0] },
      ],
      model: 'tiny',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
  });

  it('encodes base64 vectors as little-endian float32, which decode to the same numbers', () => {
    const encoded = embeddingsBody(result, true).data[0]?.embedding;
    expect(typeof encoded).toBe('string');
    const bytes = Buffer.from(encoded as string, 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual([
      0.5, -1.25,
    ]);
  });

  it('lists models with unix-second created times', () => {
    expect(
      modelListBody([
        {
          name: 'tiny',
          contextSize: 512,
          costPerToken: 10,
          createdAt: '2026-01-02T03:04:05.000Z',
          loaded: true,
        },
      ]),
    ).toEqual({
      object: 'list',
      data: [{ id: 'tiny', object: 'model', created: 1_767_323_045, owned_by: MODEL_OWNER }],
    });
  });
});
