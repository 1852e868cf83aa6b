// Contract results and token events in OpenAI's response shapes: chat.completion, chat.completion.chunk,
// text_completion, embeddings lists and model objects.
import type { FinishReason, TokenEvent, ToolCall, Usage } from '@cyber/contract';
import type { ChatResult, CompleteResult, EmbedResult, ServedModel } from '../inference/inference-types.js';

/** OpenAI's finish reasons; `cancelled` never reaches a client (it has left), so it reads as `stop`. */
export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls';

/** OpenAI's usage object. */
export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A tool call as OpenAI returns it: arguments are a JSON string. */
export interface OpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Who owns the models in `/v1/models` (OpenAI's `owned_by`). */
export const MODEL_OWNER = 'cyber-dev-studio';

/** Maps a contract finish reason to OpenAI's. */
export function toFinishReason(reason: FinishReason): OpenAiFinishReason {
  return reason === 'cancelled' ? 'stop' : reason;
}

/** Maps contract usage to OpenAI's (cost is not part of OpenAI's shape). */
export function toUsage(usage: Usage): OpenAiUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
  };
}

/** Maps a contract tool call to OpenAI's. */
export function toOpenAiToolCall(call: ToolCall): OpenAiToolCall {
  return {
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  };
}

/** Unix seconds of a time in ms (OpenAI's `created`). */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The `chat.completion` body of a finished llm.chat; its id names the usage event. */
export function chatCompletionBody(result: ChatResult, created: number) {
  const toolCalls = result.message.toolCalls.map(toOpenAiToolCall);
  return {
    id: `chatcmpl-${result.id}`,
    object: 'chat.completion' as const,
    created,
    model: result.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: result.message.content,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toFinishReason(result.finishReason),
      },
    ],
    usage: toUsage(result.usage),
  };
}

/** The `text_completion` body of a finished llm.complete; its id names the usage event. */
export function completionBody(result: CompleteResult, created: number) {
  return {
    id: `cmpl-${result.id}`,
    object: 'text_completion' as const,
    created,
    model: result.model,
    choices: [
      { index: 0, text: result.text, logprobs: null, finish_reason: toFinishReason(result.finishReason) },
    ],
    usage: toUsage(result.usage),
  };
}

/** The embeddings list; `base64` encodes each vector as little-endian float32, as OpenAI does. */
export function embeddingsBody(result: EmbedResult, base64: boolean) {
  return {
    object: 'list' as const,
    data: result.embeddings.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding: base64 ? float32Base64(vector) : vector,
    })),
    model: result.model,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** One model object of `/v1/models`. */
export function modelObject(model: ServedModel) {
  const createdMs = Date.parse(model.createdAt);
  return {
    id: model.name,
    object: 'model' as const,
    created: Number.isNaN(createdMs) ? 0 : unixSeconds(createdMs),
    owned_by: MODEL_OWNER,
  };
}

/** The `/v1/models` list. */
export function modelListBody(models: readonly ServedModel[]) {
  return { object: 'list' as const, data: models.map(modelObject) };
}

/** What a stream writes: a JSON chunk (`data: …`) or an SSE comment (ignored by clients; a keep-alive). */
export type StreamItem = { data: unknown } | { comment: string };

/** Identity of one streamed response: every chunk repeats it. */
export interface StreamIdentity {
  id: string;
  created: number;
  model: string;
  /** `stream_options.include_usage`: end with a chunk that has `choices: []` and the usage. */
  includeUsage: boolean;
}

/** Turns llm.chat stream events into `chat.completion.chunk`s. */
export class ChatChunker {
  readonly #stream: StreamIdentity;
  #toolCalls = 0;

  constructor(stream: StreamIdentity) {
    this.#stream = stream;
  }

  /** The first chunk: the assistant role with empty content. */
  first(): StreamItem[] {
    return [{ data: this.#chunk({ role: 'assistant', content: '' }, null) }];
  }

  /** Chunks for one event: a token is one content delta, a tool call one tool_calls delta. */
  event(event: TokenEvent): StreamItem[] {
    switch (event.kind) {
      case 'queued':
        return [{ comment: `queued ${event.position}` }];
      case 'started':
        return [];
      case 'token':
        return event.text === '' ? [] : [{ data: this.#chunk({ content: event.text }, null) }];
      case 'toolCall': {
        const index = this.#toolCalls++;
        return [
          { data: this.#chunk({ tool_calls: [{ index, ...toOpenAiToolCall(event.toolCall) }] }, null) },
        ];
      }
    }
  }

  /** The final chunk with the finish reason, then the usage chunk when asked for. */
  finish(result: ChatResult): StreamItem[] {
    const items: StreamItem[] = [{ data: this.#chunk({}, toFinishReason(result.finishReason)) }];
    if (this.#stream.includeUsage)
      items.push({ data: usageChunk(this.#stream, 'chat.completion.chunk', result.usage) });
    return items;
  }

  #chunk(delta: Record<string, unknown>, finishReason: OpenAiFinishReason | null) {
    const { id, created, model, includeUsage } = this.#stream;
    return {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    };
  }
}

/** Turns llm.complete stream events into streamed `text_completion` chunks. */
export class CompletionChunker {
  readonly #stream: StreamIdentity;

  constructor(stream: StreamIdentity) {
    this.#stream = stream;
  }

  /** Legacy completions have no role chunk. */
  first(): StreamItem[] {
    return [];
  }

  /** One chunk per token event. */
  event(event: TokenEvent): StreamItem[] {
    switch (event.kind) {
      case 'queued':
        return [{ comment: `queued ${event.position}` }];
      case 'token':
        return event.text === '' ? [] : [{ data: this.#chunk(event.text, null) }];
      case 'started':
      case 'toolCall':
        return [];
    }
  }

  /** The final chunk with the finish reason, then the usage chunk when asked for. */
  finish(result: CompleteResult): StreamItem[] {
    const items: StreamItem[] = [{ data: this.#chunk('', toFinishReason(result.finishReason)) }];
    if (this.#stream.includeUsage)
      items.push({ data: usageChunk(this.#stream, 'text_completion', result.usage) });
    return items;
  }

  #chunk(text: string, finishReason: OpenAiFinishReason | null) {
    const { id, created, model, includeUsage } = this.#stream;
    return {
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    };
  }
}

function usageChunk(stream: StreamIdentity, object: string, usage: Usage) {
  return {
    id: stream.id,
    object,
    created: stream.created,
    model: stream.model,
    choices: [],
    usage: toUsage(usage),
  };
}
