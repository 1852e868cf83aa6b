// Metered inference: the one path every llm.* call and every /v1 request takes.
//   identity and role -> model registered and loaded -> prompt tokens counted and checked against the context
//   -> worst case reserved (budget and rate limits, atomically in Redis) -> fair queue slot -> generation with
//   tokens counted in the loop -> settle (usage event to the durable outbox, reservation released).
// A request that never reached the model (refused, cancelled while queued, model unloaded) is released without
// a charge; one that did is billed for its prompt plus exactly the tokens generated, also when the client went
// away or the generation failed part way.
//
// Settling runs after the answer is sent: the reservation keeps the worst case held until the usage event is
// durable in the outbox (an fdatasync, 1-40 ms on a busy disk) and released in Redis, so the budget is never at
// risk while it runs, and the caller does not wait for the disk. Shutdown waits for every settle.
import { randomUUID } from 'node:crypto';
import { requireRole, type VerifiedIdentity } from '@cyber/auth-client';
import { RpcError, type TokenEvent } from '@cyber/contract';
import type { HeldReservation } from '@cyber/metering';
import { startGenAiSpan, type GenAiOperation, type LlmMetrics } from '@cyber/telemetry';
import {
  validateContext,
  type GenerateOptions,
  type GenerateResult,
  type LlmEngine,
  type LlmInput,
  type StopReason,
} from '@cyber/llm';
import type { FairQueue } from './fair-queue.js';
import type {
  ChatParams,
  ChatResult,
  CompleteParams,
  CompleteResult,
  EmbedParams,
  EmbedResult,
  Inference,
  InferenceCaller,
  ServedModel,
  TokenEventSink,
} from './inference-types.js';
import type { Metering } from '../metering/metering.js';

/** A registry row as inference needs it. */
export interface RegisteredModel {
  id: number;
  name: string;
  contextSize: number;
  costPerToken: number;
  status: string;
  createdAt: Date;
}

/** The registry lookups inference needs. */
export interface ModelLookup {
  byName(name: string): Promise<RegisteredModel | undefined>;
  /** Models a caller may pick (ready or loaded). */
  servable(): Promise<RegisteredModel[]>;
}

/** The engine calls inference makes (a subset of LlmEngine). */
export type InferenceEngine = Pick<
  LlmEngine,
  'countTokens' | 'prepare' | 'contextSize' | 'generate' | 'listModels' | 'embed' | 'tokenize'
>;

/** The slice of a pino logger inference writes to. */
export interface InferenceLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Options of {@link InferenceService}. */
export interface InferenceServiceOptions {
  engine: InferenceEngine;
  models: ModelLookup;
  metering: Metering;
  queue: FairQueue;
  logger: InferenceLogger;
  /** Token, latency, denial and reservation metrics; none recorded when absent. */
  metrics?: LlmMetrics;
}

type EngineInput = LlmInput & Partial<Pick<GenerateOptions, 'tools' | 'toolChoice' | 'responseFormat'>>;

interface RunRequest {
  operation: GenAiOperation;
  model: RegisteredModel;
  identity: VerifiedIdentity;
  caller: InferenceCaller;
  input: EngineInput;
  maxTokens: number;
  sampling: GenerateOptions['sampling'];
  stop: readonly string[];
  onEvent: TokenEventSink | undefined;
}

interface RunOutcome {
  id: string;
  generated: GenerateResult;
  queuedMs: number;
  cost: number;
}

const FINISH_REASON = {
  eos: 'stop',
  stop: 'stop',
  maxTokens: 'length',
  toolCalls: 'tool_calls',
  abort: 'cancelled',
} as const satisfies Record<StopReason, ChatResult['finishReason']>;

/** The implementation of {@link Inference}. */
export class InferenceService implements Inference {
  private readonly inFlight = new Map<Promise<unknown>, AbortController>();
  private readonly settling = new Set<Promise<void>>();
  private closing = false;

  constructor(private readonly options: InferenceServiceOptions) {}

  async chat(params: ChatParams, caller: InferenceCaller, onEvent?: TokenEventSink): Promise<ChatResult> {
    const identity = requireRole(caller.identity, 'developer');
    const model = await this.resolve(params.model);
    const withTools = params.toolChoice !== 'none' && params.tools.length > 0;
    const outcome = await this.run({
      operation: 'chat',
      model,
      identity,
      caller,
      input: {
        messages: params.messages,
        ...(withTools ? { tools: params.tools, toolChoice: params.toolChoice } : {}),
        responseFormat: params.responseFormat,
      },
      maxTokens: params.maxTokens,
      sampling: params.sampling,
      stop: params.stop,
      onEvent,
    });
    const { generated } = outcome;
    return {
      ...this.resultOf(model, outcome),
      message: {
        role: 'assistant',
        content: generated.toolCalls.length > 0 && generated.text === '' ? null : generated.text,
        toolCalls: generated.toolCalls,
      },
    };
  }

  async complete(
    params: CompleteParams,
    caller: InferenceCaller,
    onEvent?: TokenEventSink,
  ): Promise<CompleteResult> {
    const identity = requireRole(caller.identity, 'developer');
    const model = await this.resolve(params.model);
    const outcome = await this.run({
      operation: 'text_completion',
      model,
      identity,
      caller,
      input: { prompt: params.prompt, responseFormat: params.responseFormat },
      maxTokens: params.maxTokens,
      sampling: params.sampling,
      stop: params.stop,
      onEvent,
    });
    return { ...this.resultOf(model, outcome), text: outcome.generated.text };
  }

  async embed(params: EmbedParams, caller: InferenceCaller): Promise<EmbedResult> {
    const identity = requireRole(caller.identity, 'developer');
    this.refuseWhileClosing();
    const model = await this.resolve(params.model);
    const { engine } = this.options;
    const tokens = params.input.reduce(
      (sum, text) => sum + engine.tokenize({ modelId: model.name, text }).length,
      0,
    );
    const id = caller.eventId ?? randomUUID();
    const reservation = await this.reserve({
      userId: identity.id,
      reservationId: id,
      amount: costOf(tokens, model.costPerToken),
      tokens,
    });
    const span = startGenAiSpan({ operation: 'embeddings', model: model.name });
    let result: Awaited<ReturnType<InferenceEngine['embed']>>;
    try {
      result = await engine.embed({ modelId: model.name, texts: params.input });
    } catch (error) {
      span.fail(error);
      await this.release(reservation);
      throw error;
    }
    span.end({ inputTokens: result.promptTokens, outputTokens: 0 });
    this.settle(reservation, {
      model,
      identity,
      caller,
      promptTokens: result.promptTokens,
      completionTokens: 0,
    });
    return { id, model: model.name, embeddings: result.embeddings, promptTokens: result.promptTokens };
  }

  async models(): Promise<ServedModel[]> {
    const loaded = new Set(this.options.engine.listModels().map((m) => m.id));
    return (await this.options.models.servable()).map((model) => ({
      name: model.name,
      contextSize: model.contextSize,
      costPerToken: model.costPerToken,
      createdAt: model.createdAt.toISOString(),
      loaded: loaded.has(model.name),
    }));
  }

  /** Generations running or queued. */
  get activeRequests(): number {
    return this.inFlight.size;
  }

  /**
   * Graceful shutdown: refuses new requests, lets running ones finish for up to `graceMs`, then cancels the rest
   * (each is billed for what it generated) and waits until every one has settled.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    const all = [...this.inFlight.keys()];
    if (all.length === 0) return this.settled();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled(all), timedOut]);
    clearTimeout(timer);
    for (const controller of this.inFlight.values())
      controller.abort(new Error('llmserver is shutting down'));
    await Promise.allSettled([...this.inFlight.keys()]);
  }

  private async run(request: RunRequest): Promise<RunOutcome> {
    this.refuseWhileClosing();
    const controller = new AbortController();
    const signal = AbortSignal.any([request.caller.signal, controller.signal]);
    const task = this.meteredGeneration(request, signal);
    this.inFlight.set(task, controller);
    try {
      return await task;
    } finally {
      this.inFlight.delete(task);
    }
  }

  private async meteredGeneration(request: RunRequest, signal: AbortSignal): Promise<RunOutcome> {
    const span = startGenAiSpan({
      operation: request.operation,
      model: request.model.name,
      maxTokens: request.maxTokens,
    });
    try {
      const outcome = await this.generation(request, signal);
      span.end({
        inputTokens: outcome.generated.promptTokens,
        outputTokens: outcome.generated.completionTokens,
        finishReasons: [FINISH_REASON[outcome.generated.stopReason]],
      });
      return outcome;
    } catch (error) {
      span.fail(error);
      throw error;
    }
  }

  private async generation(request: RunRequest, signal: AbortSignal): Promise<RunOutcome> {
    const { model, identity, input, maxTokens } = request;
    const { engine, queue, metrics } = this.options;
    const startedAt = performance.now();
    // Rendered and tokenized once: counted here, then generated from without rendering again.
    const prepared = engine.prepare({ ...input, modelId: model.name });
    const { promptTokens } = prepared;
    validateContext({ promptTokens, maxTokens, contextSize: engine.contextSize(model.name) });

    const id = request.caller.eventId ?? randomUUID();
    const worstTokens = promptTokens + maxTokens;
    const reservation = await this.reserve({
      userId: identity.id,
      reservationId: id,
      amount: costOf(worstTokens, model.costPerToken),
      tokens: worstTokens,
    });

    // Stream events leave in order; a slow client delays the next send, never the generation's count.
    let stream: Promise<void> = Promise.resolve();
    const emit = (event: TokenEvent): void => {
      const sink = request.onEvent;
      if (sink === undefined) return;
      stream = stream.then(() => sink(event)).catch(() => undefined);
    };

    const queuedAt = performance.now();
    let releaseSlot: (() => void) | undefined;
    let streamed = 0;
    // The queue adds a waiter synchronously, and every waiter leaves through its own request's await below, so
    // setting the gauge on both sides keeps it exact.
    const slot = queue.acquire(identity.id, model.name, {
      signal,
      onPosition: (position) => emit({ kind: 'queued', position }),
    });
    metrics?.queueWaiting.set(queue.waiting());
    try {
      releaseSlot = await slot;
    } catch (error) {
      await this.release(reservation);
      throw error;
    } finally {
      metrics?.queueWaiting.set(queue.waiting());
    }
    const queuedMs = Math.round(performance.now() - queuedAt);
    let generated: GenerateResult;
    try {
      emit({ kind: 'started', promptTokens });
      generated = await engine.generate({
        ...input,
        modelId: model.name,
        prepared,
        maxTokens,
        ...(request.sampling ? { sampling: request.sampling } : {}),
        stop: request.stop,
        signal,
        onToken: (chunk) => {
          if (streamed === 0) {
            metrics?.timeToFirstToken.observe({ model: model.name }, (performance.now() - startedAt) / 1000);
          }
          streamed = chunk.completionTokens;
          emit({ kind: 'token', text: chunk.text, completionTokens: chunk.completionTokens });
        },
      });
    } catch (error) {
      releaseSlot();
      if (streamed === 0 && isRefusal(error)) {
        await this.release(reservation);
      } else {
        // The model worked on it: bill the prompt and what was generated before it failed.
        this.options.logger.error({ err: error, model: model.name }, 'llm: generation failed');
        this.settle(reservation, {
          model,
          identity,
          caller: request.caller,
          promptTokens,
          completionTokens: streamed,
        });
      }
      throw error;
    }
    releaseSlot();
    for (const toolCall of generated.toolCalls) emit({ kind: 'toolCall', toolCall });
    const cost = this.settle(reservation, {
      model,
      identity,
      caller: request.caller,
      promptTokens: generated.promptTokens,
      completionTokens: generated.completionTokens,
    });
    await stream;
    return { id, generated, queuedMs: queuedMs + generated.queuedMs, cost };
  }

  /** Starts settling a request and returns its cost; {@link settled} waits for every settle. */
  private settle(
    reservation: HeldReservation,
    usage: {
      model: RegisteredModel;
      identity: VerifiedIdentity;
      caller: InferenceCaller;
      promptTokens: number;
      completionTokens: number;
    },
  ): number {
    const cost = costOf(usage.promptTokens + usage.completionTokens, usage.model.costPerToken);
    const { metrics } = this.options;
    metrics?.promptTokens.inc({ model: usage.model.name }, usage.promptTokens);
    metrics?.completionTokens.inc({ model: usage.model.name }, usage.completionTokens);
    const settling = this.options.metering
      .settle(reservation, {
        eventId: reservation.reservationId,
        userId: usage.identity.id,
        modelId: usage.model.id,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        cost,
        traceId: usage.caller.traceId,
        occurredAt: new Date().toISOString(),
      })
      .catch((error: unknown) => {
        // The outbox could not store the event (disk failure). The reservation stays held in Redis, so the
        // worst case remains unspendable until an operator looks; the charge itself is in this log line.
        this.options.logger.error(
          { err: error, eventId: reservation.reservationId, userId: usage.identity.id, cost },
          'llm: usage event could not be stored; reservation kept',
        );
      })
      .finally(() => {
        metrics?.reservationsOpen.dec();
        this.settling.delete(settling);
      });
    this.settling.add(settling);
    return cost;
  }

  /** Reserves through metering, counting refusals by reason and the reservations held. */
  private async reserve(request: Parameters<Metering['reserve']>[0]): Promise<HeldReservation> {
    const { metering, metrics } = this.options;
    try {
      const reservation = await metering.reserve(request);
      metrics?.reservationsOpen.inc();
      return reservation;
    } catch (error) {
      if (error instanceof RpcError && (error.key === 'budget_exceeded' || error.key === 'rate_limited')) {
        metrics?.budgetDenials.inc({ reason: error.key });
      }
      throw error;
    }
  }

  /** Releases a reservation that will not be charged. */
  private async release(reservation: HeldReservation): Promise<void> {
    try {
      await this.options.metering.release(reservation);
    } finally {
      this.options.metrics?.reservationsOpen.dec();
    }
  }

  /** Resolves when every settle started so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.settling]);
  }

  private resultOf(model: RegisteredModel, outcome: RunOutcome): Omit<ChatResult, 'message'> {
    const { generated } = outcome;
    return {
      id: outcome.id,
      model: model.name,
      finishReason: FINISH_REASON[generated.stopReason],
      usage: {
        promptTokens: generated.promptTokens,
        completionTokens: generated.completionTokens,
        totalTokens: generated.promptTokens + generated.completionTokens,
        cost: outcome.cost,
      },
      queuedMs: outcome.queuedMs,
      durationMs: generated.durationMs,
    };
  }

  private async resolve(name: string): Promise<RegisteredModel> {
    const model = await this.options.models.byName(name);
    if (model === undefined) {
      throw new RpcError('not_found', { message: `No model named ${name}`, data: { model: name } });
    }
    if (!this.options.engine.listModels().some((loaded) => loaded.id === name)) {
      throw new RpcError('model_not_loaded', {
        message: `Model ${name} is not loaded; an admin can load it with models.load`,
        data: { model: name, status: model.status },
      });
    }
    return model;
  }

  private refuseWhileClosing(): void {
    if (this.closing) {
      throw new RpcError('service_unavailable', {
        message: 'llmserver is shutting down',
        data: { service: 'llmserver' },
      });
    }
  }
}

/** tokens × price, refused when it would leave safe integers (no float money, ever). */
function costOf(tokens: number, costPerToken: number): number {
  const cost = tokens * costPerToken;
  if (!Number.isSafeInteger(cost)) {
    throw new RpcError('invalid_params', {
      message: 'The cost of this request does not fit the ledger; ask for fewer tokens',
      data: { tokens, costPerToken },
    });
  }
  return cost;
}

/** Errors that mean the model never worked on the request. */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof RpcError &&
    ['model_not_loaded', 'cancelled', 'context_too_long', 'invalid_params'].includes(error.key)
  );
}
