// Keeping a session inside the model's context. Before each model call the prompt is counted with the model's
// own tokenizer (llm.countTokens) and, when prompt + generation + the tools' documentation would not fit, it is
// made smaller in steps, each announced by a visible note: first old tool results are shortened, then the oldest
// earlier turns are dropped (one summary line stays), then the current turn's older tool results are shortened.
// What still does not fit ends the turn with a clear message instead of a raw context error.
import type { ChatMessage, ToolDefinition } from '@cyber/contract';
import type { AgentModel } from './agent-model.js';

/** Characters a shortened tool result keeps. */
export const SHORTENED_RESULT_CHARS = 300;
/** Tokens kept free besides generation: chat-template and rounding slack. */
const SAFETY_TOKENS = 32;

/** The conversation of a turn: earlier turns (each a block of messages) and the current turn's messages. */
export interface AgentConversation {
  system: ChatMessage;
  /** Earlier turns, oldest first, each its own block so it can be dropped whole. */
  history: ChatMessage[][];
  /** Summary line standing in for dropped turns. */
  dropped: { turns: number; requests: string[] };
  /** The current turn: the user's message, then the steps. */
  current: ChatMessage[];
}

/** The messages the model gets. */
export function messagesOf(conversation: AgentConversation): ChatMessage[] {
  const summary: ChatMessage[] =
    conversation.dropped.turns === 0
      ? []
      : [
          {
            role: 'user',
            content:
              `[${conversation.dropped.turns} earlier turn(s) were removed to fit the model's context. ` +
              `They asked: ${conversation.dropped.requests.map((r) => JSON.stringify(r.slice(0, 80))).join('; ')}]`,
          },
          { role: 'assistant', content: 'Understood.' },
        ];
  return [conversation.system, ...summary, ...conversation.history.flat(), ...conversation.current];
}

/** Tokens the tools' documentation may take in the prompt (the template renders them; ~3 characters a token). */
export function toolsTokenEstimate(tools: readonly ToolDefinition[]): number {
  return tools.length === 0 ? 0 : Math.ceil(JSON.stringify(tools).length / 3);
}

function shorten(message: ChatMessage): boolean {
  if (message.role !== 'tool' || message.content.length <= SHORTENED_RESULT_CHARS) return false;
  message.content = `${message.content.slice(0, SHORTENED_RESULT_CHARS)}\n…[shortened to fit the model's context]`;
  return true;
}

/** What {@link fitContext} did. */
export interface FitOutcome {
  fits: boolean;
  promptTokens: number;
  contextSize: number;
  /** Notes for the user, one per kind of reduction made. */
  notes: string[];
}

/**
 * Makes the conversation fit `contextSize - maxTokens - toolsTokens - slack`, changing it in place.
 * `toolsTokens` is what the prompt takes besides the messages (the tools' documentation): estimated at first,
 * then measured from what llmserver reports.
 */
export async function fitContext(options: {
  conversation: AgentConversation;
  model: AgentModel;
  toolsTokens: number;
  maxTokens: number;
  signal: AbortSignal;
}): Promise<FitOutcome> {
  const { conversation, model, signal } = options;
  const notes: string[] = [];
  const reserve = options.maxTokens + options.toolsTokens + SAFETY_TOKENS;
  let counted = await model.countTokens(messagesOf(conversation), signal);
  const room = (): number => counted.contextSize - reserve;
  const recount = async (): Promise<void> => {
    counted = await model.countTokens(messagesOf(conversation), signal);
  };
  if (counted.count <= room())
    return { fits: true, promptTokens: counted.count, contextSize: counted.contextSize, notes };

  // 1. Tool results of earlier turns.
  let shortened = 0;
  for (const block of conversation.history) for (const message of block) if (shorten(message)) shortened += 1;
  if (shortened > 0) {
    notes.push(`Shortened ${shortened} tool result(s) of earlier turns to fit the model's context.`);
    await recount();
  }
  // 2. Earlier turns, oldest first.
  let dropped = 0;
  while (counted.count > room() && conversation.history.length > 0) {
    const block = conversation.history.shift() ?? [];
    const request = block.find((message) => message.role === 'user');
    conversation.dropped.turns += 1;
    if (request !== undefined && request.role === 'user') conversation.dropped.requests.push(request.content);
    dropped += 1;
    await recount();
  }
  if (dropped > 0) notes.push(`Removed ${dropped} earlier turn(s) from the model's view to fit its context.`);
  // 3. This turn's tool results, oldest first, keeping the newest whole as long as possible.
  let current = 0;
  const tools = conversation.current.filter((message) => message.role === 'tool');
  for (const message of tools) {
    if (counted.count <= room()) break;
    if (shorten(message)) {
      current += 1;
      await recount();
    }
  }
  if (current > 0) notes.push(`Shortened ${current} tool result(s) of this turn to fit the model's context.`);
  return {
    fits: counted.count <= room(),
    promptTokens: counted.count,
    contextSize: counted.contextSize,
    notes,
  };
}
