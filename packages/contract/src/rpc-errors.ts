// The one error class of the product, the one map from error key to JSON-RPC code, and the one function
// that shapes an error for the wire.

/** Standard JSON-RPC 2.0 codes and the application codes (-32000..-32099) the product uses. */
export const RPC_ERROR_CODES = {
  parse_error: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal_error: -32603,
  unauthenticated: -32001,
  forbidden: -32002,
  not_found: -32003,
  conflict: -32004,
  budget_exceeded: -32005,
  context_too_long: -32006,
  rate_limited: -32007,
  sandbox_unavailable: -32008,
  payload_too_large: -32009,
  model_not_loaded: -32010,
  service_unavailable: -32011,
  cancelled: -32012,
  precondition_failed: -32013,
} as const;

/** A stable, machine-readable name for every error the product can return. */
export type RpcErrorKey = keyof typeof RPC_ERROR_CODES;

/** Default human-readable messages; a thrower may give a more specific one. */
export const RPC_ERROR_MESSAGES: Record<RpcErrorKey, string> = {
  parse_error: 'Parse error',
  invalid_request: 'Invalid Request',
  method_not_found: 'Method not found',
  invalid_params: 'Invalid params',
  internal_error: 'Internal error',
  unauthenticated: 'Authentication required',
  forbidden: 'Permission denied',
  not_found: 'Not found',
  conflict: 'Conflict',
  budget_exceeded: 'Token budget exceeded',
  context_too_long: 'Prompt and max_tokens exceed the model context size',
  rate_limited: 'Too many requests',
  sandbox_unavailable: 'Sandbox unavailable',
  payload_too_large: 'Payload too large',
  model_not_loaded: 'Model not loaded',
  service_unavailable: 'Service unavailable',
  cancelled: 'Request cancelled',
  precondition_failed: 'Precondition failed',
};

const KEY_BY_CODE = new Map<number, RpcErrorKey>(
  Object.entries(RPC_ERROR_CODES).map(([key, code]) => [code, key as RpcErrorKey]),
);

/** Options for {@link RpcError}. */
export interface RpcErrorOptions {
  /** Overrides the default message of the key. Must not contain internal details. */
  message?: string;
  /** Structured, client-safe details (validation issues, limits, retryAfter…). */
  data?: Record<string, unknown>;
  /** The underlying error, kept for logs only; never sent to the client. */
  cause?: unknown;
}

/**
 * The product's only error class. Everything it carries except `cause` is safe to send to a client.
 */
export class RpcError extends Error {
  readonly key: RpcErrorKey;
  readonly code: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(key: RpcErrorKey, options: RpcErrorOptions = {}) {
    super(options.message ?? RPC_ERROR_MESSAGES[key], { cause: options.cause });
    this.name = 'RpcError';
    this.key = key;
    this.code = RPC_ERROR_CODES[key];
    this.data = options.data;
  }

  /** Rebuilds an RpcError from a wire error (client side); unknown codes become `internal_error`. */
  static fromWire(error: WireError): RpcError {
    const key = KEY_BY_CODE.get(error.code) ?? 'internal_error';
    const data = isRecord(error.data) ? error.data : undefined;
    return new RpcError(key, { message: error.message, ...(data ? { data } : {}) });
  }
}

/** A JSON-RPC 2.0 error object as it travels on the wire. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/** Options for {@link toWireError}. */
export interface ToWireErrorOptions {
  /** Correlation id of the request, echoed in `data.correlationId` so a user can quote it to an operator. */
  correlationId: string;
  /** Called once with any error that is not an RpcError (the real cause is logged, never sent). */
  onInternal?: (error: unknown) => void;
}

/**
 * Shapes any thrown value for the wire. RpcErrors keep their key, message and data; anything else becomes a
 * generic `internal_error` whose only detail is the correlation id.
 */
export function toWireError(error: unknown, options: ToWireErrorOptions): WireError {
  if (error instanceof RpcError) {
    return {
      code: error.code,
      message: error.message,
      data: { ...error.data, key: error.key, correlationId: options.correlationId },
    };
  }
  options.onInternal?.(error);
  return {
    code: RPC_ERROR_CODES.internal_error,
    message: RPC_ERROR_MESSAGES.internal_error,
    data: { key: 'internal_error', correlationId: options.correlationId },
  };
}

/** True when a thrown value is an RpcError with the given key. */
export function isRpcError(error: unknown, key?: RpcErrorKey): error is RpcError {
  return error instanceof RpcError && (key === undefined || error.key === key);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
