import { describe, expect, it } from 'vitest';
import { MAX_COMPLETION_TOKENS, llmMethods } from './llm.js';

const chat = llmMethods['llm.chat'].params;
const messages = [{ role: 'user', content: 'Say hi' }];

describe('llm.chat params', () => {
  it('fills defaults for a minimal request', () => {
    expect(chat.parse({ model: 'gemma3-270m', messages })).toMatchObject({
      maxTokens: 512,
      stop: [],
      tools: [],
      toolChoice: 'auto',
      responseFormat: { type: 'text' },
    });
  });

  it('accepts tools, a JSON schema format and a tool-call transcript', () => {
    const parsed = chat.safeParse({
      model: 'gemma3-270m',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }],
        },
        { role: 'tool', toolCallId: 'c1', content: '{"temp":3}' },
      ],
      tools: [{ name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      toolChoice: { name: 'weather' },
      responseFormat: { type: 'json_schema', schema: { type: 'object' } },
      sampling: { temperature: 0.2, topK: 40, seed: 7 },
      stop: ['\n\n'],
    });
    expect(parsed.success).toBe(true);
  });

  it('refuses bad maxTokens, sampling out of range, an unknown role and an empty chat', () => {
    expect(chat.safeParse({ model: 'm', messages, maxTokens: 0 }).success).toBe(false);
    expect(chat.safeParse({ model: 'm', messages, maxTokens: -1 }).success).toBe(false);
    expect(chat.safeParse({ model: 'm', messages, maxTokens: MAX_COMPLETION_TOKENS + 1 }).success).toBe(
      false,
    );
    expect(chat.safeParse({ model: 'm', messages, sampling: { temperature: 9 } }).success).toBe(false);
    expect(chat.safeParse({ model: 'm', messages, sampling: { mirostat: 2 } }).success).toBe(false);
    expect(chat.safeParse({ model: 'm', messages: [{ role: 'root', content: 'x' }] }).success).toBe(false);
    expect(chat.safeParse({ model: 'm', messages: [] }).success).toBe(false);
  });

  it('refuses a forced tool choice without tools and model names with path characters', () => {
    expect(chat.safeParse({ model: 'm', messages, toolChoice: 'required' }).success).toBe(false);
    expect(chat.safeParse({ model: '../../etc/passwd', messages }).success).toBe(false);
  });

  it('streams queue positions and tokens as llm.token', () => {
    const stream = llmMethods['llm.chat'].stream;
    if (!stream) throw new Error('expected a streaming method');
    expect(stream.method).toBe('llm.token');
    expect(stream.params.safeParse({ kind: 'queued', position: 2 }).success).toBe(true);
    expect(stream.params.safeParse({ kind: 'token', text: 'Hi', completionTokens: 1 }).success).toBe(true);
    expect(stream.params.safeParse({ kind: 'queued', position: 0 }).success).toBe(false);
  });
});

describe('llm.countTokens params', () => {
  it('takes exactly one of text or messages', () => {
    const count = llmMethods['llm.countTokens'].params;
    expect(count.safeParse({ model: 'm', text: 'hello' }).success).toBe(true);
    expect(count.safeParse({ model: 'm', messages }).success).toBe(true);
    expect(count.safeParse({ model: 'm' }).success).toBe(false);
    expect(count.safeParse({ model: 'm', text: 'x', messages }).success).toBe(false);
  });
});
