// The `llm.usage` event: one per metered LLM call, emitted by llmserver when it settles a request and turned
// into a `tokens_used` row by auth's usage sink. The event id is the ledger's unique key, so the same event
// delivered twice is charged once.
import { MicroCredits, ModelId, Timestamp, TraceId, UserId } from '@cyber/contract';
import { z } from 'zod';

/** The Kafka topic carrying usage events (the config may name another for tests or several installations). */
export const USAGE_TOPIC = 'llm.usage';

// tokens_used.prompt_tokens and completion_tokens are INTEGER columns: anything above fails the insert, so the
// schema refuses it first and the sink parks the event instead of failing a whole batch.
const MAX_INT4 = 2_147_483_647;
const TokenCount = z.number().int().nonnegative().max(MAX_INT4);

/** One metered LLM call. Money is integer micro-credits, like every amount in the product. */
export const UsageEvent = z.object({
  eventId: z.uuid().describe('Unique id of the call; the ledger is unique on it.'),
  userId: UserId.describe('Who is charged.'),
  modelId: ModelId.describe('Which model served the call.'),
  promptTokens: TokenCount.describe('Prompt tokens the model processed.'),
  completionTokens: TokenCount.describe('Tokens the model generated (up to a disconnect, if any).'),
  cost: MicroCredits.describe('Charge in micro-credits, computed by llmserver when it settled the call.'),
  traceId: TraceId.nullable().describe('W3C trace id of the request, when it had one.'),
  occurredAt: Timestamp.describe('When the call was settled (UTC); usage.summary groups by its day.'),
});
/** A usage event. */
export type UsageEvent = z.infer<typeof UsageEvent>;

/** A Kafka message as this package writes it. */
export interface EncodedUsageEvent {
  /** The user id: one user's events share a partition, so consumers never contend for the same balance row. */
  key: string;
  /** The event as JSON. */
  value: string;
}

/** Validates and encodes an event for Kafka. Throws a ZodError for an invalid event (a producer bug). */
export function encodeUsageEvent(event: UsageEvent): EncodedUsageEvent {
  const valid = UsageEvent.parse(event);
  return { key: String(valid.userId), value: JSON.stringify(valid) };
}

/** The outcome of decoding one Kafka message. */
export type DecodedUsageMessage = { ok: true; event: UsageEvent } | { ok: false; error: string };

/** Decodes a message value; never throws, so one bad message cannot stop a consumer. */
export function decodeUsageMessage(value: Buffer | string | null): DecodedUsageMessage {
  if (value === null) return { ok: false, error: 'message has no value' };
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return { ok: false, error: 'value is not JSON' };
  }
  const parsed = UsageEvent.safeParse(json);
  if (parsed.success) return { ok: true, event: parsed.data };
  return { ok: false, error: z.prettifyError(parsed.error).slice(0, 2000) };
}
