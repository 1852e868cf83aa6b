// Shape checks for JSON-RPC 2.0 request objects, exactly as the specification words them.
import type { RpcId } from './server-types.js';

/** A well-formed request (with `id`) or notification (without). */
export interface RpcRequestEnvelope {
  kind: 'request';
  /** `undefined` marks a notification. */
  id: RpcId | undefined;
  method: string;
  /** `undefined` when the caller omitted params. */
  params: unknown;
}

/** A value that is not a valid request; answered with -32600 and `id` (null unless a valid id was readable). */
export interface InvalidEnvelope {
  kind: 'invalid';
  id: RpcId;
  reason: string;
}

/** Classifies one parsed JSON value (a single request or one batch element). */
export function readEnvelope(value: unknown): RpcRequestEnvelope | InvalidEnvelope {
  if (!isPlainObject(value)) return { kind: 'invalid', id: null, reason: 'request must be an object' };
  const hasId = Object.hasOwn(value, 'id');
  const id = hasId ? value.id : undefined;
  if (hasId && !isValidId(id)) {
    return { kind: 'invalid', id: null, reason: 'id must be a string, a number or null' };
  }
  const echoId = (id ?? null) as RpcId;
  if (value.jsonrpc !== '2.0') return { kind: 'invalid', id: echoId, reason: 'jsonrpc must be "2.0"' };
  if (typeof value.method !== 'string') {
    return { kind: 'invalid', id: echoId, reason: 'method must be a string' };
  }
  if (Object.hasOwn(value, 'params') && !isStructured(value.params)) {
    return { kind: 'invalid', id: echoId, reason: 'params must be an object or an array' };
  }
  return { kind: 'request', id: id as RpcId | undefined, method: value.method, params: value.params };
}

function isValidId(id: unknown): id is RpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function isStructured(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
