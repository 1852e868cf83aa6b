import { isRpcError, type RpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { credentialHeaders } from '../src/openai/openai-auth.js';
import {
  ChatCompletionRequest,
  CompletionRequest,
  DEFAULT_COMPLETION_MAX_TOKENS,
  EmbeddingRequest,
  parseOpenAiBody,
  toChatParams,
  toCompleteParams,
  toEmbedParams,
} from '../src/openai/openai-requests.js';

function chat(body: Record<string, unknown>) {
  return toChatParams(parseOpenAiBody(ChatCompletionRequest, body));
}

/** The invalid_params error a call throws, with its OpenAI `param`. */
function refusal(run: () => unknown): { message: string; param: unknown } {
  try {
    run();
  } catch (error) {
    expect(isRpcError(error, 'invalid_params')).toBe(true);
    const rpc = error as RpcError;
    return { message: rpc.message, param: rpc.data?.param };
  }
  throw new Error('expected invalid_params');
}

const base = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] };

describe('chat/completions request -> llm.chat params', () => {
  it('translates every role, text parts, tool calls and tool results, applying the contract defaults', () => {
    const params = chat({
      model: 'tiny',
      messages: [
        { role: 'developer', content: 'be brief' },
        {
          role: 'system',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'user', content: 'weather?', name: 'ignored' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{"t":3}' },
      ],
    });
    expect(params.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'system', content: 'a\nb' },
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [{ id: 'c1', name: 'get', arguments: { city: 'Oslo' } }],
      },
      { role: 'tool', toolCallId: 'c1', content: '{"t":3}' },
    ]);
    expect(params).toMatchObject({
      model: 'tiny',
      maxTokens: 512,
      stop: [],
      tools: [],
      toolChoice: 'auto',
      responseFormat: { type: 'text' },
    });
    expect(params.sampling).toBeUndefined();
  });

  it('maps sampling, stop, limits, tools, tool_choice and response_format to the contract names', () => {
    const params = chat({
      ...base,
      max_tokens: 7,
      temperature: 0.5,
      top_p: 0.9,
      seed: 42,
      presence_penalty: 0.1,
      frequency_penalty: -0.2,
      stop: 'END',
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } },
      stream: true,
      stream_options: { include_usage: true },
      user: 'someone',
      n: 1,
    });
    expect(params).toMatchObject({
      maxTokens: 7,
      stop: ['END'],
      sampling: { temperature: 0.5, topP: 0.9, seed: 42, presencePenalty: 0.1, frequencyPenalty: -0.2 },
      tools: [{ name: 'get_weather', description: '', parameters: { type: 'object' } }],
      toolChoice: { name: 'get_weather' },
      responseFormat: { type: 'json_schema', schema: { type: 'object' } },
    });
  });

  it('prefers max_completion_tokens over max_tokens and gives tools without parameters an empty object schema', () => {
    const params = chat({
      ...base,
      max_tokens: 5,
      max_completion_tokens: 9,
      tools: [{ type: 'function', function: { name: 'now' } }],
    });
    expect(params.maxTokens).toBe(9);
    expect(params.tools[0]?.parameters).toEqual({ type: 'object', properties: {} });
  });

  it('ignores unknown fields and nulls that OpenAI clients send', () => {
    const params = chat({
      ...base,
      temperature: null,
      stop: null,
      parallel_tool_calls: true,
      metadata: { a: 1 },
    });
    expect(params.sampling).toBeUndefined();
    expect(params.stop).toEqual([]);
  });

  it('refuses a wrong type with the OpenAI param that holds it', () => {
    expect(refusal(() => chat({ ...base, temperature: 'hot' })).param).toBe('temperature');
    expect(
      refusal(() =>
        chat({
          model: 'tiny',
          messages: [
            { role: 'user', content: 'a' },
            { role: 'user', content: 3 },
          ],
        }),
      ).param,
    ).toBe('messages[1].content');
    expect(refusal(() => chat({ ...base, stream: 'yes' })).param).toBe('stream');
    expect(refusal(() => chat({ model: 'tiny', messages: [] })).param).toBe('messages');
    expect(refusal(() => parseOpenAiBody(ChatCompletionRequest, [1, 2])).param).toBeNull();
  });

  it('reports the contract limits under the OpenAI names', () => {
    expect(refusal(() => chat({ ...base, temperature: 3 })).param).toBe('temperature');
    expect(refusal(() => chat({ ...base, top_p: 0 })).param).toBe('top_p');
    expect(refusal(() => chat({ ...base, max_tokens: 0 })).param).toBe('max_tokens');
    expect(refusal(() => chat({ ...base, max_completion_tokens: 0 })).param).toBe('max_completion_tokens');
    expect(refusal(() => chat({ ...base, model: 'bad name!' })).param).toBe('model');
    expect(
      refusal(() =>
        chat({ ...base, tools: [{ type: 'function', function: { name: 'has space', parameters: {} } }] }),
      ).param,
    ).toBe('tools[0].function.name');
    expect(refusal(() => chat({ ...base, tool_choice: 'required' })).param).toBe('tool_choice');
  });

  it('refuses n other than 1, logprobs and images clearly', () => {
    expect(refusal(() => chat({ ...base, n: 2 }))).toEqual({ message: 'Only n=1 is supported.', param: 'n' });
    expect(refusal(() => chat({ ...base, logprobs: true })).param).toBe('logprobs');
    const image = refusal(() =>
      chat({
        model: 'tiny',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } },
            ],
          },
        ],
      }),
    );
    expect(image.param).toBe('messages[0].content[1]');
    expect(image.message).toMatch(/Image inputs are not supported/);
  });

  it('refuses tool call arguments that are not a JSON object string', () => {
    const call = (args: string) => ({
      model: 'tiny',
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }],
        },
      ],
    });
    expect(refusal(() => chat(call('{nope'))).param).toBe('messages[1].tool_calls[0].function.arguments');
    expect(refusal(() => chat(call('[1]'))).param).toBe('messages[1].tool_calls[0].function.arguments');
  });
});

describe('completions request -> llm.complete params', () => {
  const complete = (body: Record<string, unknown>) =>
    toCompleteParams(parseOpenAiBody(CompletionRequest, body));

  it('takes a prompt string or a one-element array, with OpenAI’s default of 16 tokens', () => {
    expect(complete({ model: 'tiny', prompt: 'Once' })).toMatchObject({
      model: 'tiny',
      prompt: 'Once',
      maxTokens: DEFAULT_COMPLETION_MAX_TOKENS,
      stop: [],
    });
    expect(complete({ model: 'tiny', prompt: ['Once'], max_tokens: 3, stop: ['.'], seed: 1 })).toMatchObject({
      prompt: 'Once',
      maxTokens: 3,
      stop: ['.'],
      sampling: { seed: 1 },
    });
  });

  it('refuses several prompts, token ids, echo, suffix and best_of', () => {
    expect(refusal(() => complete({ model: 'tiny', prompt: ['a', 'b'] })).param).toBe('prompt');
    expect(refusal(() => complete({ model: 'tiny', prompt: [[1, 2]] })).param).toBe('prompt');
    expect(refusal(() => complete({ model: 'tiny', prompt: 'a', echo: true })).param).toBe('echo');
    expect(refusal(() => complete({ model: 'tiny', prompt: 'a', suffix: 'z' })).param).toBe('suffix');
    expect(refusal(() => complete({ model: 'tiny', prompt: 'a', best_of: 2 })).param).toBe('best_of');
    expect(refusal(() => complete({ model: 'tiny', prompt: '' })).param).toBe('prompt');
  });
});

describe('embeddings request', () => {
  const embed = (body: Record<string, unknown>) => toEmbedParams(parseOpenAiBody(EmbeddingRequest, body));

  it('takes one text or many, and notes base64 encoding (the official SDK’s default)', () => {
    expect(embed({ model: 'tiny', input: 'a' })).toEqual({
      params: { model: 'tiny', input: ['a'] },
      base64: false,
    });
    expect(embed({ model: 'tiny', input: ['a', 'b'], encoding_format: 'base64' })).toEqual({
      params: { model: 'tiny', input: ['a', 'b'] },
      base64: true,
    });
  });

  it('refuses token ids, empty input, dimensions and unknown encodings', () => {
    expect(refusal(() => embed({ model: 'tiny', input: [[1, 2]] })).param).toBe('input[0]');
    expect(refusal(() => embed({ model: 'tiny', input: [] })).param).toBe('input');
    expect(refusal(() => embed({ model: 'tiny', input: 'a', dimensions: 8 })).param).toBe('dimensions');
    expect(refusal(() => embed({ model: 'tiny', input: 'a', encoding_format: 'hex' })).param).toBe(
      'encoding_format',
    );
  });
});

describe('credential headers', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

  it('keeps a bearer JWT as the session credential', () => {
    expect(credentialHeaders({ authorization: `Bearer ${jwt}`, host: 'h' })).toEqual({
      authorization: `Bearer ${jwt}`,
      host: 'h',
    });
  });

  it('moves a bearer API key to x-cyber-token, the header the verifier resolves keys from', () => {
    expect(credentialHeaders({ authorization: 'Bearer cyb_0123456789abcdef', host: 'h' })).toEqual({
      'x-cyber-token': 'cyb_0123456789abcdef',
      host: 'h',
    });
  });

  it('passes X-Cyber-Token and malformed Authorization headers through unchanged', () => {
    const headers = { 'x-cyber-token': 'cyb_0123456789abcdef' };
    expect(credentialHeaders(headers)).toBe(headers);
    expect(credentialHeaders({ authorization: 'Basic abc' })).toEqual({ authorization: 'Basic abc' });
  });
});
