// The model seam of the agent loop. Production: LlmServerModel, which calls llmserver's llm.chat and
// llm.countTokens over a WebSocket of its own with the CALLER's credential, so every model call is metered to the
// user who asked, tokens stream as they are generated, and a cancel reaches the generation at once (rpc.cancel);
// the usage of a cut step is what its stream showed (llmserver bills the exact count in tokens_used). Tests of
// the loop use the scripted double of src/testing.ts (`@cyber/api/testing`).
import type { ChatMessage, TokenEvent, ToolCall, ToolDefinition, Usage } from '@cyber/contract';
import { RpcError } from '@cyber/contract';
import { createWsClient, type RpcCredentials } from '@cyber/rpc-client';
import WebSocket from 'ws';

/** What one model call answered. */
export interface AgentModelResult {
  message: { content: string | null; toolCalls: ToolCall[] };
  toolCalls: ToolCall[];
  usage: Usage;
  finishReason: 'stop' | 'length' | 'tool_calls' | 'cancelled';
  /** Id of the usage event the call produced (tokens_used.event_id), when the model is metered. */
  usageEventId?: string | undefined;
}

/** One model call: the conversation, the tools, the turn's signal and the stream's receiver. */
export interface AgentChatRequest {
  messages: ChatMessage[];
  tools: ToolDefinition[];
  /** Aborted by agent.cancel. */
  signal: AbortSignal;
  /** Receives the stream (text deltas, tool calls). */
  onEvent: (event: TokenEvent) => void;
  /** Most tokens to generate. */
  maxTokens: number;
  /** Number of this model call in the turn, from 1. */
  step: number;
}

/** Whether the model may, must or must not call a tool, or which one (llm.chat's toolChoice). */
export type AgentToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** The model as the agent loop sees it. */
export interface AgentModel {
  /** Context size of the model, in tokens, and the prompt tokens of `messages` with the chat template. */
  countTokens(messages: ChatMessage[], signal: AbortSignal): Promise<{ count: number; contextSize: number }>;
  /**
   * One chat completion. On abort it resolves with finishReason `cancelled` and what was used when the model
   * can say so, else rejects with `cancelled`. Errors of the model service come through unchanged
   * (budget_exceeded, context_too_long…).
   */
  chat(request: AgentChatRequest): Promise<AgentModelResult>;
}

/** Who the model calls are made for: the caller's credential and hop headers, captured from their request. */
export interface ModelCaller {
  credentials: RpcCredentials | undefined;
  /** Extra headers of the upgrade request (correlation id, trace context, client address). */
  headers: Record<string, string>;
}

/** Makes the model of a session for a caller. */
export type AgentModelFactory = (options: { model: string; caller: ModelCaller }) => AgentModel;

/** How long the handshake with llmserver may take. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The caller's credential from the hop headers that `forwardedHeaders` builds. */
export function modelCallerOf(forwarded: Record<string, string>): ModelCaller {
  const { 'content-type': _type, authorization, 'x-cyber-token': apiKey, ...headers } = forwarded;
  if (apiKey !== undefined) return { credentials: { apiKey }, headers };
  const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1];
  if (bearer !== undefined) return { credentials: { bearer }, headers };
  return { credentials: undefined, headers };
}

/** The calls made on the untyped client (the methods are known, the typing of the client is per contract). */
interface UntypedClient {
  opened: Promise<void>;
  call(
    method: string,
    params: unknown,
    options?: { signal?: AbortSignal; onNotification?: (event: unknown) => void },
  ): Promise<unknown>;
  close(): void;
}

/** Options of {@link LlmServerModel}. */
export interface LlmServerModelOptions {
  /** llmserver's WebSocket endpoint, `ws://host:port/rpc`. */
  url: string;
  /** Registry name of the model. */
  model: string;
  caller: ModelCaller;
  /** Sampling of every call (e.g. a seed for reproducible tests). */
  sampling?: Record<string, number>;
  /**
   * toolChoice per step (default `auto`): lets a deployment (or a test with a small model) require a tool on
   * given steps.
   */
  toolChoice?: (step: number) => AgentToolChoice;
}

/** The real model: llmserver's llm.chat / llm.countTokens, metered to the caller. */
export class LlmServerModel implements AgentModel {
  readonly #options: LlmServerModelOptions;
  #costPerToken: number | undefined;

  constructor(options: LlmServerModelOptions) {
    this.#options = options;
  }

  #open(): UntypedClient {
    const { headers, credentials } = this.#options.caller;
    class HopSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
      }
    }
    const client = createWsClient({
      url: this.#options.url,
      WebSocket: HopSocket,
      ...(credentials === undefined ? {} : { credentials }),
    });
    return client;
  }

  async countTokens(
    messages: ChatMessage[],
    signal: AbortSignal,
  ): Promise<{ count: number; contextSize: number }> {
    const client = this.#open();
    const onAbort = (): void => client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await opened(client);
      return (await client.call('llm.countTokens', { model: this.#options.model, messages })) as {
        count: number;
        contextSize: number;
      };
    } catch (error) {
      if (signal.aborted) throw new RpcError('cancelled', { cause: error });
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      client.close();
    }
  }

  async chat(request: AgentChatRequest): Promise<AgentModelResult> {
    const { messages, tools, signal, onEvent } = request;
    if (signal.aborted) throw new RpcError('cancelled');
    const client = this.#open();
    // llmserver answers a cancelled call with the error `cancelled`, not with its usage (which it bills itself):
    // what the stream showed so far is the turn's record of a cut step.
    let promptTokens: number | undefined;
    let completionTokens = 0;
    let text = '';
    try {
      await opened(client);
      const result = (await client.call(
        'llm.chat',
        {
          model: this.#options.model,
          messages,
          tools,
          toolChoice: tools.length === 0 ? 'auto' : (this.#options.toolChoice?.(request.step) ?? 'auto'),
          maxTokens: request.maxTokens,
          ...(this.#options.sampling === undefined ? {} : { sampling: this.#options.sampling }),
        },
        {
          // Aborting sends rpc.cancel: the generation stops at once.
          signal,
          onNotification: (notification) => {
            const event = notification as TokenEvent;
            if (event.kind === 'started') promptTokens = event.promptTokens;
            if (event.kind === 'token') {
              completionTokens = event.completionTokens;
              text += event.text;
            }
            onEvent(event);
          },
        },
      )) as {
        id: string;
        finishReason: AgentModelResult['finishReason'];
        usage: Usage;
        message: { content: string | null; toolCalls: ToolCall[] };
      };
      return {
        message: result.message,
        toolCalls: result.message.toolCalls,
        usage: result.usage,
        finishReason: result.finishReason,
        usageEventId: result.id,
      };
    } catch (error) {
      if (!signal.aborted) throw error;
      // Cancelled while queued: nothing was generated or billed.
      if (promptTokens === undefined) throw new RpcError('cancelled', { cause: error });
      const totalTokens = promptTokens + completionTokens;
      return {
        message: { content: text, toolCalls: [] },
        toolCalls: [],
        usage: { promptTokens, completionTokens, totalTokens, cost: totalTokens * (await this.#price()) },
        finishReason: 'cancelled',
      };
    } finally {
      client.close();
    }
  }

  /** The model's price per token (models.list, open to every role); 0 when it cannot be learnt. */
  async #price(): Promise<number> {
    if (this.#costPerToken !== undefined) return this.#costPerToken;
    const client = this.#open();
    try {
      await opened(client);
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const listed = (await client.call('models.list', {
          limit: 100,
          ...(cursor === undefined ? {} : { cursor }),
        })) as {
          items: { name: string; costPerToken: number }[];
          nextCursor: string | null;
        };
        const model = listed.items.find((item) => item.name === this.#options.model);
        if (model !== undefined) {
          this.#costPerToken = model.costPerToken;
          return model.costPerToken;
        }
        if (listed.nextCursor === null) break;
        cursor = listed.nextCursor;
      }
      return 0;
    } catch {
      return 0;
    } finally {
      client.close();
    }
  }
}

async function opened(client: UntypedClient): Promise<void> {
  try {
    await client.opened;
  } catch (error) {
    throw new RpcError('service_unavailable', {
      message: 'The llmserver service is unavailable',
      data: { service: 'llmserver', reason: 'unreachable' },
      cause: error,
    });
  }
}
