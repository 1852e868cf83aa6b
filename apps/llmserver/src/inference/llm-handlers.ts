// JSON-RPC handlers of the llm.* family: translate the transport's context into an InferenceCaller and stream
// token events as llm.token / llm.completionToken notifications (over HTTP notify drops them; the result
// carries the usage either way).
import { requireRole, type VerifiedIdentity } from '@cyber/auth-client';
import { RpcError, type Contract } from '@cyber/contract';
import type { RpcContext, RpcHandlers } from '@cyber/rpc-server';
import type { InferenceEngine, InferenceService, ModelLookup } from './inference-service.js';
import type { InferenceCaller } from './inference-types.js';
import { traceIdOf } from '@cyber/rpc-server';

/** The caller of an RPC context. */
export function callerOf<N>(ctx: RpcContext<N, VerifiedIdentity>): InferenceCaller {
  return {
    identity: requireRole(ctx.identity, 'developer'),
    traceId: traceIdOf(ctx.request.headers.traceparent),
    signal: ctx.signal,
  };
}

/** Options of {@link llmHandlers}. */
export interface LlmHandlersOptions {
  inference: InferenceService;
  engine: InferenceEngine;
  models: ModelLookup;
}

/** Handlers of llm.chat, llm.complete, llm.tokenize and llm.countTokens. */
export function llmHandlers(options: LlmHandlersOptions): RpcHandlers<Contract, VerifiedIdentity> {
  const { inference, engine, models } = options;

  const loaded = async (name: string): Promise<string> => {
    if ((await models.byName(name)) === undefined) {
      throw new RpcError('not_found', { message: `No model named ${name}`, data: { model: name } });
    }
    if (!engine.listModels().some((model) => model.id === name)) {
      throw new RpcError('model_not_loaded', {
        message: `Model ${name} is not loaded`,
        data: { model: name },
      });
    }
    return name;
  };

  return {
    'llm.chat': (params, ctx) => inference.chat(params, callerOf(ctx), (event) => ctx.notify(event)),
    'llm.complete': (params, ctx) => inference.complete(params, callerOf(ctx), (event) => ctx.notify(event)),
    'llm.tokenize': async (params, ctx) => {
      requireRole(ctx.identity, 'developer');
      const modelId = await loaded(params.model);
      const tokens = engine.tokenize({ modelId, text: params.text, specialTokens: params.specialTokens });
      return { tokens, count: tokens.length };
    },
    'llm.countTokens': async (params, ctx) => {
      requireRole(ctx.identity, 'developer');
      const modelId = await loaded(params.model);
      const count =
        params.messages !== undefined
          ? engine.countTokens({ modelId, messages: params.messages })
          : engine.countTokens({ modelId, prompt: params.text ?? '' });
      return { count, contextSize: engine.contextSize(modelId) };
    },
  };
}
