import { RpcError, type RpcErrorKey } from '@cyber/contract';
import { describe, expect, it } from 'vitest';
import { toOpenAiError } from '../src/openai/openai-errors.js';

const shape = (error: unknown, onInternal?: (error: unknown) => void) =>
  toOpenAiError(error, { requestId: 'req-7', ...(onInternal ? { onInternal } : {}) });

describe('RpcError -> OpenAI error', () => {
  it.each<[RpcErrorKey, number, string, string | null]>([
    ['unauthenticated', 401, 'invalid_request_error', 'invalid_api_key'],
    ['forbidden', 403, 'invalid_request_error', 'permission_denied'],
    ['not_found', 404, 'invalid_request_error', 'model_not_found'],
    ['invalid_params', 400, 'invalid_request_error', null],
    ['context_too_long', 400, 'invalid_request_error', 'context_length_exceeded'],
    ['budget_exceeded', 429, 'insufficient_quota', 'insufficient_quota'],
    ['rate_limited', 429, 'requests', 'rate_limit_exceeded'],
    ['model_not_loaded', 503, 'server_error', 'model_not_loaded'],
    ['service_unavailable', 503, 'server_error', 'service_unavailable'],
    ['payload_too_large', 413, 'invalid_request_error', 'payload_too_large'],
  ])('%s is HTTP %i, type %s, code %s', (key, status, type, code) => {
    const shaped = shape(new RpcError(key));
    expect(shaped.status).toBe(status);
    expect(shaped.body.error).toMatchObject({ type, code, param: null });
  });

  it('answers a bad key in exactly the shape OpenAI uses', () => {
    expect(shape(new RpcError('unauthenticated', { message: 'Invalid API key' })).body).toEqual({
      error: {
        message: 'Invalid API key',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
  });

  it('tells the SDKs not to retry an exhausted budget or an unloaded model, but to retry a rate limit later', () => {
    expect(shape(new RpcError('budget_exceeded')).headers).toEqual({ 'x-should-retry': 'false' });
    expect(shape(new RpcError('model_not_loaded')).headers).toEqual({ 'x-should-retry': 'false' });
    const limited = shape(new RpcError('rate_limited', { data: { retryAfterMs: 1_500 } }));
    expect(limited.headers).toEqual({ 'retry-after': '2', 'retry-after-ms': '1500' });
    expect(shape(new RpcError('rate_limited', { data: { retryAfter: 3 } })).headers['retry-after']).toBe('3');
  });

  it('states both numbers of a context overflow, as OpenAI does', () => {
    const shaped = shape(
      new RpcError('context_too_long', { data: { promptTokens: 500, maxTokens: 100, contextSize: 512 } }),
    );
    expect(shaped.body.error.message).toBe(
      "This model's maximum context length is 512 tokens. However, you requested 600 tokens " +
        '(500 in the messages, 100 in the completion). Please reduce the length of the messages or completion.',
    );
  });

  it('names the model that is not loaded', () => {
    const shaped = shape(new RpcError('model_not_loaded', { data: { model: 'tiny' } }));
    expect(shaped.body.error.message).toBe('Model not loaded: tiny');
  });

  it('keeps the param of a validation error', () => {
    expect(
      shape(new RpcError('invalid_params', { data: { param: 'messages[0].content' } })).body.error.param,
    ).toBe('messages[0].content');
  });

  it('hides anything that is not an RpcError behind a generic 500 and reports it once', () => {
    const reported: unknown[] = [];
    const secret = new Error('ECONNREFUSED 10.0.0.5:5432 password=hunter2');
    const shaped = shape(secret, (error) => reported.push(error));
    expect(shaped.status).toBe(500);
    expect(JSON.stringify(shaped.body)).not.toMatch(/hunter2|ECONNREFUSED|stack/);
    expect(shaped.body.error).toEqual({
      message: 'The server had an error while processing your request (request id req-7).',
      type: 'server_error',
      param: null,
      code: null,
    });
    expect(reported).toEqual([secret]);
  });
});
