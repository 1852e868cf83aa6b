// The product's only use of node-llama-cpp: one Llama instance, loaded models with a pool of context
// sequences each, tokenization, context validation and metered generation. Native work (loading, evaluation)
// runs off the JavaScript thread inside node-llama-cpp, so none of this blocks the event loop.
import { availableParallelism } from 'node:os';
import { defaultLlmThreads, type InferenceConfig } from '@cyber/config';
import { RpcError, type Sampling } from '@cyber/contract';
import {
  GgufInsights,
  getLlama,
  LlamaLogLevel,
  readGgufFileInfo,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type GbnfJsonSchema,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import {
  planFunctions,
  toChatHistory,
  type FunctionPlan,
  type LlmMessage,
  type LlmToolCall,
  type LlmToolChoice,
  type LlmToolDefinition,
} from './chat-history.js';
import { validateContext } from './context-validation.js';
import { forceFunctionCall, forcedCallPromptText } from './forced-call.js';
import { runChat, runCompletion, type RunOutcome, type StopReason, type TokenChunk } from './generation.js';
import { assertGrammarSchema } from './json-schema.js';
import { SequencePool } from './sequence-pool.js';

export type { StopReason, TokenChunk } from './generation.js';
export type { LlmMessage, LlmToolCall, LlmToolChoice, LlmToolDefinition } from './chat-history.js';

/** The slice of a pino/Fastify logger the engine writes to. */
export interface LlmLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** GPU backend: the config's modes (`'false'` = CPU only). */
export type LlmGpuMode = InferenceConfig['gpu'];

/** Options for {@link LlmEngine.create}. */
export interface LlmEngineOptions {
  /** GPU backend; `'false'` (the default here) loads the prebuilt CPU binary, the only one installed. */
  gpu?: LlmGpuMode;
  /** CPU threads per evaluation; defaults to all cores but one (see `defaultLlmThreads`). */
  threads?: number;
  /** Where llama.cpp's warnings and the engine's own notes go; silent when absent. */
  logger?: LlmLogger;
  /** Bytes of memory free for a new model; defaults to `process.availableMemory()` (cgroup-aware). */
  freeMemory?: () => number;
  /** Cores the machine has; defaults to `os.availableParallelism()`. Tests override it. */
  cores?: number;
}

/** Options for {@link LlmEngine.loadModel}. */
export interface LoadModelOptions {
  /** Name the other calls use. */
  id: string;
  /** Path of the GGUF file. */
  path: string;
  /** Tokens each sequence holds (prompt plus completion); at most the model's training context. */
  contextSize: number;
  /** Generations that can run at once on this model (batched together). */
  sequences?: number;
}

/** Memory a model needs, estimated from its GGUF header before loading. */
export interface MemoryEstimate {
  /** Weights (and their buffers). */
  modelBytes: number;
  /** KV cache and compute buffers of the context with all its sequences. */
  contextBytes: number;
  /** Both together. */
  totalBytes: number;
}

/** A loaded model, as `models.status` reports it. */
export interface LoadedModelInfo {
  id: string;
  path: string;
  contextSize: number;
  /** The model's training context, from its metadata. */
  trainContextSize: number;
  sequences: number;
  /** Sequences generating right now. */
  activeSequences: number;
  /** Generations waiting for a sequence. */
  queued: number;
  memory: MemoryEstimate;
}

/** What to count or generate from: a raw prompt or chat messages (exactly one). */
export type LlmInput =
  { prompt: string; messages?: undefined } | { messages: readonly LlmMessage[]; prompt?: undefined };

/** Output format: free text, any JSON, or JSON matching a schema (both enforced by a grammar). */
export type LlmResponseFormat =
  { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; schema: Record<string, unknown> };

/**
 * A prompt with what shapes it: tools are documented in the rendered chat (so they count as prompt tokens),
 * and a forced call (toolChoice `required` or a name) adds the call prefix.
 */
export type PromptOptions = LlmInput & {
  modelId: string;
  /** Tools the model may call (chat only). */
  tools?: readonly LlmToolDefinition[] | undefined;
  /** Defaults to `auto`; see {@link planFunctions} for what each choice offers. */
  toolChoice?: LlmToolChoice | undefined;
  /** Defaults to text; JSON formats cannot be combined with offered tools. */
  responseFormat?: LlmResponseFormat | undefined;
};

/**
 * A prompt rendered and tokenized by {@link LlmEngine.prepare}: its billed length, and a rendering that
 * {@link LlmEngine.generate} reuses instead of rendering the same prompt again.
 */
export interface PreparedPrompt {
  readonly modelId: string;
  /** Equals `promptTokens` of the generation and {@link LlmEngine.countTokens} of the same options. */
  readonly promptTokens: number;
}

/** Options for {@link LlmEngine.generate}. */
export type GenerateOptions = PromptOptions & {
  /**
   * {@link LlmEngine.prepare} of these same prompt options. Used once, and only while the model it was made for
   * is still the one loaded; otherwise the prompt is rendered again.
   */
  prepared?: PreparedPrompt;
  /** Most tokens to generate; prompt plus this must fit the context. */
  maxTokens: number;
  /** Sampling options; omitted ones keep node-llama-cpp's defaults (temperature 0 = greedy). */
  sampling?: Sampling;
  /** Stop sequences; generation ends before them and they are not part of the text. */
  stop?: readonly string[];
  /** Stops generation (stopReason `abort`); while still queued it rejects with RpcError `cancelled`. */
  signal?: AbortSignal;
  /** Called for every chunk of tokens as the generation loop releases it, with the running count. */
  onToken?: (chunk: TokenChunk) => void;
  /** Called once when every sequence is busy and the call waits, with its queue position. */
  onQueued?: (position: number) => void;
};

/** Result of {@link LlmEngine.generate}: what a metering layer bills. */
export interface GenerateResult {
  /** Text of the model's turn (without function-call syntax). */
  text: string;
  /** Tokens of the prompt as evaluated (template, tool documentation and BOS included); equals countTokens. */
  promptTokens: number;
  /**
   * Tokens the model produced, as the last `onToken` chunk reported them. Chat: every token sampled (text,
   * function-call syntax, the end token, a stop sequence) plus call syntax node-llama-cpp writes into the turn.
   * Raw prompt: tokens released to `onToken`; tokens swallowed by a stop sequence or the end token are not.
   */
  completionTokens: number;
  stopReason: StopReason;
  /** Calls the model made (stopReason `toolCalls`), each with a unique `call_` id. */
  toolCalls: LlmToolCall[];
  /** Time spent waiting for a free sequence. */
  queuedMs: number;
  /** Time from getting a sequence to the end of generation. */
  durationMs: number;
}

/** Options for {@link LlmEngine.unloadModel}. */
export interface UnloadModelOptions {
  /** Abort running generations (stopReason `abort`, their tokens counted) instead of letting them finish. */
  force?: boolean;
}

/** Result of {@link LlmEngine.unloadModel}. */
export interface UnloadModelResult {
  /** Generations that did not run to their end: queued ones refused, and with `force` the running ones. */
  cancelledRequests: number;
}

/** Options for {@link LlmEngine.embed}. */
export interface EmbedOptions {
  modelId: string;
  /** Non-empty texts, each embedded on its own. */
  texts: readonly string[];
}

/** Result of {@link LlmEngine.embed}. */
export interface EmbedResult {
  /** One vector per text, in order. */
  embeddings: number[][];
  /** Tokens evaluated for all texts together (BOS/EOS the model adds included). */
  promptTokens: number;
}

interface ModelEntry {
  id: string;
  path: string;
  contextSize: number;
  model: LlamaModel;
  context: LlamaContext;
  pool: SequencePool<LlamaContextSequence>;
  chatWrapper: ChatWrapper;
  /** The same wrapper, making the model's turn start with a function call. */
  forcedCallWrapper: ChatWrapper;
  memory: MemoryEstimate;
  /** Aborted on a forced unload, so in-flight generations stop and release their sequences. */
  unloading: AbortController;
  /** Generations (from queueing to releasing their sequence) and embeddings; unload waits for them. */
  inFlight: Set<Promise<unknown>>;
  /** Created by the first embed call; disposed on unload. */
  embedding: Promise<LlamaEmbeddingContext> | undefined;
}

const GPU_OPTION = {
  auto: 'auto',
  cuda: 'cuda',
  vulkan: 'vulkan',
  metal: 'metal',
  false: false,
} as const satisfies Record<LlmGpuMode, unknown>;

/**
 * Local inference on GGUF models through node-llama-cpp. Create one per process with {@link LlmEngine.create};
 * close it on shutdown.
 */
export class LlmEngine {
  /** CPU threads each evaluation uses. */
  readonly threads: number;
  /** The GPU mode asked for. */
  readonly gpu: LlmGpuMode;
  private readonly models = new Map<string, ModelEntry>();
  private readonly loading = new Set<string>();
  // Renderings of prepared prompts; one a caller never generates from goes with its handle.
  private readonly preparedPrompts = new WeakMap<
    PreparedPrompt,
    { entry: ModelEntry; rendered: RenderedPrompt }
  >();

  private constructor(
    private readonly llama: Llama,
    private readonly options: Required<Pick<LlmEngineOptions, 'freeMemory'>> & LlmEngineOptions,
    settings: { threads: number; gpu: LlmGpuMode },
  ) {
    this.threads = settings.threads;
    this.gpu = settings.gpu;
  }

  /**
   * Loads llama.cpp (the prebuilt binary; never builds or downloads) and warns when `threads` exceeds the
   * machine's cores, because generation then collapses (about 1 token/s on 2 cores).
   */
  static async create(options: LlmEngineOptions = {}): Promise<LlmEngine> {
    const threads = options.threads ?? defaultLlmThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${threads}`);
    }
    const gpu = options.gpu ?? 'false';
    const cores = options.cores ?? availableParallelism();
    if (threads > cores) {
      options.logger?.warn(
        { threads, cores },
        `llm: ${threads} threads on ${cores} cores oversubscribes the CPU and generation collapses; set CYBER_LLM_THREADS to at most ${cores}`,
      );
    }
    const logger = options.logger;
    const llama = await getLlama({
      gpu: GPU_OPTION[gpu],
      build: 'never',
      maxThreads: threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        if (!logger) return;
        const line = message.trim();
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal)
          logger.error({ level }, `llama.cpp: ${line}`);
        else if (level === LlamaLogLevel.warn) logger.warn({ level }, `llama.cpp: ${line}`);
      },
    });
    return new LlmEngine(
      llama,
      { ...options, freeMemory: options.freeMemory ?? (() => process.availableMemory()) },
      { threads, gpu },
    );
  }

  /** Estimates the memory a model and its context need, from the GGUF header alone (nothing is loaded). */
  async estimateMemory(options: Omit<LoadModelOptions, 'id'>): Promise<MemoryEstimate> {
    const info = await readGgufFileInfo(options.path, { logWarnings: false });
    const insights = await GgufInsights.from(info, this.llama);
    const gpuLayers = this.gpu === 'false' ? 0 : insights.totalLayers;
    const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers });
    const context = await insights.estimateContextResourceRequirementsV2({
      contextSize: options.contextSize,
      sequences: options.sequences ?? 1,
      modelGpuLayers: gpuLayers,
    });
    const modelBytes = model.cpuRam + model.gpuVram;
    const contextBytes = context.cpuRam + context.gpuVram;
    return { modelBytes, contextBytes, totalBytes: modelBytes + contextBytes };
  }

  /**
   * Loads a model with a context of `sequences` sequences of `contextSize` tokens each.
   * @throws RpcError `conflict` when the id is taken, `invalid_params` when the context exceeds the model's
   * training context, `precondition_failed` (data: requiredBytes, availableBytes) when it would not fit in
   * free memory.
   */
  async loadModel(options: LoadModelOptions): Promise<LoadedModelInfo> {
    const { id, path, contextSize } = options;
    const sequences = options.sequences ?? 1;
    if (this.models.has(id) || this.loading.has(id)) {
      throw new RpcError('conflict', { message: `Model ${id} is already loaded`, data: { model: id } });
    }
    if (!Number.isInteger(contextSize) || contextSize < 1 || !Number.isInteger(sequences) || sequences < 1) {
      throw new RpcError('invalid_params', {
        message: 'contextSize and sequences must be positive integers',
        data: { contextSize, sequences },
      });
    }
    this.loading.add(id);
    try {
      const memory = await this.estimateMemory({ path, contextSize, sequences });
      const availableBytes = this.options.freeMemory();
      if (memory.totalBytes > availableBytes) {
        const mib = (bytes: number): string => `${Math.ceil(bytes / 2 ** 20)} MiB`;
        throw new RpcError('precondition_failed', {
          message: `Model ${id} needs about ${mib(memory.totalBytes)} (weights ${mib(memory.modelBytes)}, context ${mib(memory.contextBytes)}) but only ${mib(availableBytes)} is free`,
          data: { reason: 'insufficient_memory', requiredBytes: memory.totalBytes, availableBytes },
        });
      }
      const model = await this.llama.loadModel({
        modelPath: path,
        gpuLayers: this.gpu === 'false' ? 0 : 'auto',
      });
      try {
        const trainContextSize = model.trainContextSize;
        if (contextSize > trainContextSize) {
          throw new RpcError('invalid_params', {
            message: `contextSize ${contextSize} exceeds the model's training context of ${trainContextSize} tokens`,
            data: { contextSize, trainContextSize },
          });
        }
        const context = await model.createContext({ contextSize, sequences, threads: this.threads });
        const pool = new SequencePool(Array.from({ length: sequences }, () => context.getSequence()));
        const chatWrapper = resolveChatWrapper(model);
        this.models.set(id, {
          id,
          path,
          contextSize,
          model,
          context,
          pool,
          chatWrapper,
          forcedCallWrapper: forceFunctionCall(chatWrapper),
          memory,
          unloading: new AbortController(),
          inFlight: new Set(),
          embedding: undefined,
        });
      } catch (error) {
        await model.dispose();
        throw error;
      }
      this.options.logger?.info({ model: id, path, contextSize, sequences, memory }, 'llm: model loaded');
      return this.describe(this.require(id));
    } finally {
      this.loading.delete(id);
    }
  }

  /**
   * Unloads a model. At once it accepts no new work (`model_not_loaded`) and queued generations reject with
   * `model_not_loaded`. Running generations finish normally, or with `force` stop (stopReason `abort`, their
   * tokens counted so the caller can bill them). Memory is freed once they are done.
   * @throws RpcError `model_not_loaded` when no model has this id.
   */
  async unloadModel(id: string, options: UnloadModelOptions = {}): Promise<UnloadModelResult> {
    const entry = this.require(id);
    this.models.delete(id);
    const queued = entry.pool.waiting;
    const running = entry.pool.busy;
    entry.pool.close(notLoaded(id));
    if (options.force) entry.unloading.abort();
    await Promise.allSettled([...entry.inFlight]);
    const embedding = await entry.embedding?.catch(() => undefined);
    await embedding?.dispose();
    await entry.context.dispose();
    await entry.model.dispose();
    const cancelledRequests = queued + (options.force ? running : 0);
    this.options.logger?.info(
      { model: id, force: options.force ?? false, cancelledRequests },
      'llm: model unloaded',
    );
    return { cancelledRequests };
  }

  /** The loaded models. */
  listModels(): LoadedModelInfo[] {
    return [...this.models.values()].map((entry) => this.describe(entry));
  }

  /** Tokenizes text; with `specialTokens`, text like `<|im_start|>` becomes its control token. */
  tokenize(options: { modelId: string; text: string; specialTokens?: boolean }): number[] {
    const { model } = this.require(options.modelId);
    return [...model.tokenize(options.text, options.specialTokens ?? false)];
  }

  /** Turns tokens back into text (control tokens are left out). */
  detokenize(options: { modelId: string; tokens: readonly number[] }): string {
    const { model } = this.require(options.modelId);
    return model.detokenize(options.tokens as Token[]);
  }

  /**
   * Counts what a generation would evaluate: text as a raw prompt, or messages rendered with the model's chat
   * template, the offered tools' documentation and the assistant prefix (plus the call prefix of a forced
   * call). Equals `promptTokens` of {@link generate} for the same input.
   * @throws RpcError `model_not_loaded`, or `invalid_params` for tools or tool messages that do not fit.
   */
  countTokens(options: PromptOptions): number {
    return this.renderPrompt(this.require(options.modelId), options).tokens.length;
  }

  /**
   * Renders and tokenizes a prompt once, for a caller that needs its length before generating (to validate and
   * reserve) and then generates from it: pass the result as `prepared` with the same options.
   * @throws like {@link countTokens}.
   */
  prepare(options: PromptOptions): PreparedPrompt {
    const entry = this.require(options.modelId);
    const rendered = this.renderPrompt(entry, options);
    const prepared: PreparedPrompt = { modelId: entry.id, promptTokens: rendered.tokens.length };
    this.preparedPrompts.set(prepared, { entry, rendered });
    return prepared;
  }

  /**
   * Embeds texts with the model's embedding context (created on first use, freed on unload).
   * @throws RpcError `model_not_loaded`, `invalid_params` (empty text, or a model that cannot embed), or
   * `context_too_long` (data: index, promptTokens, contextSize) for a text beyond the context.
   */
  async embed(options: EmbedOptions): Promise<EmbedResult> {
    const entry = this.require(options.modelId);
    const empty = options.texts.findIndex((text) => text.length === 0);
    if (empty >= 0) {
      throw new RpcError('invalid_params', { message: `texts[${empty}] is empty`, data: { index: empty } });
    }
    const work = (async (): Promise<EmbedResult> => {
      const context = await this.embeddingContext(entry);
      const lengths = options.texts.map((text) => context.calculateInputLength(text));
      // node-llama-cpp needs one free slot beyond the input.
      const tooLong = lengths.findIndex((length) => length >= entry.contextSize);
      if (tooLong >= 0) {
        const promptTokens = lengths[tooLong] ?? 0;
        throw new RpcError('context_too_long', {
          message: `texts[${tooLong}] (${promptTokens} tokens) does not fit the context size (${entry.contextSize} tokens)`,
          data: { index: tooLong, promptTokens, contextSize: entry.contextSize },
        });
      }
      const embeddings: number[][] = [];
      for (const text of options.texts) embeddings.push([...(await context.getEmbeddingFor(text)).vector]);
      return { embeddings, promptTokens: lengths.reduce((sum, length) => sum + length, 0) };
    })();
    entry.inFlight.add(work);
    try {
      return await work;
    } finally {
      entry.inFlight.delete(work);
    }
  }

  /** The context size (tokens per sequence) a loaded model was given. */
  contextSize(modelId: string): number {
    return this.require(modelId).contextSize;
  }

  /**
   * Generates a completion of a prompt or a chat (with tools, JSON output). Validates prompt + maxTokens
   * against the context before taking a sequence, waits FIFO when all sequences are busy, counts tokens in the
   * generation loop and stops on abort, so the result says exactly what was generated.
   * @throws RpcError `model_not_loaded`, `context_too_long`, `invalid_params` (a schema the grammar cannot
   * enforce, JSON output with tools, tool messages that do not fit), or `cancelled` (aborted while queued).
   */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const entry = this.require(options.modelId);
    const prompt = this.takePrepared(entry, options.prepared) ?? this.renderPrompt(entry, options);
    validateContext({
      promptTokens: prompt.tokens.length,
      maxTokens: options.maxTokens,
      contextSize: entry.contextSize,
    });
    const grammar = await this.grammarFor(options.responseFormat);
    const signal = options.signal
      ? AbortSignal.any([options.signal, entry.unloading.signal])
      : entry.unloading.signal;
    const work = this.acquireAndRun({ entry, prompt, grammar, options, signal });
    entry.inFlight.add(work);
    try {
      return await work;
    } finally {
      entry.inFlight.delete(work);
    }
  }

  /** Frees every model and llama.cpp itself. In-flight generations stop first. */
  async close(): Promise<void> {
    for (const id of [...this.models.keys()]) await this.unloadModel(id, { force: true });
    await this.llama.dispose();
  }

  private async acquireAndRun(args: {
    entry: ModelEntry;
    prompt: RenderedPrompt;
    grammar: LlamaGrammar | undefined;
    options: GenerateOptions;
    signal: AbortSignal;
  }): Promise<GenerateResult> {
    const { entry, prompt, grammar, options, signal } = args;
    const queuedAt = performance.now();
    const sequence = await entry.pool.acquire({
      signal,
      ...(options.onQueued ? { onQueued: options.onQueued } : {}),
    });
    const startedAt = performance.now();
    try {
      const common = {
        sequence,
        maxTokens: options.maxTokens,
        sampling: options.sampling,
        stop: options.stop ?? [],
        grammar,
        signal,
        onToken: options.onToken,
      };
      const outcome: RunOutcome = prompt.chat
        ? await runChat({
            ...common,
            chatWrapper: prompt.chat.plan.forced ? entry.forcedCallWrapper : entry.chatWrapper,
            history: prompt.chat.history,
            functions: prompt.chat.plan.functions,
            promptTokens: prompt.tokens.length,
          })
        : await runCompletion({ ...common, model: entry.model, input: prompt.completionInput });
      return {
        ...outcome,
        promptTokens: prompt.tokens.length,
        queuedMs: Math.round(startedAt - queuedAt),
        durationMs: Math.round(performance.now() - startedAt),
      };
    } finally {
      // A fresh sequence for the next caller: no KV state of this request is reused by another.
      await sequence.clearHistory().catch((error: unknown) => {
        this.options.logger?.warn({ err: error, model: entry.id }, 'llm: clearing a sequence failed');
      });
      entry.pool.release(sequence);
    }
  }

  /** The grammar enforcing a response format; undefined for text. */
  private async grammarFor(format: LlmResponseFormat | undefined): Promise<LlamaGrammar | undefined> {
    if (format === undefined || format.type === 'text') return undefined;
    if (format.type === 'json_object') return this.llama.getGrammarFor('json');
    assertGrammarSchema(format.schema, 'responseFormat.schema');
    try {
      return await this.llama.createGrammarForJsonSchema<GbnfJsonSchema>(
        format.schema as Readonly<GbnfJsonSchema>,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RpcError('invalid_params', {
        message: `responseFormat.schema does not compile to a grammar: ${reason}`,
        data: { reason },
      });
    }
  }

  /** The model's embedding context, created once. */
  private embeddingContext(entry: ModelEntry): Promise<LlamaEmbeddingContext> {
    entry.embedding ??= this.createEmbeddingContext(entry);
    return entry.embedding;
  }

  private async createEmbeddingContext(entry: ModelEntry): Promise<LlamaEmbeddingContext> {
    const insights = entry.model.fileInsights;
    const unsupported = (reason: string): RpcError =>
      new RpcError('invalid_params', {
        message: `model ${entry.id} does not support embeddings: ${reason}`,
        data: { model: entry.id, reason },
      });
    if (insights.hasEncoder && insights.hasDecoder) throw unsupported('it is an encoder-decoder model');
    try {
      return await entry.model.createEmbeddingContext({
        contextSize: entry.contextSize,
        threads: this.threads,
      });
    } catch (error) {
      throw unsupported(error instanceof Error ? error.message : String(error));
    }
  }

  /** The rendering of a prepared prompt, once, if it was made for this loaded model. */
  private takePrepared(entry: ModelEntry, prepared: PreparedPrompt | undefined): RenderedPrompt | undefined {
    if (prepared === undefined) return undefined;
    const held = this.preparedPrompts.get(prepared);
    this.preparedPrompts.delete(prepared);
    return held?.entry === entry ? held.rendered : undefined;
  }

  private renderPrompt(entry: ModelEntry, input: PromptOptions): RenderedPrompt {
    const { model } = entry;
    if (input.messages !== undefined) {
      const history = toChatHistory(input.messages);
      const plan = planFunctions(input.tools, input.toolChoice);
      if (plan.functions && input.responseFormat && input.responseFormat.type !== 'text') {
        throw new RpcError('invalid_params', {
          message:
            'responseFormat json_object/json_schema cannot be combined with tools (node-llama-cpp does not support a grammar with functions); use toolChoice none',
          data: { responseFormat: input.responseFormat.type },
        });
      }
      // Exactly what LlamaChat renders and evaluates (it tokenizes the context text as a whole, BOS included).
      const state = entry.chatWrapper.generateContextState({
        chatHistory: history,
        ...(plan.functions ? { availableFunctions: plan.functions, documentFunctionParams: true } : {}),
      });
      const text = plan.forced
        ? forcedCallPromptText(entry.chatWrapper, state.contextText)
        : state.contextText;
      return { tokens: text.tokenize(model.tokenizer), completionInput: [], chat: { history, plan } };
    }
    if (input.tools !== undefined && input.tools.length > 0) {
      throw new RpcError('invalid_params', { message: 'tools need chat messages, not a raw prompt' });
    }
    const bos = model.tokens.bos;
    // LlamaCompletion prepends BOS itself when the model wants one; count it, pass the rest.
    const prependsBos = bos !== null && model.tokens.shouldPrependBosToken;
    // Same tokenization LlamaCompletion applies to a string prompt.
    const body = model.tokenize(input.prompt, false, prependsBos ? 'trimLeadingSpace' : undefined);
    const tokens = prependsBos && bos !== null ? [bos, ...body] : body;
    return { tokens, completionInput: body, chat: undefined };
  }

  private require(id: string): ModelEntry {
    const entry = this.models.get(id);
    if (!entry) throw notLoaded(id);
    return entry;
  }

  private describe(entry: ModelEntry): LoadedModelInfo {
    return {
      id: entry.id,
      path: entry.path,
      contextSize: entry.contextSize,
      trainContextSize: entry.model.trainContextSize,
      sequences: entry.context.totalSequences,
      activeSequences: entry.pool.busy,
      queued: entry.pool.waiting,
      memory: entry.memory,
    };
  }
}

interface RenderedPrompt {
  /** Everything evaluated before the model's first token, BOS included: the prompt's billed length. */
  tokens: Token[];
  /** Raw prompt: what LlamaCompletion gets (it adds BOS). */
  completionInput: Token[];
  /** Chat: the history LlamaChat renders and the functions offered. */
  chat: { history: ChatHistoryItem[]; plan: FunctionPlan } | undefined;
}

function notLoaded(id: string): RpcError {
  return new RpcError('model_not_loaded', { message: `Model ${id} is not loaded`, data: { model: id } });
}
