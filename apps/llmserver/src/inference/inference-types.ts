// What the transports (JSON-RPC llm.* handlers and the OpenAI-compatible /v1 routes) call to run metered
// inference. One implementation (InferenceService) does identity checks, context validation, metering,
// rate limits, the fair queue and generation; the transports only translate.
import type { VerifiedIdentity } from '@cyber/auth-client';
import type { Contract, ParamsOf, ResultOf, TokenEvent } from '@cyber/contract';

/** Who asked, and how to stop the work. */
export interface InferenceCaller {
  /** The verified caller (session JWT or API key). */
  identity: VerifiedIdentity;
  /** W3C trace id (32 hex) of the request, stored on the usage event; null when none. */
  traceId: string | null;
  /** Aborted when the client disconnects or cancels: generation stops and only what was generated is billed. */
  signal: AbortSignal;
  /**
   * Id of the usage event (and of the result); a fresh UUID when absent. Transports that must name a response
   * before it ends (OpenAI's streamed chunks) generate it themselves so the id they send finds the ledger row.
   */
  eventId?: string;
}

/** Receives stream events in order; awaited, so a slow client slows the stream instead of buffering. */
export type TokenEventSink = (event: TokenEvent) => void | Promise<void>;

/** Params and result of llm.chat / llm.complete, as the contract defines them (defaults applied). */
export type ChatParams = ParamsOf<Contract, 'llm.chat'>;
export type ChatResult = ResultOf<Contract, 'llm.chat'>;
export type CompleteParams = ParamsOf<Contract, 'llm.complete'>;
export type CompleteResult = ResultOf<Contract, 'llm.complete'>;

/** Embeddings of several inputs with one model (metered as prompt tokens). */
export interface EmbedParams {
  model: string;
  input: readonly string[];
}

/** Result of {@link Inference.embed}. */
export interface EmbedResult {
  /** Id of the usage event. */
  id: string;
  model: string;
  embeddings: number[][];
  promptTokens: number;
}

/** A model a caller can use (for /v1/models). */
export interface ServedModel {
  name: string;
  contextSize: number;
  /** Micro-credits per token. */
  costPerToken: number;
  createdAt: string;
  loaded: boolean;
}

/**
 * Metered inference. Every method throws RpcError with the contract's codes: unauthenticated, forbidden,
 * not_found (unknown model), model_not_loaded, context_too_long, budget_exceeded, rate_limited,
 * service_unavailable (metering store down), cancelled, invalid_params.
 */
export interface Inference {
  chat(params: ChatParams, caller: InferenceCaller, onEvent?: TokenEventSink): Promise<ChatResult>;
  complete(
    params: CompleteParams,
    caller: InferenceCaller,
    onEvent?: TokenEventSink,
  ): Promise<CompleteResult>;
  embed(params: EmbedParams, caller: InferenceCaller): Promise<EmbedResult>;
  /** Registered models a caller may pick (ready or loaded). */
  models(): Promise<ServedModel[]>;
}
