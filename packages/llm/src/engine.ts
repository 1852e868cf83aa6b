// The product's only use of node-llama-cpp: one Llama instance, loaded models with a pool of context
// sequences each, tokenization, context validation and metered generation. Native work (loading, evaluation)
// runs off the JavaScript thread inside node-llama-cpp, so none of this blocks the event loop.
import { availableParallelism } from 'node:os';
import { defaultLlmThreads, type InferenceConfig } from '@cyber/config';
import { RpcError, type Sampling } from '@cyber/contract';
import {
  GgufInsights,
  getLlama,
  LlamaCompletion,
  LlamaLogLevel,
  readGgufFileInfo,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type LlamaText,
  type Token,
} from 'node-llama-cpp';
import { validateContext } from './context-validation.js';
import { SequencePool } from './sequence-pool.js';

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

/** A chat message the engine renders with the model's chat template. Tools come with the server. */
export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What to count or generate from: a raw prompt or chat messages (exactly one). */
export type LlmInput =
  { prompt: string; messages?: undefined } | { messages: readonly LlmMessage[]; prompt?: undefined };

/** One streamed chunk. */
export interface TokenChunk {
  /** Text of this chunk. */
  text: string;
  /** Tokens in this chunk. */
  tokens: number;
  /** Completion tokens generated so far, this chunk included: what the caller owes at this point. */
  completionTokens: number;
}

/** Why generation stopped: end of generation, `maxTokens` reached, a stop sequence, or the signal. */
export type StopReason = 'eos' | 'maxTokens' | 'stop' | 'abort';

/** Options for {@link LlmEngine.generate}. */
export type GenerateOptions = LlmInput & {
  modelId: string;
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
  text: string;
  /** Tokens of the prompt as evaluated (template and BOS included). */
  promptTokens: number;
  /** Tokens generated and handed to `onToken`; tokens swallowed by a stop sequence or the end token are not counted. */
  completionTokens: number;
  stopReason: StopReason;
  /** Time spent waiting for a free sequence. */
  queuedMs: number;
  /** Time from getting a sequence to the end of generation. */
  durationMs: number;
}

interface ModelEntry {
  id: string;
  path: string;
  contextSize: number;
  model: LlamaModel;
  context: LlamaContext;
  pool: SequencePool<LlamaContextSequence>;
  chatWrapper: ChatWrapper;
  memory: MemoryEstimate;
  /** Aborted on unload, so in-flight generations stop and release their sequences. */
  unloading: AbortController;
  inFlight: Set<Promise<unknown>>;
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
        this.models.set(id, {
          id,
          path,
          contextSize,
          model,
          context,
          pool,
          chatWrapper: resolveChatWrapper(model),
          memory,
          unloading: new AbortController(),
          inFlight: new Set(),
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
   * Unloads a model: queued generations reject with `model_not_loaded`, running ones stop (stopReason
   * `abort`, their tokens counted) and are awaited before the memory is freed.
   */
  async unloadModel(id: string): Promise<void> {
    const entry = this.require(id);
    this.models.delete(id);
    entry.pool.close(notLoaded(id));
    entry.unloading.abort();
    await Promise.allSettled([...entry.inFlight]);
    await entry.context.dispose();
    await entry.model.dispose();
    this.options.logger?.info({ model: id }, 'llm: model unloaded');
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
   * template plus the assistant prefix. Equals `promptTokens` of {@link generate} for the same input.
   */
  countTokens(options: LlmInput & { modelId: string }): number {
    return this.renderPrompt(this.require(options.modelId), options).tokens.length;
  }

  /** The context size (tokens per sequence) a loaded model was given. */
  contextSize(modelId: string): number {
    return this.require(modelId).contextSize;
  }

  /**
   * Generates a completion of a prompt or a chat. Validates prompt + maxTokens against the context before
   * taking a sequence, waits FIFO when all sequences are busy, counts tokens in the generation loop and stops
   * on abort, so the result says exactly what was generated.
   * @throws RpcError `model_not_loaded`, `context_too_long`, or `cancelled` (aborted while queued).
   */
  async generate(options: GenerateOptions): Promise<GenerateResult> {
    const entry = this.require(options.modelId);
    const prompt = this.renderPrompt(entry, options);
    validateContext({
      promptTokens: prompt.tokens.length,
      maxTokens: options.maxTokens,
      contextSize: entry.contextSize,
    });
    const signal = options.signal
      ? AbortSignal.any([options.signal, entry.unloading.signal])
      : entry.unloading.signal;

    const queuedAt = performance.now();
    const sequence = await entry.pool.acquire({
      signal,
      ...(options.onQueued ? { onQueued: options.onQueued } : {}),
    });
    const startedAt = performance.now();
    const run = this.runCompletion({ entry, sequence, prompt, options, signal });
    entry.inFlight.add(run);
    try {
      const outcome = await run;
      return {
        ...outcome,
        promptTokens: prompt.tokens.length,
        queuedMs: Math.round(startedAt - queuedAt),
        durationMs: Math.round(performance.now() - startedAt),
      };
    } finally {
      entry.inFlight.delete(run);
      // A fresh sequence for the next caller: no KV state of this request is reused by another.
      await sequence.clearHistory().catch((error: unknown) => {
        this.options.logger?.warn({ err: error, model: entry.id }, 'llm: clearing a sequence failed');
      });
      entry.pool.release(sequence);
    }
  }

  /** Frees every model and llama.cpp itself. In-flight generations stop first. */
  async close(): Promise<void> {
    for (const id of [...this.models.keys()]) await this.unloadModel(id);
    await this.llama.dispose();
  }

  private async runCompletion(args: {
    entry: ModelEntry;
    sequence: LlamaContextSequence;
    prompt: RenderedPrompt;
    options: GenerateOptions;
    signal: AbortSignal;
  }): Promise<Pick<GenerateResult, 'text' | 'completionTokens' | 'stopReason'>> {
    const { entry, sequence, prompt, options, signal } = args;
    const { model } = entry;
    const userStops = options.stop ?? [];
    const generated: Token[] = [];
    let text = '';
    const completion = new LlamaCompletion({ contextSequence: sequence });
    try {
      const sampling = options.sampling ?? {};
      const response = await completion.generateCompletionWithMeta(prompt.completionInput, {
        maxTokens: options.maxTokens,
        signal,
        stopOnAbortSignal: true,
        // The context was validated above: never shift or truncate the prompt behind the caller's back.
        contextShiftSize: 0,
        disableContextShift: true,
        customStopTriggers: [...userStops, ...prompt.stopTriggers],
        ...(sampling.temperature !== undefined ? { temperature: sampling.temperature } : {}),
        ...(sampling.topP !== undefined ? { topP: sampling.topP } : {}),
        ...(sampling.topK !== undefined ? { topK: sampling.topK } : {}),
        ...(sampling.minP !== undefined ? { minP: sampling.minP } : {}),
        ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
        repeatPenalty: {
          ...(sampling.repeatPenalty !== undefined ? { penalty: sampling.repeatPenalty } : {}),
          ...(sampling.presencePenalty !== undefined ? { presencePenalty: sampling.presencePenalty } : {}),
          ...(sampling.frequencyPenalty !== undefined ? { frequencyPenalty: sampling.frequencyPenalty } : {}),
        },
        // The metering point: every token the loop releases is counted here, before the caller sees it.
        onToken: (tokens) => {
          const chunk = model.detokenize(tokens, false, generated);
          generated.push(...tokens);
          text += chunk;
          options.onToken?.({ text: chunk, tokens: tokens.length, completionTokens: generated.length });
        },
      });
      const meta = response.metadata;
      let stopReason: StopReason;
      switch (meta.stopReason) {
        case 'maxTokens':
          stopReason = 'maxTokens';
          break;
        case 'abort':
          stopReason = 'abort';
          break;
        case 'eogToken':
        case 'stopGenerationTrigger':
          stopReason = 'eos';
          break;
        case 'customStopTrigger': {
          const trigger = meta.customStopTrigger.every((part) => typeof part === 'string')
            ? meta.customStopTrigger.join('')
            : undefined;
          // The chat template's own end markers count as end of generation; only the caller's are "stop".
          stopReason = trigger !== undefined && userStops.includes(trigger) ? 'stop' : 'eos';
          break;
        }
      }
      return { text, completionTokens: generated.length, stopReason };
    } catch (error) {
      // Aborted before the first token (still evaluating the prompt): nothing was generated.
      if (signal.aborted) return { text, completionTokens: generated.length, stopReason: 'abort' };
      throw error;
    } finally {
      completion.dispose({ disposeSequence: false });
    }
  }

  private renderPrompt(entry: ModelEntry, input: LlmInput): RenderedPrompt {
    const { model } = entry;
    const bos = model.tokens.bos;
    // LlamaCompletion prepends BOS itself when the model wants one; count it, pass the rest.
    const prependsBos = bos !== null && model.tokens.shouldPrependBosToken;
    let body: Token[];
    let stopTriggers: LlamaText[] = [];
    if (input.messages !== undefined) {
      const chatHistory: ChatHistoryItem[] = input.messages.map((message): ChatHistoryItem => {
        switch (message.role) {
          case 'system':
            return { type: 'system', text: message.content };
          case 'user':
            return { type: 'user', text: message.content };
          case 'assistant':
            return { type: 'model', response: [message.content] };
        }
      });
      chatHistory.push({ type: 'model', response: [] });
      const state = entry.chatWrapper.generateContextState({ chatHistory });
      body = state.contextText.tokenize(model.tokenizer);
      if (bos !== null && body[0] === bos) body = body.slice(1);
      stopTriggers = state.stopGenerationTriggers;
    } else {
      // Same tokenization LlamaCompletion applies to a string prompt.
      body = model.tokenize(input.prompt, false, prependsBos ? 'trimLeadingSpace' : undefined);
    }
    const tokens = prependsBos && bos !== null ? [bos, ...body] : body;
    return { tokens, completionInput: body, stopTriggers };
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
  /** Everything evaluated, BOS included: the prompt's billed length. */
  tokens: Token[];
  /** What LlamaCompletion gets (it adds BOS). */
  completionInput: Token[];
  /** The chat template's end markers. */
  stopTriggers: LlamaText[];
}

function notLoaded(id: string): RpcError {
  return new RpcError('model_not_loaded', { message: `Model ${id} is not loaded`, data: { model: id } });
}
