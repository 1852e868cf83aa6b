// The LLM refusals a chat user can meet, in words that say what happened and what to do. Each uses the
// numbers the server put in `data` (see llmserver's metering and context validation).
import { RpcError } from '@cyber/contract';
import { errorText } from '../../rpc/error-text.ts';
import { formatCount, formatCredits } from './format.ts';

function numberIn(data: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = data?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** A message for a failed chat or agent turn. */
export function chatErrorText(error: unknown): string {
  if (!(error instanceof RpcError)) return errorText(error);
  const data = error.data;
  switch (error.key) {
    case 'budget_exceeded': {
      const required = numberIn(data, 'required');
      const available = numberIn(data, 'available');
      const numbers =
        required !== undefined && available !== undefined
          ? ` It could cost up to ${formatCredits(required)} credits and you have ${formatCredits(available)} left.`
          : '';
      return (
        'Your credit balance is too low for this request.' +
        numbers +
        ' Ask an administrator for more credits, or send a shorter message with a smaller reply limit.'
      );
    }
    case 'context_too_long': {
      const prompt = numberIn(data, 'promptTokens');
      const max = numberIn(data, 'maxTokens');
      const context = numberIn(data, 'contextSize');
      const numbers =
        prompt !== undefined && max !== undefined && context !== undefined
          ? ` The conversation is ${formatCount(prompt)} tokens and the reply may use ${formatCount(max)}, but ` +
            `the model can only hold ${formatCount(context)} at once.`
          : '';
      return (
        'This conversation is too long for the model.' +
        numbers +
        ' Start a new chat, shorten your message, or pick a model with a larger context.'
      );
    }
    case 'rate_limited': {
      const wait = numberIn(data, 'retryAfter');
      const what = data?.limit === 'tokens_per_minute' ? 'tokens' : 'requests';
      return (
        `You are sending ${what} faster than your limit allows.` +
        (wait === undefined ? ' Wait a moment and try again.' : ` Try again in ${wait} s.`)
      );
    }
    case 'model_not_loaded': {
      const model = typeof data?.model === 'string' ? data.model : 'This model';
      return `${model} is not loaded right now, so it cannot answer. Pick another model or ask an administrator to load it.`;
    }
    case 'cancelled':
      return 'Stopped.';
    default:
      return errorText(error);
  }
}
