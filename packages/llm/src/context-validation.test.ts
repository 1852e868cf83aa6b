import { isRpcError, type RpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { validateContext } from './context-validation.js';

describe('validateContext', () => {
  it('accepts a prompt plus maxTokens that exactly fills the context', () => {
    expect(() => validateContext({ promptTokens: 100, maxTokens: 412, contextSize: 512 })).not.toThrow();
  });

  it('refuses one token more with context_too_long carrying the three numbers', () => {
    let caught: unknown;
    try {
      validateContext({ promptTokens: 100, maxTokens: 413, contextSize: 512 });
    } catch (error) {
      caught = error;
    }
    expect(isRpcError(caught, 'context_too_long')).toBe(true);
    expect((caught as RpcError).data).toEqual({ promptTokens: 100, maxTokens: 413, contextSize: 512 });
    expect((caught as RpcError).message).toContain('512');
  });
});
