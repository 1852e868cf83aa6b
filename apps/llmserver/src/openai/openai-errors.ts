// The product's RpcErrors in the shape OpenAI clients understand: an HTTP status, `{ error: { message, type,
// param, code } }`, and the headers the official SDKs read to decide whether and when to retry.
import { isRpcError, type RpcErrorKey } from '@cyber/contract';

/** The error object of an OpenAI error response or SSE error event. */
export interface OpenAiErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** An error ready to send: status, headers and body. */
export interface OpenAiErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: OpenAiErrorObject };
}

/** Options of {@link toOpenAiError}. */
export interface ToOpenAiErrorOptions {
  /** Id quoted in the generic message of an internal error, so a user can hand it to an operator. */
  requestId: string;
  /** Called once with any error that is not a client-safe RpcError (log it; it is never sent). */
  onInternal?: (error: unknown) => void;
}

interface Mapping {
  status: number;
  type: string;
  code: string | null;
  /** Tells the official SDKs not to retry (they retry 429 and 5xx by default, which cannot help here). */
  noRetry?: boolean;
}

const INTERNAL: Mapping = { status: 500, type: 'server_error', code: null };

// Every key has a mapping, so a key added to the contract fails the typecheck here until it is placed.
const MAPPINGS: Record<RpcErrorKey, Mapping> = {
  unauthenticated: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  forbidden: { status: 403, type: 'invalid_request_error', code: 'permission_denied' },
  not_found: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  invalid_params: { status: 400, type: 'invalid_request_error', code: null },
  invalid_request: { status: 400, type: 'invalid_request_error', code: null },
  parse_error: { status: 400, type: 'invalid_request_error', code: null },
  method_not_found: { status: 404, type: 'invalid_request_error', code: 'unknown_url' },
  payload_too_large: { status: 413, type: 'invalid_request_error', code: 'payload_too_large' },
  context_too_long: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  budget_exceeded: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota', noRetry: true },
  rate_limited: { status: 429, type: 'requests', code: 'rate_limit_exceeded' },
  model_not_loaded: { status: 503, type: 'server_error', code: 'model_not_loaded', noRetry: true },
  service_unavailable: { status: 503, type: 'server_error', code: 'service_unavailable' },
  sandbox_unavailable: { status: 503, type: 'server_error', code: 'service_unavailable' },
  conflict: { status: 409, type: 'invalid_request_error', code: 'conflict', noRetry: true },
  precondition_failed: { status: 412, type: 'invalid_request_error', code: 'precondition_failed' },
  // Only a client that already left gets this; 499 is what proxies log for "client closed request".
  cancelled: { status: 499, type: 'invalid_request_error', code: 'cancelled' },
  internal_error: INTERNAL,
};

/**
 * Shapes any thrown value as an OpenAI error. RpcErrors keep their (client-safe) message; anything else, and
 * `internal_error` itself, becomes a generic 500 that names only the request id.
 */
export function toOpenAiError(error: unknown, options: ToOpenAiErrorOptions): OpenAiErrorResponse {
  if (!isRpcError(error) || error.key === 'internal_error') {
    options.onInternal?.(error);
    return {
      status: INTERNAL.status,
      headers: {},
      body: {
        error: {
          message: `The server had an error while processing your request (request id ${options.requestId}).`,
          type: INTERNAL.type,
          param: null,
          code: null,
        },
      },
    };
  }
  const mapping = MAPPINGS[error.key];
  const data = error.data ?? {};
  const headers: Record<string, string> = {};
  if (mapping.noRetry === true) headers['x-should-retry'] = 'false';
  const retryAfterMs = numberField(data, 'retryAfterMs') ?? secondsAsMs(numberField(data, 'retryAfter'));
  if (error.key === 'rate_limited' && retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    headers['retry-after-ms'] = String(Math.max(0, Math.round(retryAfterMs)));
  }
  return {
    status: mapping.status,
    headers,
    body: {
      error: {
        message: messageOf(error.key, error.message, data),
        type: mapping.type,
        param: typeof data.param === 'string' ? data.param : null,
        code: mapping.code,
      },
    },
  };
}

function messageOf(key: RpcErrorKey, message: string, data: Record<string, unknown>): string {
  if (key === 'context_too_long') {
    const contextSize = numberField(data, 'contextSize');
    const promptTokens = numberField(data, 'promptTokens');
    const maxTokens = numberField(data, 'maxTokens');
    if (contextSize !== undefined && promptTokens !== undefined && maxTokens !== undefined) {
      return (
        `This model's maximum context length is ${contextSize} tokens. However, you requested ` +
        `${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). ` +
        'Please reduce the length of the messages or completion.'
      );
    }
  }
  if (key === 'model_not_loaded' && typeof data.model === 'string' && !message.includes(data.model)) {
    return `${message}: ${data.model}`;
  }
  return message;
}

function numberField(data: Record<string, unknown>, name: string): number | undefined {
  const value = data[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function secondsAsMs(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}
