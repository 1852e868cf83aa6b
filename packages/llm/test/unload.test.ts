// Draining and forced unloads on the tiny model (one sequence, so a second generation queues). The model never
// emits an end token: a generation runs exactly maxTokens unless stopped.
import { isRpcError } from '@cyber/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmEngine, type GenerateResult } from '../src/index.js';
import { ensureTinyModel } from '../src/testing.js';

let engine: LlmEngine;
let modelPath: string;

beforeAll(async () => {
  modelPath = await ensureTinyModel();
  engine = await LlmEngine.create({ gpu: 'false' });
});

afterAll(async () => {
  await engine?.close();
});

/** Settles to the result, or to the RpcError key it rejected with. */
async function outcome(promise: Promise<GenerateResult>): Promise<GenerateResult | string> {
  return promise.catch((error: unknown) => (isRpcError(error) ? error.key : `other: ${String(error)}`));
}

describe('unloadModel', () => {
  it('drains by default: the running generation finishes, queued and new ones get model_not_loaded', async () => {
    await engine.loadModel({ id: 'drain', path: modelPath, contextSize: 512, sequences: 1 });
    let unloading: Promise<{ cancelledRequests: number }> | undefined;
    let refusedDuringDrain: Promise<GenerateResult | string> | undefined;
    let queuedAt = 0;
    const running = engine.generate({
      modelId: 'drain',
      prompt: 'hello',
      maxTokens: 150,
      onToken: (chunk) => {
        if (chunk.completionTokens >= 3 && !unloading) {
          unloading = engine.unloadModel('drain');
          refusedDuringDrain = outcome(engine.generate({ modelId: 'drain', prompt: 'c', maxTokens: 5 }));
        }
      },
    });
    const queued = outcome(
      engine.generate({ modelId: 'drain', prompt: 'b', maxTokens: 5, onQueued: (p) => (queuedAt = p) }),
    );
    const result = await running;
    expect(await unloading).toEqual({ cancelledRequests: 1 });
    expect(result.stopReason).toBe('maxTokens');
    expect(result.completionTokens).toBe(150);
    expect(await refusedDuringDrain).toBe('model_not_loaded');
    expect(queuedAt).toBe(1);
    expect(await queued).toBe('model_not_loaded');
    expect(engine.listModels().map((m) => m.id)).not.toContain('drain');
  });

  it('force aborts the running generation with its tokens counted and cancels the queued one', async () => {
    await engine.loadModel({ id: 'force', path: modelPath, contextSize: 512, sequences: 1 });
    let unloading: Promise<{ cancelledRequests: number }> | undefined;
    let streamed = 0;
    const running = engine.generate({
      modelId: 'force',
      messages: [{ role: 'user', content: 'hello' }],
      maxTokens: 300,
      onToken: (chunk) => {
        streamed = chunk.completionTokens;
        if (chunk.completionTokens >= 5 && !unloading)
          unloading = engine.unloadModel('force', { force: true });
      },
    });
    const queued = outcome(engine.generate({ modelId: 'force', prompt: 'b', maxTokens: 5 }));
    const result = await running;
    expect(await unloading).toEqual({ cancelledRequests: 2 });
    expect(result.stopReason).toBe('abort');
    expect(result.completionTokens).toBe(streamed);
    expect(result.completionTokens).toBeLessThan(300);
    expect(await queued).toBe('model_not_loaded');
    await expect(engine.unloadModel('force')).rejects.toSatisfy((e) => isRpcError(e, 'model_not_loaded'));
  });
});
