// The agent's model in the browser tests: the scripted double of @cyber/api/testing, not the tiny real model.
// Issue 7 allows this one model double so the agent loop is deterministic; the real Gemma 3 270M base model
// never proposes a valid edit, so a browser test of "ask, see tool calls stream, accept a diff" needs it.
// Everything around the model stays real (gateway, agent loop, tools, files, reviewed edits, WebSocket, UI).
//
// One turn of the script: list the project's files, read the first one, propose the search-and-replace the
// user's message asks for (`replace "old" with "new"`), then answer in text after the tool results.
import type { ChatMessage } from '@cyber/contract';
import type { AgentModel } from '@cyber/api';
import { ScriptedModel, callTool, type ScriptStep } from '@cyber/api/testing';

/** How long each model call takes, so the UI shows the turn while its tool calls stream in. */
const STEP_DELAY_MS = 300;

/** The messages of the current turn: the last user message and what followed it. */
function currentTurn(messages: readonly ChatMessage[]): { ask: string; toolResults: string[] } {
  const start = messages.findLastIndex((message) => message.role === 'user');
  const ask = messages[start]?.content ?? '';
  const toolResults = messages
    .slice(start + 1)
    .flatMap((message) => (message.role === 'tool' ? [message.content] : []));
  return { ask, toolResults };
}

/** The first file of a listFiles result (`path (N bytes)` lines). */
function firstFile(listing: string): string {
  const match = /^(\S+) \(\d+ bytes\)$/m.exec(listing);
  if (match?.[1] === undefined) throw new Error(`no file in the listing:\n${listing}`);
  return match[1];
}

/** The edit the user asked for: `replace "old" with "new"`. */
function requestedReplace(ask: string): { search: string; replace: string } {
  const match = /replace "([^"]+)" with "([^"]*)"/i.exec(ask);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(`the e2e script understands only 'replace "old" with "new"', got: ${ask}`);
  }
  return { search: match[1], replace: match[2] };
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, STEP_DELAY_MS));

/** A step that waits {@link STEP_DELAY_MS} first, as a model takes time to generate. */
function slow(step: ScriptStep): ScriptStep {
  return async (call) => {
    await pause();
    return step(call);
  };
}

/** The steps of one turn. */
function editScript(): ScriptStep[] {
  return [
    slow(callTool('listFiles', {})),
    slow(({ messages }) => {
      const [listing = ''] = currentTurn(messages).toolResults;
      return { toolCalls: [{ name: 'readFile', arguments: { path: firstFile(listing) } }] };
    }),
    slow(({ messages }) => {
      const { ask, toolResults } = currentTurn(messages);
      const { search, replace } = requestedReplace(ask);
      const path = firstFile(toolResults[0] ?? '');
      return {
        toolCalls: [
          { name: 'proposeEdit', arguments: { operation: 'searchReplace', path, search, replace } },
        ],
      };
    }),
    slow(({ messages }) => {
      const { ask } = currentTurn(messages);
      const { search, replace } = requestedReplace(ask);
      return { text: `I proposed replacing "${search}" with "${replace}". Review the diff and accept it.` };
    }),
  ];
}

/** The agent model factory of the e2e stack: a fresh scripted model for every turn, whatever model is named. */
export function createE2eAgentModel(): AgentModel {
  return new ScriptedModel(editScript());
}
