// Chat messages and tools in the contract's shape, turned into node-llama-cpp's chat history and functions.
// node-llama-cpp keeps a tool round trip inside one model turn: the text, the call with its result, and the
// text after it are items of the same response, and generation continues that turn after a result.
import { RpcError } from '@cyber/contract';
import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelFunctions,
  GbnfJsonSchema,
} from 'node-llama-cpp';
import { assertGrammarSchema } from './json-schema.js';

/** A call the model made to a tool (the contract's `ToolCall`). */
export interface LlmToolCall {
  /** `call_` plus random characters; tool results refer back to it. */
  id: string;
  name: string;
  /** Parsed from the model's JSON, valid against the tool's parameter schema. */
  arguments: Record<string, unknown>;
}

/** A tool the model may call (the contract's `ToolDefinition`). */
export interface LlmToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments, in the subset node-llama-cpp enforces with a grammar. */
  parameters: Record<string, unknown>;
}

/** Whether the model may (`auto`), may not (`none`) or must (`required`) call a tool, or which one. */
export type LlmToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** A chat message (structurally the contract's `ChatMessage`). */
export type LlmMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: readonly LlmToolCall[] | undefined }
  | { role: 'tool'; toolCallId: string; content: string };

/** The functions offered to the model for one request. */
export interface FunctionPlan {
  /** Offered functions; undefined when none are (no tools, or toolChoice `none`). */
  functions: ChatModelFunctions | undefined;
  /** The model must call one of them (toolChoice `required` or a name). */
  forced: boolean;
}

/**
 * Turns messages into node-llama-cpp's chat history, ending with the model turn to generate: a new empty one,
 * or, after tool results, the turn that made the calls.
 * @throws RpcError `invalid_params` for a tool message that answers no earlier call, or a call left unanswered.
 */
export function toChatHistory(messages: readonly LlmMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  // Calls of the latest assistant message still waiting for their results, by id.
  let pending = new Map<string, ChatModelFunctionCall>();
  let afterToolResults = false;
  const openTurn = (): Extract<ChatHistoryItem, { type: 'model' }> | undefined => {
    const last = history.at(-1);
    return afterToolResults && last?.type === 'model' ? last : undefined;
  };
  const requireAnswered = (): void => {
    const [id] = pending.keys();
    if (id !== undefined) {
      throw new RpcError('invalid_params', {
        message: `Tool call ${id} has no tool message with its result`,
        data: { toolCallId: id },
      });
    }
  };

  for (const [index, message] of messages.entries()) {
    if (message.role !== 'tool') requireAnswered();
    switch (message.role) {
      case 'system':
        history.push({ type: 'system', text: message.content });
        afterToolResults = false;
        break;
      case 'user':
        history.push({ type: 'user', text: message.content });
        afterToolResults = false;
        break;
      case 'assistant': {
        const response: (string | ChatModelFunctionCall)[] = [];
        if (message.content) response.push(message.content);
        pending = new Map();
        for (const [i, call] of (message.toolCalls ?? []).entries()) {
          const item: ChatModelFunctionCall = {
            type: 'functionCall',
            name: call.name,
            params: call.arguments,
            result: undefined,
            ...(i === 0 ? { startsNewChunk: true } : {}),
          };
          pending.set(call.id, item);
          response.push(item);
        }
        const turn = openTurn();
        if (turn) turn.response.push(...response);
        else history.push({ type: 'model', response });
        afterToolResults = false;
        break;
      }
      case 'tool': {
        const call = pending.get(message.toolCallId);
        if (!call) {
          throw new RpcError('invalid_params', {
            message: `messages[${index}] answers tool call ${message.toolCallId}, which the assistant message before it did not make`,
            data: { toolCallId: message.toolCallId },
          });
        }
        call.result = parseResult(message.content);
        pending.delete(message.toolCallId);
        afterToolResults = true;
        break;
      }
    }
  }
  requireAnswered();
  if (!openTurn()) history.push({ type: 'model', response: [] });
  return history;
}

/**
 * Decides which functions the model sees. `none` offers none; a name offers only that tool and forces a call
 * to it; `required` offers all and forces a call to one of them; `auto` offers all and lets the model choose.
 * @throws RpcError `invalid_params` for a tool choice naming no given tool, or parameters the grammar cannot
 * enforce.
 */
export function planFunctions(
  tools: readonly LlmToolDefinition[] | undefined,
  toolChoice: LlmToolChoice | undefined,
): FunctionPlan {
  const choice = toolChoice ?? 'auto';
  const given = tools ?? [];
  if (choice === 'none' || given.length === 0) {
    if (choice !== 'none' && choice !== 'auto') {
      throw new RpcError('invalid_params', {
        message: 'toolChoice needs tools',
        data: { toolChoice: choice },
      });
    }
    return { functions: undefined, forced: false };
  }
  let offered = given;
  if (typeof choice === 'object') {
    offered = given.filter((tool) => tool.name === choice.name);
    if (offered.length === 0) {
      throw new RpcError('invalid_params', {
        message: `toolChoice names ${choice.name}, which is not among the tools`,
        data: { toolChoice: choice.name },
      });
    }
  }
  const functions: Record<string, { description?: string; params: GbnfJsonSchema }> = {};
  for (const tool of offered) {
    if (tool.parameters['type'] !== 'object') {
      throw new RpcError('invalid_params', {
        message: `Parameters of tool ${tool.name} must be a JSON Schema of type object`,
        data: { tool: tool.name },
      });
    }
    assertGrammarSchema(tool.parameters, `Parameters of tool ${tool.name}`);
    functions[tool.name] = {
      ...(tool.description ? { description: tool.description } : {}),
      params: tool.parameters as GbnfJsonSchema,
    };
  }
  return { functions, forced: choice !== 'auto' };
}

/** A tool result that is JSON renders as JSON; anything else as the text it is. */
function parseResult(content: string): unknown {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return content;
  }
}
