import { RpcError } from '@cyber/contract';

/** Options for {@link validateContext}. */
export interface ValidateContextOptions {
  /** Tokens of the prompt as the model will evaluate them (chat template and BOS included). */
  promptTokens: number;
  /** Most tokens the request may generate. */
  maxTokens: number;
  /** Tokens one sequence of the loaded model holds. */
  contextSize: number;
}

/**
 * Refuses a request whose prompt plus `maxTokens` does not fit the context. node-llama-cpp never checks this
 * itself: it silently shifts or truncates, which would bill for a prompt the model never saw.
 * @throws RpcError `context_too_long` with `{ promptTokens, maxTokens, contextSize }` in `data`.
 */
export function validateContext(options: ValidateContextOptions): void {
  const { promptTokens, maxTokens, contextSize } = options;
  if (promptTokens + maxTokens <= contextSize) return;
  throw new RpcError('context_too_long', {
    message: `Prompt (${promptTokens} tokens) plus maxTokens (${maxTokens}) exceeds the context size (${contextSize} tokens)`,
    data: { promptTokens, maxTokens, contextSize },
  });
}
