// The two generation loops: chats through LlamaChat (chat template, function calling, grammar) and raw prompts
// through LlamaCompletion. Both stop on abort and say exactly how many tokens the model produced.
import { randomBytes } from 'node:crypto';
import type { Sampling } from '@cyber/contract';
import {
  LlamaChat,
  LlamaCompletion,
  TokenMeter,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type ChatWrapper,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { LlmToolCall } from './chat-history.js';

/** One streamed chunk. */
export interface TokenChunk {
  /** Text of this chunk (empty for tokens of a function call, which come whole in `toolCalls`). */
  text: string;
  /** Tokens in this chunk. */
  tokens: number;
  /** Completion tokens generated so far, this chunk included: what the caller owes at this point. */
  completionTokens: number;
}

/** Why generation stopped: end of generation, `maxTokens` reached, a stop sequence, tool calls, or the signal. */
export type StopReason = 'eos' | 'maxTokens' | 'stop' | 'toolCalls' | 'abort';

/** What a generation loop reports. */
export interface RunOutcome {
  text: string;
  completionTokens: number;
  stopReason: StopReason;
  toolCalls: LlmToolCall[];
}

/** Options both loops share. */
export interface RunOptions {
  sequence: LlamaContextSequence;
  maxTokens: number;
  sampling: Sampling | undefined;
  stop: readonly string[];
  grammar: LlamaGrammar | undefined;
  signal: AbortSignal;
  onToken: ((chunk: TokenChunk) => void) | undefined;
}

/** A chat generation: the history LlamaChat renders and the functions offered. */
export interface ChatRunOptions extends RunOptions {
  chatWrapper: ChatWrapper;
  history: ChatHistoryItem[];
  functions: ChatModelFunctions | undefined;
  /** Tokens of the rendered prompt (countTokens); the meter's input beyond them belongs to the model's turn. */
  promptTokens: number;
}

/** Refuses any context shift: the prompt was validated to fit, so a shift would mean silent truncation. */
function refuseContextShift(): never {
  throw new Error('llm: context shift refused (prompt and maxTokens were validated to fit the context)');
}

/**
 * Generates a model turn with LlamaChat. Counts with the sequence's token meter, which sees every decode: the
 * completion is every token sampled (text and function-call syntax alike, the end token included) plus the
 * tokens LlamaChat writes into the turn itself (a call's parameter prefix, a re-tokenized function name), i.e.
 * everything evaluated beyond the prompt. The count is reported in every chunk as it grows, and a final chunk
 * with empty text carries tokens no text chunk carried (function names, the end token).
 */
export async function runChat(options: ChatRunOptions): Promise<RunOutcome> {
  const { sequence, signal, promptTokens } = options;
  const start = sequence.tokenMeter.getState();
  const used = (): number => {
    const diff = TokenMeter.diff(sequence.tokenMeter.getState(), start);
    return diff.usedOutputTokens + Math.max(0, diff.usedInputTokens - (promptTokens - 1));
  };
  let text = '';
  let reported = 0;
  const emit = (chunk: string): void => {
    const count = used();
    if (count === reported && chunk === '') return;
    text += chunk;
    options.onToken?.({ text: chunk, tokens: count - reported, completionTokens: count });
    reported = count;
  };
  const finish = (outcome: Omit<RunOutcome, 'text' | 'completionTokens'>): RunOutcome => {
    emit('');
    return { ...outcome, text, completionTokens: reported };
  };

  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: options.chatWrapper });
  try {
    const common = {
      ...samplingOptions(options.sampling),
      maxTokens: options.maxTokens,
      signal,
      stopOnAbortSignal: true,
      contextShift: { strategy: refuseContextShift },
      customStopTriggers: [...options.stop],
      onResponseChunk: (chunk: { type: 'segment' | undefined; text: string }) =>
        emit(chunk.type === undefined ? chunk.text : ''),
    };
    const response = options.functions
      ? await chat.generateResponse(options.history, {
          ...common,
          functions: options.functions,
          documentFunctionParams: true,
          onFunctionCallParamsChunk: () => emit(''),
        })
      : await chat.generateResponse(options.history, {
          ...common,
          ...(options.grammar ? { grammar: options.grammar } : {}),
        });
    const meta = response.metadata;
    const toolCalls = (response.functionCalls ?? []).map((call): LlmToolCall => ({
      id: `call_${randomBytes(12).toString('base64url')}`,
      name: call.functionName,
      // Tool parameters are object schemas (planFunctions), so the grammar made params an object.
      arguments: call.params ?? {},
    }));
    let stopReason: StopReason;
    switch (meta.stopReason) {
      case 'functionCalls':
        stopReason = 'toolCalls';
        break;
      case 'customStopTrigger':
        stopReason = 'stop';
        break;
      case 'eogToken':
      case 'stopGenerationTrigger':
        stopReason = 'eos';
        break;
      default:
        stopReason = meta.stopReason;
    }
    return finish({ stopReason, toolCalls });
  } catch (error) {
    // Aborted before the first token (still evaluating the prompt, or waiting for the chat lock).
    if (signal.aborted) return finish({ stopReason: 'abort', toolCalls: [] });
    throw error;
  } finally {
    chat.dispose({ disposeSequence: false });
  }
}

/** A raw-prompt generation. */
export interface CompletionRunOptions extends RunOptions {
  model: LlamaModel;
  /** The prompt without the BOS LlamaCompletion adds itself. */
  input: Token[];
}

/**
 * Completes a raw prompt with LlamaCompletion, counting in its token loop: every token released to `onToken`
 * is counted before the caller sees it; tokens swallowed by a stop sequence or the end token are not.
 */
export async function runCompletion(options: CompletionRunOptions): Promise<RunOutcome> {
  const { model, signal } = options;
  const generated: Token[] = [];
  let text = '';
  const completion = new LlamaCompletion({ contextSequence: options.sequence });
  try {
    const response = await completion.generateCompletionWithMeta(options.input, {
      ...samplingOptions(options.sampling),
      ...(options.grammar ? { grammar: options.grammar } : {}),
      maxTokens: options.maxTokens,
      signal,
      stopOnAbortSignal: true,
      // The context was validated: never shift or truncate the prompt behind the caller's back.
      contextShiftSize: 0,
      disableContextShift: true,
      customStopTriggers: [...options.stop],
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
      case 'customStopTrigger':
        stopReason = 'stop';
        break;
      case 'eogToken':
      case 'stopGenerationTrigger':
        stopReason = 'eos';
        break;
      default:
        stopReason = meta.stopReason;
    }
    return { text, completionTokens: generated.length, stopReason, toolCalls: [] };
  } catch (error) {
    // Aborted before the first token (still evaluating the prompt): nothing was generated.
    if (signal.aborted)
      return { text, completionTokens: generated.length, stopReason: 'abort', toolCalls: [] };
    throw error;
  } finally {
    completion.dispose({ disposeSequence: false });
  }
}

/** The contract's sampling options in node-llama-cpp's terms; omitted ones keep its defaults. */
function samplingOptions(sampling: Sampling | undefined): {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  repeatPenalty: { penalty?: number; presencePenalty?: number; frequencyPenalty?: number };
} {
  const s = sampling ?? {};
  return {
    ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
    ...(s.topP !== undefined ? { topP: s.topP } : {}),
    ...(s.topK !== undefined ? { topK: s.topK } : {}),
    ...(s.minP !== undefined ? { minP: s.minP } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    repeatPenalty: {
      ...(s.repeatPenalty !== undefined ? { penalty: s.repeatPenalty } : {}),
      ...(s.presencePenalty !== undefined ? { presencePenalty: s.presencePenalty } : {}),
      ...(s.frequencyPenalty !== undefined ? { frequencyPenalty: s.frequencyPenalty } : {}),
    },
  };
}
