// The model seam of the agent loop. Production: LlmServerModel, which calls llmserver's llm.chat and
// llm.countTokens over a WebSocket of its own with the CALLER's credential, so every model call is metered to the
// user who asked, tokens stream as they are generated, and a cancel reaches the generation (rpc.cancel) while the
// answer still reports what was used. Tests of the loop use the scripted double in test/agent-scripted-model.ts.
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
/** After a cancel, how long to wait for llmserver's answer (with the usage of the cut generation). */
const CANCEL_GRACE_MS = 5_000;

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
    options?: { onNotification?: (event: unknown) => void },
  ): Promise<unknown>;
  notify(method: string, params: unknown): Promise<void>;
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
    let graceTimer: NodeJS.Timeout | undefined;
    // A cancel is sent as rpc.cancel for the call (the first and only call of this client: id 1) instead of
    // rejecting locally, so llmserver's answer, finishReason cancelled with the tokens used, still arrives.
    const onAbort = (): void => {
      client.notify('rpc.cancel', { id: 1 }).catch(() => undefined);
      graceTimer = setTimeout(() => client.close(), CANCEL_GRACE_MS);
    };
    try {
      await opened(client);
      signal.addEventListener('abort', onAbort, { once: true });
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
        { onNotification: (event) => onEvent(event as TokenEvent) },
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
      if (signal.aborted) throw new RpcError('cancelled', { cause: error });
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
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
