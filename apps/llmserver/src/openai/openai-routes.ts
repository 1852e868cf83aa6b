// The OpenAI-compatible API: register with `app.register(openaiRoutes, { prefix: '/v1', inference,
// authenticate })`. Routes only translate: InferenceService does identity checks, metering, limits and
// generation, and its RpcErrors leave as OpenAI errors. Not wrapped in fastify-plugin on purpose: the error and
// not-found handlers below must apply to /v1 only.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { RpcError, type TokenEvent } from '@cyber/contract';
import type {
  ChatResult,
  CompleteResult,
  Inference,
  InferenceCaller,
  TokenEventSink,
} from '../inference/inference-types.js';
import { authenticateOpenAi, type OpenAiAuthenticate } from './openai-auth.js';
import { toOpenAiError, type OpenAiErrorResponse } from './openai-errors.js';
import {
  ChatCompletionRequest,
  CompletionRequest,
  EmbeddingRequest,
  parseOpenAiBody,
  toChatParams,
  toCompleteParams,
  toEmbedParams,
} from './openai-requests.js';
import {
  ChatChunker,
  CompletionChunker,
  chatCompletionBody,
  completionBody,
  embeddingsBody,
  modelListBody,
  modelObject,
  unixSeconds,
  type StreamItem,
} from './openai-responses.js';
import { SseWriter } from './sse-writer.js';
import { traceIdOf } from '@cyber/rpc-server';

/** Largest request body by default: chat histories are long (the contract allows 1M characters a message). */
export const DEFAULT_OPENAI_BODY_LIMIT = 8 * 1024 * 1024;

/** Options of {@link openaiRoutes}. */
export interface OpenAiRoutesOptions {
  /** Metered inference (InferenceService). */
  inference: Inference;
  /** Resolves the caller from headers (the auth-client verifier's `authenticate`). */
  authenticate: OpenAiAuthenticate;
  /** Largest request body in bytes. Default {@link DEFAULT_OPENAI_BODY_LIMIT}. */
  bodyLimit?: number;
  /** Current time in ms, for `created`. Default Date.now. */
  clock?: () => number;
}

/** Streams chunks for one kind of generation. */
interface Chunker<R> {
  first(): StreamItem[];
  event(event: TokenEvent): StreamItem[];
  finish(result: R): StreamItem[];
}

/**
 * `POST /chat/completions`, `POST /completions`, `GET /models`, `GET /models/:model`, `POST /embeddings`, with
 * OpenAI's error shape for every failure, unknown URLs and malformed bodies included.
 */
export function openaiRoutes(app: FastifyInstance, options: OpenAiRoutesOptions): Promise<void> {
  const { inference } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_OPENAI_BODY_LIMIT;
  const now = options.clock ?? Date.now;

  const shape = (error: unknown, request: FastifyRequest): OpenAiErrorResponse =>
    toOpenAiError(error, {
      requestId: request.id,
      onInternal: (cause) => request.log.error({ err: cause }, 'openai: internal error'),
    });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const shaped = shape(fromFastifyError(error, bodyLimit), request);
    return reply.code(shaped.status).headers(shaped.headers).send(shaped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const shaped = shape(
      new RpcError('method_not_found', {
        message: `Unknown request URL: ${request.method} ${request.url.split('?')[0] ?? ''}.`,
      }),
      request,
    );
    return reply.code(shaped.status).send(shaped.body);
  });

  /** The caller of a request, aborted when the client goes away before the answer is complete. */
  const callerOf = async (request: FastifyRequest, reply: FastifyReply): Promise<InferenceCaller> => {
    const identity = await authenticateOpenAi(options.authenticate, request.headers, { ip: request.ip });
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    return { identity, traceId: traceIdOf(request.headers.traceparent), signal: controller.signal };
  };

  /**
   * Runs a streamed generation. The SSE response starts with the first event, so errors raised before any
   * (bad model, context too long, budget) still leave as HTTP errors; later ones become an SSE error event.
   */
  async function stream<R>(
    request: FastifyRequest,
    reply: FastifyReply,
    job: { caller: InferenceCaller; chunker: Chunker<R>; run: (onEvent: TokenEventSink) => Promise<R> },
  ): Promise<void> {
    const sse = new SseWriter(reply.raw);
    const { caller, chunker } = job;
    let started = false;
    // Events may still arrive after the generation settled (e.g. after it failed); they are dropped.
    let settled = false;
    const write = async (items: StreamItem[]): Promise<void> => {
      for (const item of items) {
        if ('comment' in item) await sse.comment(item.comment);
        else await sse.send(item.data);
      }
    };
    const begin = async (): Promise<void> => {
      if (started) return;
      started = true;
      reply.hijack();
      sse.start(headersOf(reply));
      await write(chunker.first());
    };
    try {
      const result = await job.run(async (event) => {
        if (settled || caller.signal.aborted) return;
        await begin();
        await write(chunker.event(event));
      });
      settled = true;
      await begin();
      await write(chunker.finish(result));
      await sse.done();
    } catch (error) {
      settled = true;
      if (!started) throw error;
      if (caller.signal.aborted) {
        sse.end();
        return;
      }
      await sse.send(shape(error, request).body);
      sse.end();
    }
  }

  app.post('/chat/completions', { bodyLimit }, async (request, reply) => {
    const caller = await callerOf(request, reply);
    const body = parseOpenAiBody(ChatCompletionRequest, request.body);
    const params = toChatParams(body);
    const created = unixSeconds(now());
    if (body.stream !== true) {
      return chatCompletionBody(await inference.chat(params, caller), created);
    }
    // The first chunk names the stream, so the usage event gets an id chosen here: it finds the ledger row.
    const eventId = randomUUID();
    const chunker = new ChatChunker({
      id: `chatcmpl-${eventId}`,
      created,
      model: params.model,
      includeUsage: body.stream_options?.include_usage === true,
    });
    await stream<ChatResult>(request, reply, {
      caller,
      chunker,
      run: (onEvent) => inference.chat(params, { ...caller, eventId }, onEvent),
    });
    return reply;
  });

  app.post('/completions', { bodyLimit }, async (request, reply) => {
    const caller = await callerOf(request, reply);
    const body = parseOpenAiBody(CompletionRequest, request.body);
    const params = toCompleteParams(body);
    const created = unixSeconds(now());
    if (body.stream !== true) {
      return completionBody(await inference.complete(params, caller), created);
    }
    const eventId = randomUUID();
    const chunker = new CompletionChunker({
      id: `cmpl-${eventId}`,
      created,
      model: params.model,
      includeUsage: body.stream_options?.include_usage === true,
    });
    await stream<CompleteResult>(request, reply, {
      caller,
      chunker,
      run: (onEvent) => inference.complete(params, { ...caller, eventId }, onEvent),
    });
    return reply;
  });

  app.post('/embeddings', { bodyLimit }, async (request, reply) => {
    const caller = await callerOf(request, reply);
    const { params, base64 } = toEmbedParams(parseOpenAiBody(EmbeddingRequest, request.body));
    return embeddingsBody(await inference.embed(params, caller), base64);
  });

  app.get('/models', async (request, reply) => {
    await callerOf(request, reply);
    return modelListBody(await inference.models());
  });

  app.get<{ Params: { model: string } }>('/models/:model', async (request, reply) => {
    await callerOf(request, reply);
    const model = (await inference.models()).find((served) => served.name === request.params.model);
    if (model === undefined) {
      throw new RpcError('not_found', {
        message: `The model '${request.params.model}' does not exist.`,
        data: { param: 'model' },
      });
    }
    return modelObject(model);
  });
  // A promise-returning plugin: Fastify waits for it (no callback), and nothing above needs awaiting.
  return Promise.resolve();
}

/** Fastify's own errors (body parsing, limits) as RpcErrors; anything else passes through unchanged. */
function fromFastifyError(error: FastifyError, bodyLimit: number): unknown {
  if (error instanceof RpcError) return error;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return new RpcError('payload_too_large', {
      message: `The request body is larger than ${bodyLimit} bytes.`,
      data: { limit: bodyLimit },
    });
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
    return new RpcError('invalid_request', {
      message: "Send the request body as JSON with 'Content-Type: application/json'.",
    });
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new RpcError('invalid_request', {
      message: 'We could not parse the JSON body of your request. Send a JSON object.',
    });
  }
  return error;
}

/** Headers already set on the reply (by hooks), which a hijacked response must send itself. */
function headersOf(reply: FastifyReply): Record<string, string | number | string[]> {
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}
