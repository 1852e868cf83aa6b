// Reading JSON-RPC responses on the client: anything the server sends is untrusted shape-wise.
import { RpcError, type WireError } from '@cyber/contract';

/** A response object as received. */
export interface WireResponse {
  id: string | number | null;
  result?: unknown;
  error?: WireError;
}

/** True when `value` looks like a JSON-RPC response (has an id and either result or error). */
export function isWireResponse(value: unknown): value is WireResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (!('id' in record)) return false;
  if ('error' in record) return isWireError(record.error);
  return 'result' in record;
}

function isWireError(value: unknown): value is WireError {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.code === 'number' && typeof record.message === 'string';
}

/** The result of a response, or its error rebuilt as an RpcError. */
export function unwrap(response: WireResponse): unknown {
  if (response.error !== undefined) throw RpcError.fromWire(response.error);
  return response.result;
}

/** The outcome of one call in a batch. */
export type Settled<T> = { ok: true; result: T } | { ok: false; error: RpcError };
