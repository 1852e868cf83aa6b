// Embeddings from the tiny model (a llama-architecture decoder: llama.cpp pools its hidden states, 64 wide).
import { isRpcError, type RpcError } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmEngine } from '../src/index.js';
import { ensureTinyModel, TINY_MODEL_SHAPE } from '../src/testing.js';

const MODEL = 'tiny-embed';
const CONTEXT_SIZE = 64;
let engine: LlmEngine;

async function rpcRejection(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isRpcError(error)) throw new Error(`expected an RpcError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  engine = await LlmEngine.create({ gpu: 'false' });
  await engine.loadModel({ id: MODEL, path: await ensureTinyModel(), contextSize: CONTEXT_SIZE });
});

afterAll(async () => {
  await engine?.close();
});

describe('embed', () => {
  it('returns one vector of the model width per text, the same for the same text, with the tokens evaluated', async () => {
    const texts = ['hello world', 'the cyber studio', 'hello world'];
    const result = await engine.embed({ modelId: MODEL, texts });
    expect(result.embeddings).toHaveLength(3);
    for (const vector of result.embeddings) {
      expect(vector).toHaveLength(TINY_MODEL_SHAPE.embedding);
      expect(vector.every(Number.isFinite)).toBe(true);
    }
    expect(result.embeddings[2]).toEqual(result.embeddings[0]);
    expect(result.embeddings[1]).not.toEqual(result.embeddings[0]);
    // The tiny model adds BOS (and no EOS) to each text.
    const tokens = texts.reduce((sum, text) => sum + engine.tokenize({ modelId: MODEL, text }).length + 1, 0);
    expect(result.promptTokens).toBe(tokens);
  });

  it('refuses a text beyond the context, an empty text and an unloaded model', async () => {
    const long = await rpcRejection(
      engine.embed({ modelId: MODEL, texts: ['ok', 'hello world '.repeat(40)] }),
    );
    expect(long.key).toBe('context_too_long');
    expect(long.data).toMatchObject({ index: 1, contextSize: CONTEXT_SIZE });
    expect((await rpcRejection(engine.embed({ modelId: MODEL, texts: ['a', ''] }))).key).toBe(
      'invalid_params',
    );
    expect((await rpcRejection(engine.embed({ modelId: 'nope', texts: ['a'] }))).key).toBe(
      'model_not_loaded',
    );
  });

  it('frees the embedding context with the model', async () => {
    await engine.loadModel({ id: 'embed-2', path: await ensureTinyModel(), contextSize: CONTEXT_SIZE });
    await engine.embed({ modelId: 'embed-2', texts: ['x'] });
    await expect(engine.unloadModel('embed-2')).resolves.toEqual({ cancelledRequests: 0 });
    expect((await rpcRejection(engine.embed({ modelId: 'embed-2', texts: ['a'] }))).key).toBe(
      'model_not_loaded',
    );
  });
});
