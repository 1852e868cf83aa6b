// OpenAI request bodies (chat/completions, completions, embeddings) and their translation to the contract's
// llm.chat / llm.complete params. Unknown fields are ignored (OpenAI clients send many); a known field of the
// wrong type, and anything the server cannot honour, is refused as invalid_params naming the OpenAI `param`.
// The translated params are parsed with the contract's own schemas, so its limits and defaults apply exactly as
// over JSON-RPC, and its complaints are reported under the OpenAI field names.
import { contract, RpcError, type ChatMessage, type ToolCall } from '@cyber/contract';
import { z } from 'zod';
import type { ChatParams, CompleteParams, EmbedParams } from '../inference/inference-types.js';

/** Tokens a legacy completion generates when the request names no `max_tokens` (OpenAI's documented default). */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

const Content = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);
const Stop = z.union([z.string(), z.array(z.string())]).nullish();
const StreamOptions = z.looseObject({ include_usage: z.boolean().nullish() }).nullish();

const RequestToolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const Message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: Content }),
  z.looseObject({ role: z.literal('developer'), content: Content }),
  z.looseObject({ role: z.literal('user'), content: Content }),
  z.looseObject({
    role: z.literal('assistant'),
    content: Content.nullish(),
    tool_calls: z.array(RequestToolCall).nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content: Content }),
]);

/** Sampling fields chat and completions share. */
const samplingFields = {
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
};

/** Body of `POST /v1/chat/completions` (the fields this server reads). */
export const ChatCompletionRequest = z.looseObject({
  model: z.string(),
  messages: z.array(Message).min(1),
  max_tokens: z.number().int().nullish(),
  max_completion_tokens: z.number().int().nullish(),
  ...samplingFields,
  stop: Stop,
  n: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
  logprobs: z.boolean().nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.literal('function'),
        function: z.looseObject({
          name: z.string(),
          description: z.string().nullish(),
          parameters: z.record(z.string(), z.unknown()).nullish(),
        }),
      }),
    )
    .nullish(),
  tool_choice: z
    .union([
      z.enum(['auto', 'none', 'required']),
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
    ])
    .nullish(),
  response_format: z
    .discriminatedUnion('type', [
      z.looseObject({ type: z.literal('text') }),
      z.looseObject({ type: z.literal('json_object') }),
      z.looseObject({
        type: z.literal('json_schema'),
        json_schema: z.looseObject({
          name: z.string(),
          schema: z.record(z.string(), z.unknown()).nullish(),
        }),
      }),
    ])
    .nullish(),
});
/** Chat completion request type. */
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** Body of `POST /v1/completions` (the fields this server reads). */
export const CompletionRequest = z.looseObject({
  model: z.string(),
  prompt: z.union([z.string(), z.array(z.unknown())]),
  max_tokens: z.number().int().nullish(),
  ...samplingFields,
  stop: Stop,
  n: z.number().int().nullish(),
  best_of: z.number().int().nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: z.number().int().nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptions,
});
/** Completion request type. */
export type CompletionRequest = z.infer<typeof CompletionRequest>;

/** Body of `POST /v1/embeddings` (the fields this server reads). */
export const EmbeddingRequest = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.unknown())]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().nullish(),
});
/** Embedding request type. */
export type EmbeddingRequest = z.infer<typeof EmbeddingRequest>;

/**
 * Parses a request body with one of the schemas above.
 * @throws RpcError `invalid_params` whose `data.param` names the first bad field as OpenAI would.
 */
export function parseOpenAiBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('The request body must be a JSON object.', null);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue ? formatParam(issue.path) : null;
  throw invalid(`Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'invalid input'}.`, param);
}

/** Translates a chat completion request to llm.chat params (contract defaults applied). */
export function toChatParams(body: ChatCompletionRequest): ChatParams {
  refuseUnsupported(body);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const input = {
    model: body.model,
    messages: body.messages.map((message, index) => toContractMessage(message, index)),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...stopOf(body.stop),
    ...samplingOf(body),
    ...(body.response_format ? { responseFormat: toResponseFormat(body.response_format) } : {}),
    ...(body.tools
      ? {
          tools: body.tools.map((tool) => ({
            name: tool.function.name,
            ...(tool.function.description != null ? { description: tool.function.description } : {}),
            parameters: tool.function.parameters ?? { type: 'object', properties: {} },
          })),
        }
      : {}),
    ...(body.tool_choice != null
      ? {
          toolChoice:
            typeof body.tool_choice === 'string'
              ? body.tool_choice
              : { name: body.tool_choice.function.name },
        }
      : {}),
  };
  const maxTokensParam = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  return parseContract(contract['llm.chat'].params, input, maxTokensParam);
}

/** Translates a legacy completion request to llm.complete params (contract defaults applied). */
export function toCompleteParams(body: CompletionRequest): CompleteParams {
  refuseUnsupported(body);
  if ((body.best_of ?? 1) !== 1) throw invalid('Only best_of=1 is supported.', 'best_of');
  if (body.echo === true) throw invalid('echo is not supported.', 'echo');
  if (body.suffix != null && body.suffix !== '') throw invalid('suffix is not supported.', 'suffix');
  const input = {
    model: body.model,
    prompt: singlePrompt(body.prompt),
    maxTokens: body.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS,
    ...stopOf(body.stop),
    ...samplingOf(body),
  };
  return parseContract(contract['llm.complete'].params, input, 'max_tokens');
}

/** Translates an embeddings request; `base64` tells the caller to encode the vectors as OpenAI does. */
export function toEmbedParams(body: EmbeddingRequest): { params: EmbedParams; base64: boolean } {
  if (body.dimensions != null) throw invalid('dimensions is not supported.', 'dimensions');
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (input.length === 0) throw invalid("'input' must not be empty.", 'input');
  const texts = input.map((item, index) => {
    if (typeof item !== 'string') {
      throw invalid('Token-id inputs are not supported; send text.', `input[${index}]`);
    }
    return item;
  });
  return {
    params: { model: body.model, input: texts },
    base64: body.encoding_format === 'base64',
  };
}

function refuseUnsupported(body: { n?: number | null; logprobs?: unknown }): void {
  if ((body.n ?? 1) !== 1) throw invalid('Only n=1 is supported.', 'n');
  if (body.logprobs != null && body.logprobs !== false) {
    throw invalid('logprobs are not supported.', 'logprobs');
  }
}

function singlePrompt(prompt: CompletionRequest['prompt']): string {
  if (typeof prompt === 'string') return prompt;
  if (prompt.length !== 1) throw invalid('Exactly one prompt is supported.', 'prompt');
  const [only] = prompt;
  if (typeof only !== 'string') throw invalid('Token-id prompts are not supported; send text.', 'prompt');
  return only;
}

function stopOf(stop: ChatCompletionRequest['stop']): { stop?: string[] } {
  if (stop == null) return {};
  return { stop: typeof stop === 'string' ? [stop] : stop };
}

function samplingOf(body: {
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
}): { sampling?: Record<string, number> } {
  const sampling: Record<string, number> = {};
  if (body.temperature != null) sampling.temperature = body.temperature;
  if (body.top_p != null) sampling.topP = body.top_p;
  if (body.seed != null) sampling.seed = body.seed;
  if (body.presence_penalty != null) sampling.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) sampling.frequencyPenalty = body.frequency_penalty;
  return Object.keys(sampling).length > 0 ? { sampling } : {};
}

function toResponseFormat(
  format: NonNullable<ChatCompletionRequest['response_format']>,
): Record<string, unknown> {
  switch (format.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      // A json_schema without a schema asks only for JSON.
      return format.json_schema.schema == null
        ? { type: 'json_object' }
        : { type: 'json_schema', schema: format.json_schema.schema };
  }
}

type RequestMessage = ChatCompletionRequest['messages'][number];

function toContractMessage(message: RequestMessage, index: number): ChatMessage {
  const param = `messages[${index}]`;
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(message.content, `${param}.content`) };
    case 'user':
      return { role: 'user', content: textOf(message.content, `${param}.content`) };
    case 'tool':
      return {
        role: 'tool',
        toolCallId: message.tool_call_id,
        content: textOf(message.content, `${param}.content`),
      };
    case 'assistant': {
      const content = message.content == null ? null : textOf(message.content, `${param}.content`);
      const calls = message.tool_calls ?? [];
      return {
        role: 'assistant',
        content,
        ...(calls.length > 0
          ? { toolCalls: calls.map((call, j) => toContractToolCall(call, `${param}.tool_calls[${j}]`)) }
          : {}),
      };
    }
  }
}

function toContractToolCall(call: z.infer<typeof RequestToolCall>, param: string): ToolCall {
  let args: unknown;
  try {
    args = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments);
  } catch {
    throw invalid(
      'Tool call arguments must be a JSON object encoded as a string.',
      `${param}.function.arguments`,
    );
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw invalid(
      'Tool call arguments must be a JSON object encoded as a string.',
      `${param}.function.arguments`,
    );
  }
  return { id: call.id, name: call.function.name, arguments: args as Record<string, unknown> };
}

/** The text of a message: a string, or its text parts joined by newlines; any other part is refused. */
function textOf(content: z.infer<typeof Content>, param: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      if (part.type === 'text')
        throw invalid("A text part needs a string 'text'.", `${param}[${index}].text`);
      if (part.type === 'image_url' || part.type === 'input_image') {
        throw invalid(
          'Image inputs are not supported: the models served here read text only.',
          `${param}[${index}]`,
        );
      }
      throw invalid(
        `Content parts of type '${part.type}' are not supported; send text.`,
        `${param}[${index}]`,
      );
    })
    .join('\n');
}

function parseContract<S extends z.ZodType>(schema: S, input: unknown, maxTokensParam: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue ? openAiParamOf(issue.path, maxTokensParam) : null;
  throw invalid(`Invalid value for '${param ?? 'body'}': ${issue?.message ?? 'invalid input'}.`, param);
}

const SAMPLING_PARAMS: Record<string, string> = {
  temperature: 'temperature',
  topP: 'top_p',
  seed: 'seed',
  presencePenalty: 'presence_penalty',
  frequencyPenalty: 'frequency_penalty',
};

/** Where a contract issue sits in the OpenAI request, e.g. `['tools', 0, 'name']` -> `tools[0].function.name`. */
export function openAiParamOf(path: readonly PropertyKey[], maxTokensParam = 'max_tokens'): string | null {
  const [head, ...rest] = path;
  switch (head) {
    case undefined:
      return null;
    case 'maxTokens':
      return maxTokensParam;
    case 'sampling':
      return typeof rest[0] === 'string' ? (SAMPLING_PARAMS[rest[0]] ?? rest[0]) : 'sampling';
    case 'responseFormat':
      return rest[0] === 'schema' ? 'response_format.json_schema.schema' : 'response_format';
    case 'toolChoice':
      return 'tool_choice';
    case 'tools':
      return typeof rest[0] === 'number'
        ? `tools[${rest[0]}].function${rest[1] === undefined ? '' : `.${String(rest[1])}`}`
        : 'tools';
    case 'messages':
      return formatParam(['messages', ...rest.map(messageSegment)]);
    default:
      return formatParam(path);
  }
}

function messageSegment(segment: PropertyKey): PropertyKey {
  if (segment === 'toolCalls') return 'tool_calls';
  if (segment === 'toolCallId') return 'tool_call_id';
  if (segment === 'name') return 'function.name';
  if (segment === 'arguments') return 'function.arguments';
  return segment;
}

/** `['messages', 0, 'content']` -> `messages[0].content`. */
function formatParam(path: readonly PropertyKey[]): string | null {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `${out === '' ? '' : '.'}${String(segment)}`;
  }
  return out === '' ? null : out;
}

function invalid(message: string, param: string | null): RpcError {
  return new RpcError('invalid_params', { message, data: { param } });
}
