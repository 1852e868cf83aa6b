import { describe, expect, it, vi } from 'vitest';
import {
  RPC_ERROR_CODES,
  RPC_ERROR_MESSAGES,
  RpcError,
  isRpcError,
  toWireError,
  type RpcErrorKey,
} from './rpc-errors.js';

const keys = Object.keys(RPC_ERROR_CODES) as RpcErrorKey[];
const STANDARD = {
  parse_error: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal_error: -32603,
};

describe('error codes', () => {
  it('gives every key an integer code and a message', () => {
    for (const key of keys) {
      expect(Number.isInteger(RPC_ERROR_CODES[key]), key).toBe(true);
      expect(RPC_ERROR_MESSAGES[key].length, key).toBeGreaterThan(0);
    }
    expect(Object.keys(RPC_ERROR_MESSAGES).sort()).toEqual([...keys].sort());
  });

  it('never uses one code for two keys', () => {
    const codes = Object.values(RPC_ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('uses the exact JSON-RPC 2.0 standard codes', () => {
    for (const [key, code] of Object.entries(STANDARD))
      expect(RPC_ERROR_CODES[key as RpcErrorKey]).toBe(code);
  });

  it('keeps application codes in the server-error range -32000..-32099', () => {
    for (const key of keys.filter((k) => !(k in STANDARD))) {
      expect(RPC_ERROR_CODES[key], key).toBeGreaterThanOrEqual(-32099);
      expect(RPC_ERROR_CODES[key], key).toBeLessThanOrEqual(-32000);
    }
  });
});

describe('toWireError', () => {
  it('keeps an RpcError’s code, message and data and adds key and correlation id', () => {
    const error = new RpcError('context_too_long', {
      data: { promptTokens: 900, maxTokens: 200, contextSize: 1024 },
    });
    expect(toWireError(error, { correlationId: 'c-1' })).toEqual({
      code: -32006,
      message: RPC_ERROR_MESSAGES.context_too_long,
      data: {
        promptTokens: 900,
        maxTokens: 200,
        contextSize: 1024,
        key: 'context_too_long',
        correlationId: 'c-1',
      },
    });
  });

  it('hides everything of a non-RpcError and reports it once to onInternal', () => {
    const onInternal = vi.fn();
    const secret = new Error('password authentication failed for user "postgres" at 10.0.0.5');
    const wire = toWireError(secret, { correlationId: 'c-2', onInternal });
    expect(wire).toEqual({
      code: -32603,
      message: 'Internal error',
      data: { key: 'internal_error', correlationId: 'c-2' },
    });
    expect(JSON.stringify(wire)).not.toContain('postgres');
    expect(onInternal).toHaveBeenCalledTimes(1);
    expect(onInternal).toHaveBeenCalledWith(secret);
  });

  it('never sends the cause of an RpcError', () => {
    const error = new RpcError('sandbox_unavailable', {
      cause: new Error('connect ENOENT /var/run/docker.sock'),
    });
    expect(JSON.stringify(toWireError(error, { correlationId: 'c-3' }))).not.toContain('docker.sock');
  });

  it('treats thrown non-errors as internal', () => {
    expect(toWireError('boom', { correlationId: 'c-4' }).code).toBe(-32603);
    expect(toWireError(undefined, { correlationId: 'c-5' }).data).toEqual({
      key: 'internal_error',
      correlationId: 'c-5',
    });
  });
});

describe('RpcError', () => {
  it('round-trips through the wire', () => {
    const wire = toWireError(new RpcError('rate_limited', { data: { retryAfter: 3 } }), {
      correlationId: 'c',
    });
    const back = RpcError.fromWire(wire);
    expect(back.key).toBe('rate_limited');
    expect(back.data).toMatchObject({ retryAfter: 3 });
    expect(isRpcError(back, 'rate_limited')).toBe(true);
    expect(isRpcError(back, 'forbidden')).toBe(false);
  });

  it('maps an unknown wire code to internal_error', () => {
    expect(RpcError.fromWire({ code: 123, message: 'odd' }).key).toBe('internal_error');
  });
});
