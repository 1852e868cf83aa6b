import { RpcError } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { isWireResponse, unwrap } from './wire.js';

describe('wire', () => {
  it('recognizes results and errors, and nothing else', () => {
    expect(isWireResponse({ jsonrpc: '2.0', id: 1, result: null })).toBe(true);
    expect(
      isWireResponse({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }),
    ).toBe(true);
    expect(isWireResponse({ jsonrpc: '2.0', method: 'run.output', params: {} })).toBe(false);
    expect(isWireResponse({ jsonrpc: '2.0', id: 1, error: { code: 'x' } })).toBe(false);
    expect(isWireResponse([])).toBe(false);
  });

  it('rebuilds a wire error as an RpcError with its key and data', () => {
    let thrown: unknown;
    try {
      unwrap({ id: 1, error: { code: -32005, message: 'Token budget exceeded', data: { needed: 10 } } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RpcError);
    expect(thrown).toMatchObject({ key: 'budget_exceeded', code: -32005, data: { needed: 10 } });
  });
});
