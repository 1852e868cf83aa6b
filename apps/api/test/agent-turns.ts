// What the agent tests do on top of the stack: make a fresh project, and run one agent.chat turn over a
// WebSocket collecting the events it streams.
import { randomBytes } from 'node:crypto';
import type { AgentEvent, Contract, EditProposal } from '@cyber/contract';
import type { WsClient } from '@cyber/rpc-client';
import type { LlmTestUser } from '../../llmserver/test/llm-harness.js';
import type { AgentStack } from './agent-stack.js';

/** The result of agent.chat. */
export interface TurnResult {
  sessionId: string;
  turnId: string;
  answer: string;
  finishReason: string;
  steps: number;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; cost: number };
  pendingEdits: EditProposal[];
}

/** A turn's result and every event it streamed, in order. */
export interface Turn {
  result: TurnResult;
  events: AgentEvent[];
}

/** Called with each streamed event and the client the turn runs on (e.g. to cancel or decide mid-turn). */
export type TurnListener = (event: AgentEvent, client: WsClient<Contract>) => void;

/** Creates a project of `user` from `template` under a random name; returns its id. */
export async function newAgentProject(
  stack: AgentStack,
  user: LlmTestUser,
  template = 'python',
): Promise<string> {
  const { id } = await stack.call<{ id: string }>(
    'project.create',
    { name: `agent-${randomBytes(3).toString('hex')}`, template },
    user,
  );
  return id;
}

/** Runs agent.chat as `user` over a new WebSocket (closed after), collecting the streamed events. */
export async function chatTurn(
  stack: AgentStack,
  user: LlmTestUser,
  params: Record<string, unknown>,
  onEvent: TurnListener = () => undefined,
): Promise<Turn> {
  const client = await stack.ws(user);
  const events: AgentEvent[] = [];
  try {
    const result = (await client.call('agent.chat', params as never, {
      onNotification: (event: AgentEvent) => {
        events.push(event);
        onEvent(event, client);
      },
    })) as TurnResult;
    return { result, events };
  } finally {
    client.close();
  }
}
