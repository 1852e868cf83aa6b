import { describe, expect, it } from 'vitest';
import { planFunctions, toChatHistory } from './chat-history.js';

const TOOL = { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } };

describe('toChatHistory', () => {
  it('adds an empty model turn after a user message', () => {
    expect(toChatHistory([{ role: 'user', content: 'hi' }])).toEqual([
      { type: 'user', text: 'hi' },
      { type: 'model', response: [] },
    ]);
  });

  it('keeps a tool round trip in one model turn and continues it after the results', () => {
    const history = toChatHistory([
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: 'checking',
        toolCalls: [
          { id: 'c1', name: 'f', arguments: { a: 'x' } },
          { id: 'c2', name: 'f', arguments: { a: 'y' } },
        ],
      },
      { role: 'tool', toolCallId: 'c2', content: 'plain text' },
      { role: 'tool', toolCallId: 'c1', content: '{"n": 1}' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: 'hi' },
      {
        type: 'model',
        response: [
          'checking',
          { type: 'functionCall', name: 'f', params: { a: 'x' }, result: { n: 1 }, startsNewChunk: true },
          { type: 'functionCall', name: 'f', params: { a: 'y' }, result: 'plain text' },
        ],
      },
    ]);
  });

  it('merges the assistant answer after tool results into the same turn, then opens a new one', () => {
    const history = toChatHistory([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'f', arguments: {} }] },
      { role: 'tool', toolCallId: 'c1', content: '1' },
      { role: 'assistant', content: 'done' },
      { role: 'user', content: 'thanks' },
    ]);
    expect(history.map((item) => item.type)).toEqual(['user', 'model', 'user', 'model']);
    expect(history[1]).toMatchObject({ response: [{ type: 'functionCall', result: 1 }, 'done'] });
  });
});

describe('planFunctions', () => {
  it('offers all, none, or only the named tool, and forces a call for required and a name', () => {
    const other = { ...TOOL, name: 'g', description: 'G' };
    expect(planFunctions([TOOL, other], 'auto')).toEqual({
      functions: { f: { params: TOOL.parameters }, g: { description: 'G', params: TOOL.parameters } },
      forced: false,
    });
    expect(planFunctions([TOOL], 'none')).toEqual({ functions: undefined, forced: false });
    expect(planFunctions([], undefined)).toEqual({ functions: undefined, forced: false });
    expect(planFunctions([TOOL, other], { name: 'g' })).toMatchObject({ functions: { g: {} }, forced: true });
    expect(Object.keys(planFunctions([TOOL, other], { name: 'g' }).functions ?? {})).toEqual(['g']);
    expect(planFunctions([TOOL, other], 'required').forced).toBe(true);
    expect(() => planFunctions([], 'required')).toThrow(
      expect.objectContaining({ key: 'invalid_params' }) as Error,
    );
  });
});
