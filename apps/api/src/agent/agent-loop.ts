// The agent loop of one turn: fit the conversation into the model's context, call the model with the tools,
// run the tools it called, feed the results back, until it answers without a tool call or reaches maxSteps.
// Every event is emitted through the live turn (numbered, streamed, stored). How it ends is one `final` event:
// answered, stepLimit, cancelled (agent.cancel: the generation and any run stop at once, the usage of the cut
// step is still counted), budgetExceeded (llmserver refused the next call: a typed note, nothing of that step
// written), or error (a message the user can read, never a raw context error).
import { isRpcError, type AgentEvent, type ChatMessage, type ToolCall, type Usage } from '@cyber/contract';
import { fitContext, messagesOf, toolsTokenEstimate, type AgentConversation } from './agent-context.js';
import type { AgentModel, AgentModelResult } from './agent-model.js';
import type { StoredAgentEvent, UsageSum } from './agent.repository.js';
import { AGENT_TOOL_DEFINITIONS, isAgentTool, runTool, type AgentToolContext } from './agent-tools.js';
import type { LiveTurn } from './live-turn.js';

/** The system prompt of every session. */
export const AGENT_SYSTEM_PROMPT =
  "You are the coding agent of CyberDevStudio, working in the user's project. Use the tools to look at files " +
  '(listFiles, readFile, searchProject), to change them (proposeEdit: the user reviews each change) and to run ' +
  'code in the sandbox (runCommand). When you are done, answer the user in plain text without calling a tool.';

/** How the turn ended. */
export interface TurnOutcome {
  answer: string;
  finishReason: Extract<AgentEvent, { kind: 'final' }>['finishReason'];
  steps: number;
  usage: Usage;
}

/** What one turn needs. */
export interface AgentLoopOptions {
  turn: LiveTurn;
  model: AgentModel;
  message: string;
  /** Events of the session's earlier turns (rebuilt into the conversation). */
  history: readonly StoredAgentEvent[];
  /** Earlier turns' user messages, by turn id. */
  historyMessages: ReadonlyMap<string, string>;
  maxSteps: number;
  /** Most tokens the model generates per step. */
  maxTokensPerStep: number;
  tools: Omit<AgentToolContext, 'signal'>;
  /** Records a step's usage (turn row) as soon as it is known. */
  onStepUsage: (usage: UsageSum, usageEventId: string | undefined) => Promise<void>;
}

/** Rebuilds earlier turns as chat messages, one block per turn. */
export function historyBlocks(
  events: readonly StoredAgentEvent[],
  messages: ReadonlyMap<string, string>,
): ChatMessage[][] {
  const blocks = new Map<string, ChatMessage[]>();
  // A result whose call was never shown (an unknown tool) has no call message to answer: left out.
  const called = new Set<string>();
  for (const { turnId, event } of events) {
    let block = blocks.get(turnId);
    if (block === undefined) {
      block = [{ role: 'user', content: messages.get(turnId) ?? '' }];
      blocks.set(turnId, block);
    }
    if (event.kind === 'toolCall') {
      called.add(event.callId);
      block.push({
        role: 'assistant',
        content: null,
        toolCalls: [{ id: event.callId, name: event.tool, arguments: event.arguments }],
      });
    } else if (event.kind === 'toolResult' && called.has(event.callId)) {
      block.push({ role: 'tool', toolCallId: event.callId, content: event.content });
    } else if (event.kind === 'final' && event.answer !== '') {
      block.push({ role: 'assistant', content: event.answer });
    }
  }
  return [...blocks.values()];
}

function addUsage(total: Usage, step: Usage): void {
  total.promptTokens += step.promptTokens;
  total.completionTokens += step.completionTokens;
  total.totalTokens += step.totalTokens;
  total.cost += step.cost;
}

/** `promptTokens` of a context_too_long error's data (0 when absent). */
function promptTokensOf(data: unknown): number {
  if (
    typeof data === 'object' &&
    data !== null &&
    'promptTokens' in data &&
    typeof data.promptTokens === 'number'
  ) {
    return data.promptTokens;
  }
  return 0;
}

/** Runs one turn to its end; never throws for the model's or the tools' failures (they end the turn). */
export async function runAgentTurn(options: AgentLoopOptions): Promise<TurnOutcome> {
  const { turn, model } = options;
  const signal = turn.signal;
  const usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 };
  const conversation: AgentConversation = {
    system: { role: 'system', content: AGENT_SYSTEM_PROMPT },
    history: historyBlocks(options.history, options.historyMessages),
    dropped: { turns: 0, requests: [] },
    current: [{ role: 'user', content: options.message }],
  };
  const tools = AGENT_TOOL_DEFINITIONS;
  const toolContext: AgentToolContext = { ...options.tools, signal };
  let steps = 0;
  // Prompt tokens besides the messages (the tools' documentation): estimated, then measured from llmserver.
  let toolsTokens = toolsTokenEstimate(tools);
  let refusals = 0;
  const tooSmall = (contextSize: number): string =>
    `This turn no longer fits the model's context (${contextSize} tokens; the tools' documentation takes about ` +
    `${toolsTokens} of them) even after shortening: start a new session, ask for a smaller step or use a model ` +
    'with a larger context.';
  const end = (finishReason: TurnOutcome['finishReason'], answer: string): TurnOutcome => ({
    answer,
    finishReason,
    steps,
    usage,
  });

  try {
    while (steps < options.maxSteps) {
      const fit = await fitContext({
        conversation,
        model,
        toolsTokens,
        maxTokens: options.maxTokensPerStep,
        signal,
      });
      for (const text of fit.notes) turn.emit({ kind: 'note', text });
      if (!fit.fits) {
        const text = tooSmall(fit.contextSize);
        turn.emit({ kind: 'note', text });
        return end('error', text);
      }

      let result: AgentModelResult;
      try {
        steps += 1;
        result = await model.chat({
          messages: messagesOf(conversation),
          tools,
          signal,
          onEvent: (event) => {
            if (event.kind === 'token' && event.text !== '')
              turn.emit({ kind: 'textDelta', text: event.text });
          },
          maxTokens: options.maxTokensPerStep,
          step: steps,
        });
      } catch (error) {
        // The count and the server disagreed (the tools' documentation is longer than estimated): learn its
        // real size from the refusal and fit again (twice at most per turn); never a raw context error.
        if (isRpcError(error, 'context_too_long')) {
          steps -= 1;
          const measured = promptTokensOf(error.data) - fit.promptTokens;
          toolsTokens = Math.max(toolsTokens + 1, measured);
          refusals += 1;
          if (refusals <= 2) continue;
          const text = tooSmall(fit.contextSize);
          turn.emit({ kind: 'note', text });
          return end('error', text);
        }
        throw error;
      }
      addUsage(usage, result.usage);
      await options.onStepUsage(
        {
          promptTokens: result.usage.promptTokens,
          completionTokens: result.usage.completionTokens,
          cost: result.usage.cost,
        },
        result.usageEventId,
      );
      if (signal.aborted || result.finishReason === 'cancelled')
        return end('cancelled', result.message.content ?? '');

      const calls = result.toolCalls;
      if (calls.length === 0) return end('answered', result.message.content ?? '');
      conversation.current.push({ role: 'assistant', content: result.message.content, toolCalls: calls });
      for (const call of calls) {
        await callTool(call, turn, toolContext, conversation);
        if (signal.aborted) return end('cancelled', '');
      }
    }
    const text = `Stopped after ${options.maxSteps} model calls (the step limit of this turn).`;
    turn.emit({ kind: 'note', text });
    return end('stepLimit', text);
  } catch (error) {
    if (signal.aborted || isRpcError(error, 'cancelled')) return end('cancelled', '');
    if (isRpcError(error, 'budget_exceeded')) {
      const text = `Your token budget is exhausted: the agent stopped before step ${steps}; nothing of that step was written.`;
      turn.emit({ kind: 'note', text });
      return end('budgetExceeded', text);
    }
    if (isRpcError(error)) {
      const text = `The agent stopped: ${error.message} (${error.key}).`;
      turn.emit({ kind: 'note', text });
      return end('error', text);
    }
    throw error;
  }
}

async function callTool(
  call: ToolCall,
  turn: LiveTurn,
  ctx: AgentToolContext,
  conversation: AgentConversation,
): Promise<void> {
  const callId = call.id.slice(0, 64);
  if (!isAgentTool(call.name)) {
    const content = `Error: unknown tool ${JSON.stringify(call.name)}`;
    turn.emit({ kind: 'toolResult', callId, ok: false, content, truncated: false });
    conversation.current.push({ role: 'tool', toolCallId: callId, content });
    return;
  }
  turn.emit({ kind: 'toolCall', callId, tool: call.name, arguments: call.arguments });
  const outcome = await runTool(call.name, call.arguments, ctx);
  turn.emit({ kind: 'toolResult', callId, ...outcome });
  conversation.current.push({ role: 'tool', toolCallId: callId, content: outcome.content });
}
