import { z } from 'zod';
import { defineMethod } from '../define-method.js';
import { Count, ModelName, Usage } from '../schemas/common.js';

/** Longest single message or prompt, in characters (the model's context is checked in tokens by the server). */
export const MAX_PROMPT_LENGTH = 1_000_000;
/** Most tokens one request may ask to generate. */
export const MAX_COMPLETION_TOKENS = 131_072;

const Text = z.string().max(MAX_PROMPT_LENGTH);

/** A tool (function) name the model may call. */
export const ToolName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/)
  .describe('Function name, 1..64 of letters, digits, _ and -.');

/** A JSON Schema document, passed through to the model's grammar; the server checks it compiles. */
export const JsonSchemaObject = z.record(z.string(), z.unknown()).describe('A JSON Schema object.');

/** A call the model made to a tool. */
export const ToolCall = z.object({
  id: z.string().min(1).max(64).describe('Id the tool result refers back to.'),
  name: ToolName,
  arguments: z.record(z.string(), z.unknown()).describe('Arguments, parsed from the model’s JSON.'),
});
/** Tool call type. */
export type ToolCall = z.infer<typeof ToolCall>;

/** One message of a chat. */
export const ChatMessage = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: Text }),
  z.strictObject({ role: z.literal('user'), content: Text }),
  z.strictObject({
    role: z.literal('assistant'),
    content: Text.nullable().describe('Text; null when the message only calls tools.'),
    toolCalls: z.array(ToolCall).max(64).optional(),
  }),
  z.strictObject({
    role: z.literal('tool'),
    toolCallId: z.string().min(1).max(64),
    content: Text.describe('The tool’s result, usually JSON.'),
  }),
]);
/** Chat message type. */
export type ChatMessage = z.infer<typeof ChatMessage>;

/** A tool the model may call. */
export const ToolDefinition = z.strictObject({
  name: ToolName,
  description: z.string().max(2000).default(''),
  parameters: JsonSchemaObject.describe('JSON Schema of the arguments.'),
});
/** Tool definition type. */
export type ToolDefinition = z.infer<typeof ToolDefinition>;

/** Sampling options; omitted ones take the model's defaults. */
export const Sampling = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.number().int().min(0).max(1000).optional().describe('0 disables top-k.'),
  minP: z.number().min(0).max(1).optional(),
  repeatPenalty: z.number().min(0).max(2).optional(),
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).optional().describe('Fixed seed for reproducible output.'),
});
/** Sampling options type. */
export type Sampling = z.infer<typeof Sampling>;

/** Output format: free text, any JSON, or JSON matching a schema (grammar-constrained). */
export const ResponseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({ type: z.literal('json_schema'), schema: JsonSchemaObject }),
]);
/** Response format type. */
export type ResponseFormat = z.infer<typeof ResponseFormat>;

/** Why generation stopped. */
export const FinishReason = z
  .enum(['stop', 'length', 'tool_calls', 'cancelled'])
  .describe('stop: end of text or a stop sequence; length: maxTokens; tool_calls: the model called tools.');
/** Finish reason type. */
export type FinishReason = z.infer<typeof FinishReason>;

const generationParams = {
  model: ModelName,
  maxTokens: z
    .number()
    .int()
    .min(1)
    .max(MAX_COMPLETION_TOKENS)
    .default(512)
    .describe('Most tokens to generate; prompt + maxTokens must fit the context (else context_too_long).'),
  stop: z.array(z.string().min(1).max(256)).max(16).default([]).describe('Stop sequences.'),
  sampling: Sampling.optional(),
  responseFormat: ResponseFormat.default({ type: 'text' }),
};

/** A token-stream notification: queue position while waiting, then text deltas, then tool calls. */
export const TokenEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('queued'),
    position: z.number().int().positive().describe('1 = next to get a sequence.'),
  }),
  z.object({ kind: z.literal('started'), promptTokens: Count }),
  z.object({
    kind: z.literal('token'),
    text: z.string().describe('Text generated since the previous notification.'),
    completionTokens: Count.describe('Tokens generated so far.'),
  }),
  z.object({ kind: z.literal('toolCall'), toolCall: ToolCall }),
]);
/** Token event type. */
export type TokenEvent = z.infer<typeof TokenEvent>;

const generationResult = {
  id: z.uuid().describe('Id of the usage event this call produced.'),
  model: ModelName,
  finishReason: FinishReason,
  usage: Usage,
  queuedMs: Count.describe('Time spent waiting for a sequence.'),
  durationMs: Count.describe('Time from start of generation to the end.'),
};

/** Metered inference on loaded models. */
export const llmMethods = {
  'llm.chat': defineMethod({
    description:
      'Chat completion with sampling, stop sequences, JSON-schema output and tool calling; streams llm.token.',
    access: 'developer',
    params: z
      .strictObject({
        ...generationParams,
        messages: z.array(ChatMessage).min(1).max(1000),
        tools: z.array(ToolDefinition).max(128).default([]),
        toolChoice: z
          .union([z.enum(['auto', 'none', 'required']), z.strictObject({ name: ToolName })])
          .default('auto')
          .describe('Whether the model may, may not or must call a tool, or which one.'),
      })
      .refine((p) => p.toolChoice === 'auto' || p.toolChoice === 'none' || p.tools.length > 0, {
        message: 'toolChoice needs tools',
        path: ['toolChoice'],
      }),
    result: z.object({
      ...generationResult,
      message: z.object({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        toolCalls: z.array(ToolCall),
      }),
    }),
    stream: { method: 'llm.token', params: TokenEvent },
  }),
  'llm.complete': defineMethod({
    description: 'Raw text completion of a prompt; streams llm.completionToken.',
    access: 'developer',
    params: z.strictObject({ ...generationParams, prompt: Text.min(1) }),
    result: z.object({ ...generationResult, text: z.string() }),
    stream: { method: 'llm.completionToken', params: TokenEvent },
  }),
  'llm.tokenize': defineMethod({
    description: 'Tokenizes text with a loaded model’s tokenizer.',
    access: 'developer',
    params: z.strictObject({
      model: ModelName,
      text: Text,
      specialTokens: z.boolean().default(false).describe('Parse special tokens such as <|im_start|>.'),
    }),
    result: z.object({ tokens: z.array(z.number().int().nonnegative()), count: Count }),
  }),
  'llm.countTokens': defineMethod({
    description:
      'Counts the prompt tokens of a text or of chat messages (with the chat template), and the context size.',
    access: 'developer',
    params: z
      .strictObject({
        model: ModelName,
        text: Text.optional(),
        messages: z.array(ChatMessage).min(1).max(1000).optional(),
      })
      .refine(
        (p) => (p.text === undefined) !== (p.messages === undefined),
        'give exactly one of text or messages',
      ),
    result: z.object({ count: Count, contextSize: z.number().int().positive() }),
  }),
} as const;
