// Entry `@cyber/api/testing`: the scripted test double of the agent's model (the only model double of the
// project, per issue 7), used by the api's vitest agent tests and by the browser tests' stack. Each model call
// runs the next step of a script, which answers fixed tool calls or text, so the loop's behaviour is
// deterministic. It streams like llmserver (token and toolCall events), counts tokens roughly (4 characters a
// token, 4 per message) against a context size the test picks, and on abort answers finishReason cancelled
// with the tokens used so far, as llmserver does.
import { RpcError, type ChatMessage, type ToolCall, type Usage } from '@cyber/contract';
import type { AgentModel, AgentModelResult } from './app.js';

/**
 * A fresh metrics registry, for test stacks that give the gateway `metrics` (GET /metrics, and the api's own
 * target of telemetry.snapshot) without depending on @cyber/telemetry themselves.
 */
export { createMetricsRegistry } from '@cyber/telemetry';

/** What a step sees. */
export interface ScriptCall {
  messages: ChatMessage[];
  signal: AbortSignal;
  /** Streams a text delta, as llmserver's token events do. */
  stream: (text: string) => void;
}

/** What a step answers. */
export interface ScriptReply {
  text?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  finishReason?: AgentModelResult['finishReason'];
}

/** One model call of the script. */
export type ScriptStep = (call: ScriptCall) => ScriptReply | Promise<ScriptReply>;

/** A step that calls one tool. */
export function callTool(name: string, args: Record<string, unknown>): ScriptStep {
  return () => ({ toolCalls: [{ name, arguments: args }] });
}

/** A step that answers text. */
export function answer(text: string | ((messages: ChatMessage[]) => string)): ScriptStep {
  return ({ messages }) => ({ text: typeof text === 'string' ? text : text(messages) });
}

/** A step that streams a few tokens and then generates until it is cancelled. */
export const generateUntilCancelled: ScriptStep = ({ signal, stream }) =>
  new Promise((resolve) => {
    stream('Thinking');
    const timer = setInterval(() => stream('.'), 20);
    const stop = (): void => {
      clearInterval(timer);
      resolve({ text: 'Thinking...', finishReason: 'cancelled' });
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });

function tokensOf(message: ChatMessage): number {
  const text =
    message.role === 'assistant'
      ? `${message.content ?? ''}${JSON.stringify(message.toolCalls ?? [])}`
      : message.content;
  return 4 + Math.ceil(text.length / 4);
}

/** The scripted model. */
export class ScriptedModel implements AgentModel {
  readonly #steps: ScriptStep[];
  readonly #contextSize: number;
  /** Messages of every chat call, in order. */
  readonly calls: ChatMessage[][] = [];
  /** Usage of every chat call, in order. */
  readonly usages: Usage[] = [];

  constructor(steps: ScriptStep[], options: { contextSize?: number } = {}) {
    this.#steps = [...steps];
    this.#contextSize = options.contextSize ?? 32_768;
  }

  countTokens(messages: ChatMessage[]): Promise<{ count: number; contextSize: number }> {
    return Promise.resolve({
      count: messages.reduce((sum, message) => sum + tokensOf(message), 0),
      contextSize: this.#contextSize,
    });
  }

  async chat(request: Parameters<AgentModel['chat']>[0]): Promise<AgentModelResult> {
    const { messages, signal, onEvent } = request;
    if (signal.aborted) throw new RpcError('cancelled');
    this.calls.push(structuredClone(messages));
    const step = this.#steps.shift();
    if (step === undefined) throw new Error('the script has no step left');
    const { count: promptTokens } = await this.countTokens(messages);
    let streamed = 0;
    const reply = await step({
      messages,
      signal,
      stream: (text) => {
        streamed += 1;
        onEvent({ kind: 'token', text, completionTokens: streamed });
      },
    });
    const toolCalls: ToolCall[] = (reply.toolCalls ?? []).map((call, index) => ({
      id: `call_${this.calls.length}_${index}`,
      name: call.name,
      arguments: call.arguments,
    }));
    if (reply.text !== undefined && streamed === 0) {
      onEvent({ kind: 'token', text: reply.text, completionTokens: 1 });
      streamed = 1;
    }
    for (const toolCall of toolCalls) onEvent({ kind: 'toolCall', toolCall });
    const completionTokens = streamed + 8 * toolCalls.length;
    const usage = {
      promptTokens,
      completionTokens,
      totalTokens: promptTokens + completionTokens,
      cost: (promptTokens + completionTokens) * 2,
    };
    this.usages.push(usage);
    return {
      message: { content: reply.text ?? null, toolCalls },
      toolCalls,
      usage,
      finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    };
  }
}

/** The agent model factory of a test: each session's `model` name picks its script. */
export class ScriptBook {
  readonly #scripts = new Map<string, ScriptedModel>();

  /** Registers a script under a model name and returns it. */
  add(model: string, script: ScriptedModel): ScriptedModel {
    this.#scripts.set(model, script);
    return script;
  }

  /** The factory for AppDeps.agent.createModel. */
  readonly createModel = ({ model }: { model: string }): AgentModel => {
    const script = this.#scripts.get(model);
    if (script === undefined) throw new Error(`no script for model ${model}`);
    return script;
  };
}
