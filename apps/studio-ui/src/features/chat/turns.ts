// The conversation as the panel shows it: a list of turns, each the user's message and what came back (text,
// tool calls with their results, proposed edits, notes). Pure functions that fold the streamed events into a
// turn, so the component only keeps state and the logic is tested without a browser.
import type { AgentEvent, ChatMessage, EditProposal, TokenEvent, Usage } from '@cyber/contract';

/** One thing a turn produced, in the order it arrived. */
export type TurnItem =
  | { kind: 'text'; text: string }
  | {
      kind: 'tool';
      callId: string;
      tool: string;
      arguments: Record<string, unknown>;
      result: { ok: boolean; content: string; truncated: boolean } | undefined;
    }
  | { kind: 'edit'; edit: EditProposal }
  | { kind: 'note'; text: string };

/** Where a turn is. */
export type TurnStatus = 'waiting' | 'streaming' | 'done' | 'stopped' | 'failed';

/** One exchange: the user's message and the answer. */
export interface Turn {
  /** Local id (React key). */
  id: string;
  mode: 'chat' | 'agent';
  prompt: string;
  model: string;
  items: TurnItem[];
  status: TurnStatus;
  /** Position in the model's queue while waiting (1 = next). */
  queuePosition: number | undefined;
  usage: Usage | undefined;
  finishReason: string | undefined;
  error: string | undefined;
}

/** A new turn, waiting for its first event. */
export function startTurn(options: { id: string; mode: Turn['mode']; prompt: string; model: string }): Turn {
  return {
    ...options,
    items: [],
    status: 'waiting',
    queuePosition: undefined,
    usage: undefined,
    finishReason: undefined,
    error: undefined,
  };
}

/** Appends text, merging it into the last item when that is text too. */
function appendText(items: TurnItem[], text: string): TurnItem[] {
  if (text === '') return items;
  const last = items.at(-1);
  if (last?.kind === 'text') return [...items.slice(0, -1), { kind: 'text', text: last.text + text }];
  return [...items, { kind: 'text', text }];
}

/** Folds one `llm.token` notification into the turn. */
export function applyTokenEvent(turn: Turn, event: TokenEvent): Turn {
  switch (event.kind) {
    case 'queued':
      return { ...turn, status: 'waiting', queuePosition: event.position };
    case 'started':
      return { ...turn, status: 'streaming', queuePosition: undefined };
    case 'token':
      return {
        ...turn,
        status: 'streaming',
        queuePosition: undefined,
        items: appendText(turn.items, event.text),
      };
    case 'toolCall':
      return {
        ...turn,
        items: [
          ...turn.items,
          {
            kind: 'tool',
            callId: event.toolCall.id,
            tool: event.toolCall.name,
            arguments: event.toolCall.arguments,
            result: undefined,
          },
        ],
      };
  }
}

/** Folds one `agent.event` notification into the turn. */
export function applyAgentEvent(turn: Turn, event: AgentEvent): Turn {
  switch (event.kind) {
    case 'turnStarted':
      return { ...turn, status: 'streaming' };
    case 'textDelta':
      return { ...turn, status: 'streaming', items: appendText(turn.items, event.text) };
    case 'toolCall':
      return {
        ...turn,
        items: [
          ...turn.items,
          {
            kind: 'tool',
            callId: event.callId,
            tool: event.tool,
            arguments: event.arguments,
            result: undefined,
          },
        ],
      };
    case 'toolResult':
      return {
        ...turn,
        items: turn.items.map((item) =>
          item.kind === 'tool' && item.callId === event.callId
            ? { ...item, result: { ok: event.ok, content: event.content, truncated: event.truncated } }
            : item,
        ),
      };
    case 'edit':
      return { ...turn, items: upsertEdit(turn.items, event.edit) };
    case 'note':
      return { ...turn, items: [...turn.items, { kind: 'note', text: event.text }] };
    case 'final': {
      // The answer normally streamed as text deltas already, or was said in a note (a turn that stopped on an
      // error); show it only when it was not.
      const streamed = turn.items.some(
        (item) => item.kind === 'text' || (item.kind === 'note' && item.text === event.answer),
      );
      return finishTurn(streamed ? turn : { ...turn, items: appendText(turn.items, event.answer) }, {
        usage: event.usage,
        finishReason: event.finishReason,
      });
    }
  }
}

function upsertEdit(items: TurnItem[], edit: EditProposal): TurnItem[] {
  const index = items.findIndex((item) => item.kind === 'edit' && item.edit.id === edit.id);
  if (index === -1) return [...items, { kind: 'edit', edit }];
  return items.map((item, i) => (i === index ? { kind: 'edit', edit } : item));
}

/** Replaces edits (by id) with their decided versions, in every turn. */
export function updateEdits(turns: Turn[], edits: readonly EditProposal[]): Turn[] {
  const byId = new Map(edits.map((edit) => [edit.id, edit]));
  return turns.map((turn) => {
    if (!turn.items.some((item) => item.kind === 'edit' && byId.has(item.edit.id))) return turn;
    return {
      ...turn,
      items: turn.items.map((item) => {
        if (item.kind !== 'edit') return item;
        const next = byId.get(item.edit.id);
        return next === undefined ? item : { kind: 'edit', edit: next };
      }),
    };
  });
}

/** Paths whose content an applied edit changed on the server (deleted files are not among them). */
export function changedFiles(edits: readonly EditProposal[]): string[] {
  const paths = edits
    .filter((edit) => edit.status === 'applied' && edit.operation !== 'delete')
    .map((edit) => edit.path);
  return [...new Set(paths)];
}

/** Marks a turn finished with the server's usage. */
export function finishTurn(turn: Turn, outcome: { usage: Usage; finishReason: string }): Turn {
  return {
    ...turn,
    status: outcome.finishReason === 'cancelled' ? 'stopped' : 'done',
    queuePosition: undefined,
    usage: outcome.usage,
    finishReason: outcome.finishReason,
  };
}

/** Marks a turn stopped by the user or failed with a message. */
export function failTurn(turn: Turn, options: { stopped: boolean; error?: string }): Turn {
  return {
    ...turn,
    status: options.stopped ? 'stopped' : 'failed',
    queuePosition: undefined,
    error: options.error,
  };
}

/** The text of a turn's answer (its text items joined). */
export function answerText(turn: Turn): string {
  return turn.items
    .filter((item): item is Extract<TurnItem, { kind: 'text' }> => item.kind === 'text')
    .map((item) => item.text)
    .join('');
}

/**
 * The chat history to send with the next message: the finished plain-chat turns as user/assistant pairs.
 * Failed turns are left out (the model never answered them); stopped turns keep what was generated.
 */
export function historyMessages(turns: readonly Turn[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const turn of turns) {
    if (turn.mode !== 'chat' || turn.status === 'failed' || turn.status === 'waiting') continue;
    messages.push({ role: 'user', content: turn.prompt });
    messages.push({ role: 'assistant', content: answerText(turn) });
  }
  return messages;
}

/** Sum of the usage of the turns that reported one. */
export function totalUsage(turns: readonly Turn[]): Usage {
  const total: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, cost: 0 };
  for (const turn of turns) {
    if (turn.usage === undefined) continue;
    total.promptTokens += turn.usage.promptTokens;
    total.completionTokens += turn.usage.completionTokens;
    total.totalTokens += turn.usage.totalTokens;
    total.cost += turn.usage.cost;
  }
  return total;
}
